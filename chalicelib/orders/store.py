"""Order items, their lists (by time, status, customer), the per-user index and the tenant's counters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Collection, Facet, Kind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, counter_op, put_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, GSI3, PARTITION_KEY, SORT_KEY
from chalicelib.core.personal_data import all_pages
from chalicelib.orders.models import Order, OrderRecord

__all__ = [
    "by_status_keys",
    "customer_order_ids",
    "get_order",
    "list_orders",
    "list_user_order_ids",
    "monthly_limit_op",
    "new_order_ops",
    "next_order_number",
    "order_key",
    "order_of",
    "order_pk",
    "order_view_of",
]

ORDER_ENTITY = "Order"


def order_key(tenant_id: str, order_id: str) -> tuple[str, str]:
    """(PK, SK) of an order."""
    return keys.entity_pk(tenant_id, Kind.ORDER, order_id), keys.META_SK


def by_status_keys(tenant_id: str, status: str, created_at: str, order_id: str) -> dict[str, str]:
    """The GSI2 entry of an order in the list of its status (moved by every transition)."""
    return {
        GSI2.partition_key: keys.collection_pk(tenant_id, Collection.ORDERS, status),
        GSI2.sort_key: keys.time_sk(created_at, order_id),
    }


def _tenant_pk(tenant_id: str) -> str:
    return keys.entity_pk(tenant_id, Kind.TENANT, tenant_id)


def next_order_number(tenant_id: str) -> int:
    """The next order number of the tenant (a number lost to a failed create is skipped, never reused)."""
    return Table().increment(_tenant_pk(tenant_id), keys.child_sk(Child.COUNTER, "ORDER-NUMBER"), "count")


def monthly_limit_op(tenant_id: str, at: datetime, limit: int) -> WriteOp:
    """Count the order in its month (UTC), failing the transaction if the month already holds ``limit``."""
    month = at.astimezone(UTC).strftime("%Y-%m")
    expires = clock.to_epoch(at) + 62 * 86_400  # kept past the month it counts, for support questions
    sk = keys.child_sk(Child.COUNTER, f"ORDERS-{month}")
    return counter_op(_tenant_pk(tenant_id), sk, "count", 1, less_than=limit, expires_at=expires, create=True)


def new_order_ops(order: Order, workflow_fields: Mapping[str, Any]) -> list[WriteOp]:
    """Create the order (with its workflow fields) and, for its creator, an entry in their own orders."""
    pk, sk = order_key(order.tenant_id, order.id)
    sort = keys.time_sk(order.created_at, order.id)
    item: dict[str, Any] = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: ORDER_ENTITY,
        GSI1.partition_key: keys.collection_pk(order.tenant_id, Collection.ORDERS),
        GSI1.sort_key: sort,
        **by_status_keys(order.tenant_id, order.status, order.created_at, order.id),
        **order.model_dump(exclude_none=True),
        **workflow_fields,
    }
    if order.customer_id:
        item[GSI3.partition_key] = keys.facet_pk(order.tenant_id, Collection.ORDERS, Facet.CUSTOMER, order.customer_id)
        item[GSI3.sort_key] = sort
    mine = {
        PARTITION_KEY: keys.entity_pk(order.tenant_id, Kind.USER, order.created_by),
        # Sorted by creation like the lists; "_" joins time and id because child ids cannot hold "#".
        SORT_KEY: keys.child_sk(Child.USER_ORDER, f"{order.created_at}_{order.id}"),
        ENTITY: "UserOrder",
        "orderId": order.id,
    }
    return [put_op(item), put_op(mine)]


def order_of(item: Mapping[str, Any]) -> OrderRecord:
    """The order a stored item (or the workflow engine's view of it) holds."""
    return OrderRecord.from_attributes_of(item)


def order_view_of(item: Mapping[str, Any]) -> Order:
    """The API view of a stored order, read straight from the item (a list's row: the stock state and close time
    that ``OrderRecord`` adds are not read, nor validated twice on their way to the view)."""
    return Order.from_attributes_of(item)


def get_order(tenant_id: str, order_id: str, *, consistent: bool = False) -> OrderRecord | None:
    """The stored order, or None."""
    item = Table().get(*order_key(tenant_id, order_id), consistent=consistent)
    return order_of(item) if item else None


def list_orders(
    tenant_id: str,
    *,
    status: str | None,
    customer_id: str | None,
    between: tuple[str, str],
    limit: int,
    start_key: Mapping[str, str] | None,
) -> QueryPage[Order]:
    """One page of the tenant's orders as the API shows them, newest first: all, of one status, or of one customer,
    in a time range."""
    if customer_id is not None:
        partition, index = keys.facet_pk(tenant_id, Collection.ORDERS, Facet.CUSTOMER, customer_id), GSI3
    elif status is not None:
        partition, index = keys.collection_pk(tenant_id, Collection.ORDERS, status), GSI2
    else:
        partition, index = keys.collection_pk(tenant_id, Collection.ORDERS), GSI1
    page = Table().query_page(
        partition, index=index, sort_between=between, limit=limit, start_key=start_key, newest_first=True
    )
    return page.map(order_view_of)


def list_user_order_ids(
    tenant_id: str, user_id: str, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[str]:
    """One page of the ids of the orders a user created, newest first."""
    page = Table().query_page(
        keys.entity_pk(tenant_id, Kind.USER, user_id),
        sort_prefix=keys.child_prefix(Child.USER_ORDER),
        limit=limit,
        start_key=start_key,
        newest_first=True,
    )
    return page.map(lambda ref: str(ref["orderId"]))


def order_pk(tenant_id: str, order_id: str) -> str:
    """The order's partition (the order, its status history, payment links and state, audit trail)."""
    return order_key(tenant_id, order_id)[0]


def customer_order_ids(tenant_id: str, customer_id: str) -> list[str]:
    """Every order of the customer (for privacy requests: page after page, in a background job)."""
    everything = ("0", "~")
    return [
        order.id
        for order in all_pages(
            lambda start: list_orders(
                tenant_id, status=None, customer_id=customer_id, between=everything, limit=100, start_key=start
            )
        )
    ]
