"""Shipping items, all in the order's partition: its quotes (gone after their expiry) and its one label, listed on
the tenant's open-shipments index while it travels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Collection, Kind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, change_op, put_op
from chalicelib.core.db.table import ENTITY, GSI1, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, strip_storage
from chalicelib.shipping.models import LabelRecord, ShippingQuote

__all__ = [
    "claim_label_op",
    "get_label",
    "get_quote",
    "label_change_op",
    "list_open_labels",
    "open_keys",
    "order_partition",
    "quote_op",
    "take_lease_op",
]

QUOTE_ENTITY = "ShippingQuote"
LABEL_ENTITY = "ShippingLabel"
# A quote past its validity is refused on read; its item stays a day longer before DynamoDB's TTL removes it.
_QUOTE_GRACE_S = 24 * 3600


def order_partition(tenant_id: str, order_id: str) -> str:
    """The order's partition, where its quotes and label live."""
    return keys.entity_pk(tenant_id, Kind.ORDER, order_id)


def quote_op(tenant_id: str, quote: ShippingQuote, valid_until_epoch: int) -> WriteOp:
    """Keep a quote until a while after it expires."""
    expires = valid_until_epoch + _QUOTE_GRACE_S
    item = {
        PARTITION_KEY: order_partition(tenant_id, quote.order_id),
        SORT_KEY: keys.child_sk(Child.SHIPPING_QUOTE, quote.id),
        ENTITY: QUOTE_ENTITY,
        TTL_ATTRIBUTE: expires,
        **quote.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    return put_op(item)


def get_quote(tenant_id: str, order_id: str, quote_id: str) -> ShippingQuote | None:
    """A quote of the order (expired or not), or None."""
    item = Table().get(
        order_partition(tenant_id, order_id), keys.child_sk(Child.SHIPPING_QUOTE, quote_id), consistent=True
    )
    return None if item is None else ShippingQuote.model_validate(strip_storage(item))


def _label_key(tenant_id: str, order_id: str) -> tuple[str, str]:
    return order_partition(tenant_id, order_id), keys.SHIPMENT_SK


def get_label(tenant_id: str, order_id: str) -> LabelRecord | None:
    """The order's label purchase, or None when none was started."""
    item = Table().get(*_label_key(tenant_id, order_id), consistent=True)
    return None if item is None else LabelRecord.model_validate(strip_storage(item))


def claim_label_op(record: LabelRecord) -> WriteOp:
    """Start the order's label purchase: only if none was started (one label per order)."""
    pk, sk = _label_key(record.tenant_id, record.order_id)
    item = {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: LABEL_ENTITY, **record.model_dump(mode="json", exclude_none=True)}
    return put_op(item)


def open_keys(tenant_id: str, purchased_at: str, order_id: str) -> dict[str, str]:
    """The index keys that put a label on the tenant's open list (what the tracking schedule reads)."""
    return {
        GSI1.partition_key: keys.collection_pk(tenant_id, Collection.OPEN_SHIPMENTS),
        GSI1.sort_key: keys.time_sk(purchased_at, order_id),
    }


def label_change_op(
    tenant_id: str,
    order_id: str,
    *,
    set_: Mapping[str, Any] | None = None,
    remove: tuple[str, ...] = (),
    lease_id: str | None = None,
) -> WriteOp:
    """Change the order's label item (while holding its lease ``lease_id`` when given)."""
    condition = Attr("leaseId").eq(lease_id) if lease_id is not None else None
    return change_op(*_label_key(tenant_id, order_id), set_=set_, remove=remove, condition=condition)


def take_lease_op(tenant_id: str, order_id: str, lease_id: str, until: int, now: int) -> WriteOp:
    """Take over a purchase whose worker's lease lapsed (it crashed midway)."""
    free = Attr("leaseUntil").not_exists() | Attr("leaseUntil").lt(now)
    return change_op(*_label_key(tenant_id, order_id), set_={"leaseId": lease_id, "leaseUntil": until}, condition=free)


def list_open_labels(tenant_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[LabelRecord]:
    """One page of the tenant's travelling labels, oldest purchase first."""
    page = Table().query_page(
        keys.collection_pk(tenant_id, Collection.OPEN_SHIPMENTS), index=GSI1, limit=limit, start_key=start_key
    )
    return page.map(lambda item: LabelRecord.model_validate(strip_storage(item)))
