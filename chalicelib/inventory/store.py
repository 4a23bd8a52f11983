"""Stock items (one per product, next to it in its partition), their movements, and the stock lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Collection, Facet, Kind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, change_op, put_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, PARTITION_KEY, SORT_KEY, strip_storage
from chalicelib.core.errors import Conflict
from chalicelib.inventory.models import Movement, StockRecord
from chalicelib.inventory.rules import Change, Guard

__all__ = [
    "STOCK_ENTITY",
    "get_stock",
    "list_movements",
    "list_stock",
    "movement_op",
    "new_stock_op",
    "set_count_op",
    "stock_change_op",
    "stock_key",
    "sync_stock_op",
    "threshold_op",
]

STOCK_ENTITY = "Stock"
MOVEMENT_ENTITY = "StockMovement"


def _stock_changed() -> Conflict:
    """The error of a stock write whose condition failed: another movement changed the stock since it was read
    (built again from a fresh read, the write may pass: ``retry``)."""
    return Conflict(detail="the stock changed meanwhile; retry", code="stock-changed", retry=True)


def stock_key(tenant_id: str, product_id: str) -> tuple[str, str]:
    """(PK, SK) of a product's stock: in the product's own partition."""
    return keys.entity_pk(tenant_id, Kind.PRODUCT, product_id), keys.STOCK_SK


def _low_keys(tenant_id: str, code: str) -> dict[str, str]:
    return {GSI2.partition_key: keys.collection_pk(tenant_id, Collection.STOCK, Facet.LOW), GSI2.sort_key: code}


def new_stock_op(tenant_id: str, record: StockRecord) -> WriteOp:
    """Create the (empty) stock of a new product, listed by its code; part of the product's creation."""
    pk, sk = stock_key(tenant_id, record.product_id)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: STOCK_ENTITY,
        GSI1.partition_key: keys.collection_pk(tenant_id, Collection.STOCK),
        GSI1.sort_key: record.code,
        **(_low_keys(tenant_id, record.code) if record.low else {}),
        **record.model_dump(),
    }
    return put_op(item)


def sync_stock_op(tenant_id: str, product_id: str, *, name: str, active: bool, at: str) -> WriteOp:
    """Copy a product's new name and active flag onto its stock (shown in the stock list)."""
    return change_op(*stock_key(tenant_id, product_id), set_={"name": name, "active": active, "updatedAt": at})


def get_stock(tenant_id: str, product_id: str, *, consistent: bool = False) -> StockRecord | None:
    """The product's stock, or None (a service, or no such product)."""
    item = Table().get(*stock_key(tenant_id, product_id), consistent=consistent)
    return StockRecord.model_validate(strip_storage(item)) if item else None


def _guard_condition(record: StockRecord, guard: Guard) -> ConditionBase:
    condition: ConditionBase = Attr("lowStockThreshold").eq(record.low_stock_threshold)
    if guard.exactly is not None:
        return condition & Attr("available").eq(guard.exactly)
    if guard.at_least > 0:
        condition = condition & Attr("available").gte(guard.at_least)
    if guard.below is not None:
        condition = condition & Attr("available").lt(guard.below)
    return condition


def _low_index_change(tenant_id: str, record: StockRecord, guard: Guard) -> tuple[dict[str, Any], list[str]]:
    if guard.low_after and not guard.low_before:
        return _low_keys(tenant_id, record.code), []
    if guard.low_before and not guard.low_after:
        return {}, [GSI2.partition_key, GSI2.sort_key]
    return {}, []


def stock_change_op(tenant_id: str, record: StockRecord, change: Change, guard: Guard, at: str) -> WriteOp:
    """Apply ``change`` to the stock read as ``record``, valid only while ``guard`` and the change's needs hold."""
    condition = _guard_condition(record, guard)
    if change.needs_reserved:
        condition = condition & Attr("reserved").gte(change.needs_reserved)
    added = {
        name: delta
        for name, delta in (("onHand", change.on_hand), ("reserved", change.reserved), ("available", change.available))
        if delta
    }
    index_set, index_remove = _low_index_change(tenant_id, record, guard)
    return change_op(
        *stock_key(tenant_id, record.product_id),
        add=added,
        set_={"updatedAt": at, **index_set},
        remove=index_remove,
        condition=condition,
        conflict=_stock_changed(),
    )


def set_count_op(tenant_id: str, record: StockRecord, counted: int, at: str) -> WriteOp:
    """Set on-hand to ``counted`` (a stock take), only if nothing moved since ``record`` was read."""
    available = counted - record.reserved
    low_after = available < record.low_stock_threshold
    index_set: dict[str, Any] = _low_keys(tenant_id, record.code) if low_after and not record.low else {}
    index_remove = [GSI2.partition_key, GSI2.sort_key] if record.low and not low_after else []
    unchanged = (
        Attr("onHand").eq(record.on_hand)
        & Attr("reserved").eq(record.reserved)
        & Attr("lowStockThreshold").eq(record.low_stock_threshold)
    )
    return change_op(
        *stock_key(tenant_id, record.product_id),
        set_={"onHand": counted, "available": available, "updatedAt": at, **index_set},
        remove=index_remove,
        condition=unchanged,
        conflict=_stock_changed(),
    )


def threshold_op(tenant_id: str, record: StockRecord, threshold: int, at: str) -> WriteOp:
    """Set the low-stock threshold, moving the product in or out of the low-stock list, valid only while
    available stays on the side of the new threshold it was read on."""
    low_after = record.available < threshold
    side = Attr("available").lt(threshold) if low_after else Attr("available").gte(threshold)
    index_set: dict[str, Any] = _low_keys(tenant_id, record.code) if low_after else {}
    index_remove = [] if low_after else [GSI2.partition_key, GSI2.sort_key]
    return change_op(
        *stock_key(tenant_id, record.product_id),
        set_={"lowStockThreshold": threshold, "updatedAt": at, **index_set},
        remove=index_remove,
        condition=side & Attr("lowStockThreshold").eq(record.low_stock_threshold),
        conflict=_stock_changed(),
    )


def movement_op(tenant_id: str, movement: Movement) -> WriteOp:
    """Record ``movement`` in its product's partition (sorted by its time-ordered id)."""
    return put_op(
        {
            PARTITION_KEY: keys.entity_pk(tenant_id, Kind.PRODUCT, movement.product_id),
            SORT_KEY: keys.child_sk(Child.MOVEMENT, movement.id),
            ENTITY: MOVEMENT_ENTITY,
            **movement.model_dump(exclude_none=True),
        }
    )


def _stock(item: Mapping[str, Any]) -> StockRecord:
    return StockRecord.model_validate(strip_storage(item))


def list_stock(tenant_id: str, *, low: bool, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[StockRecord]:
    """One page of stock levels by product code: all of them, or only those under their threshold."""
    if low:
        return (
            Table()
            .query_page(
                keys.collection_pk(tenant_id, Collection.STOCK, Facet.LOW), index=GSI2, limit=limit, start_key=start_key
            )
            .map(_stock)
        )
    return (
        Table()
        .query_page(keys.collection_pk(tenant_id, Collection.STOCK), index=GSI1, limit=limit, start_key=start_key)
        .map(_stock)
    )


def _movement(item: Mapping[str, Any]) -> Movement:
    return Movement.model_validate(strip_storage(item))


def list_movements(
    tenant_id: str, product_id: str, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[Movement]:
    """One page of a product's movements, newest first."""
    return (
        Table()
        .query_page(
            keys.entity_pk(tenant_id, Kind.PRODUCT, product_id),
            sort_prefix=keys.child_prefix(Child.MOVEMENT),
            limit=limit,
            start_key=start_key,
            newest_first=True,
        )
        .map(_movement)
    )
