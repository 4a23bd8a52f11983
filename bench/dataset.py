"""The data the benchmarks read and write: one tenant's orders and order lines, keyed by ``core.db.keys``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.store import Table
from chalicelib.core.db.table import ENTITY, GSI1, PARTITION_KEY, SORT_KEY, VERSION
from chalicelib.core.ids import new_id

__all__ = ["LINE", "PAGE_SIZE", "Dataset", "item_size", "line_item", "order_item", "seed"]

PAGE_SIZE = 25
LINE = "LINE"
ORDER_ENTITY = "Order"


@dataclass(frozen=True)
class Dataset:
    """What ``seed`` wrote: a tenant, the orders in its ORDERS collection, one order that has lines."""

    tenant_id: str
    order_ids: tuple[str, ...]
    lined_order_id: str

    @property
    def orders_pk(self) -> str:
        """GSI1 partition of the tenant's orders."""
        return keys.collection_pk(self.tenant_id, keys.Collection.ORDERS)

    def order_pk(self, order_id: str) -> str:
        """Partition of one order."""
        return keys.entity_pk(self.tenant_id, keys.Kind.ORDER, order_id)


def order_item(tenant_id: str, order_id: str | None = None, *, minutes_ago: int = 0) -> dict[str, Any]:
    """A representative order (about half a KB), listed on GSI1 in the tenant's ORDERS collection."""
    moment = clock.now() - timedelta(minutes=minutes_ago)
    order_id = order_id or new_id(moment)
    created_at = clock.isoformat(moment)
    return {
        PARTITION_KEY: keys.entity_pk(tenant_id, keys.Kind.ORDER, order_id),
        SORT_KEY: keys.META_SK,
        GSI1.partition_key: keys.collection_pk(tenant_id, keys.Collection.ORDERS),
        GSI1.sort_key: keys.time_sk(created_at, order_id),
        ENTITY: ORDER_ENTITY,
        VERSION: 1,
        "id": order_id,
        "tenantId": tenant_id,
        "customerId": new_id(moment),
        "status": "pending",
        "currency": "BRL",
        "totalCents": 18990,
        "itemCount": 3,
        "channel": "whatsapp",
        "createdAt": created_at,
        "updatedAt": created_at,
        "shippingAddress": {"street": "Rua das Flores, 123", "city": "São Paulo", "state": "SP", "zip": "01234-000"},
        "note": "Entregar no período da tarde; cliente pediu embalagem para presente e nota fiscal no CNPJ.",
    }


def line_item(tenant_id: str, order_id: str, number: int) -> dict[str, Any]:
    """One line of an order: a child item in the order's partition."""
    return {
        PARTITION_KEY: keys.entity_pk(tenant_id, keys.Kind.ORDER, order_id),
        SORT_KEY: keys.child_sk(LINE, f"{number:04d}"),
        ENTITY: "OrderLine",
        "productId": new_id(),
        "name": f"Produto de exemplo número {number}",
        "quantity": 1 + number % 3,
        "unitPriceCents": 6330,
    }


def seed(table: Table, *, orders: int = PAGE_SIZE + 5, lines: int = PAGE_SIZE + 5) -> Dataset:
    """Write ``orders`` orders of a new tenant, the first with ``lines`` lines, so a full page exists of each."""
    tenant_id = new_id()
    order_ids: list[str] = []
    for n in range(orders):
        item = order_item(tenant_id, minutes_ago=orders - n)
        table.put(item)
        order_ids.append(str(item["id"]))
    for number in range(lines):
        table.put(line_item(tenant_id, order_ids[0], number))
    return Dataset(tenant_id=tenant_id, order_ids=tuple(order_ids), lined_order_id=order_ids[0])


def _value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | Decimal):
        digits = len(str(abs(value)).replace(".", "").lstrip("0")) or 1
        return 1 + (digits + 1) // 2
    if isinstance(value, Mapping):
        return 3 + sum(len(str(k).encode()) + _value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return 3 + sum(_value_size(v) + 1 for v in value)
    raise TypeError(f"no DynamoDB size for {type(value).__name__}")


def item_size(item: Mapping[str, Any]) -> int:
    """Approximate stored size in bytes, by DynamoDB's rules (names + values; numbers ~1 byte per 2 digits)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items() if value is not None)
