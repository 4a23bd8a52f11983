"""Webhook items: endpoints (with the tenant's endpoint counter), their deliveries, and per-second send counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Collection, Kind
from chalicelib.core.db.store import (
    QueryPage,
    Table,
    WriteOp,
    change_op,
    counter_op,
    delete_op,
    put_op,
    update_op,
)
from chalicelib.core.db.table import ENTITY, GSI1, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, VERSION, strip_storage
from chalicelib.core.errors import AppError
from chalicelib.webhooks.models import DeliveryRecord, EndpointRecord

__all__ = [
    "DELIVERY_RETENTION",
    "MAX_ENDPOINTS",
    "claim_op",
    "count_send",
    "delete_endpoint_ops",
    "delivery_key",
    "delivery_update_op",
    "endpoint_change_op",
    "endpoint_key",
    "get_delivery",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "new_delivery_item",
    "new_delivery_op",
    "new_endpoint_ops",
    "put_delivery",
    "tenant_endpoints",
    "update_endpoint_op",
]

ENDPOINT_ENTITY = "WebhookEndpoint"
DELIVERY_ENTITY = "WebhookDelivery"
_ENDPOINT_COUNT = "count"
# Few endpoints per tenant: the fan-out reads all of them with one Query for every event of the tenant.
MAX_ENDPOINTS = 20
# The delivery log is kept a month (TTL); the retry schedule ends after about 28 hours.
DELIVERY_RETENTION = timedelta(days=30)
_RATE_WINDOW_TTL_S = 120


def endpoint_key(tenant_id: str, endpoint_id: str) -> tuple[str, str]:
    """(PK, SK) of an endpoint."""
    return keys.entity_pk(tenant_id, Kind.WEBHOOK_ENDPOINT, endpoint_id), keys.META_SK


def delivery_key(tenant_id: str, endpoint_id: str, delivery_id: str) -> tuple[str, str]:
    """(PK, SK) of a delivery: a child of its endpoint, sorted by message id (a ULID, so by time)."""
    return keys.entity_pk(tenant_id, Kind.WEBHOOK_ENDPOINT, endpoint_id), keys.child_sk(Child.DELIVERY, delivery_id)


def _counter_key(tenant_id: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.TENANT, tenant_id), keys.child_sk(Child.COUNTER, "WEBHOOKENDPOINTS")


def _collection(tenant_id: str) -> str:
    return keys.collection_pk(tenant_id, Collection.WEBHOOK_ENDPOINTS)


def new_endpoint_ops(record: EndpointRecord, *, at_limit: AppError) -> list[WriteOp]:
    """Create the endpoint, counted against ``MAX_ENDPOINTS`` (at the limit the transaction fails with
    ``at_limit``)."""
    pk, sk = endpoint_key(record.tenant_id, record.id)
    return [
        counter_op(
            *_counter_key(record.tenant_id),
            _ENDPOINT_COUNT,
            1,
            less_than=MAX_ENDPOINTS,
            create=True,
            conflict=at_limit,
        ),
        put_op(
            {
                PARTITION_KEY: pk,
                SORT_KEY: sk,
                GSI1.partition_key: _collection(record.tenant_id),
                GSI1.sort_key: keys.time_sk(record.created_at, record.id),
                ENTITY: ENDPOINT_ENTITY,
                **record.model_dump(),
            }
        ),
    ]


def get_endpoint(tenant_id: str, endpoint_id: str, *, consistent: bool = False) -> EndpointRecord | None:
    """The endpoint, or None."""
    item = Table().get(*endpoint_key(tenant_id, endpoint_id), consistent=consistent)
    return EndpointRecord.model_validate(strip_storage(item)) if item else None


def update_endpoint_op(record: EndpointRecord, changes: Mapping[str, Any], remove: Iterable[str] = ()) -> WriteOp:
    """Apply ``changes`` (stored names) to the version of ``record`` that was read."""
    return update_op(
        *endpoint_key(record.tenant_id, record.id), changes, expected_version=record.version, remove=remove
    )


def endpoint_change_op(
    tenant_id: str,
    endpoint_id: str,
    *,
    set_: Mapping[str, Any] | None = None,
    remove: Iterable[str] = (),
    bump: bool = False,
    while_enabled: bool = False,
) -> WriteOp:
    """A change the delivery worker makes whatever the version (failure tracking), bumping it when the client
    should notice (``bump``: the endpoint was disabled); ``while_enabled``: only if it is still enabled."""
    condition = Attr("enabled").eq(True) if while_enabled else None
    return change_op(
        *endpoint_key(tenant_id, endpoint_id),
        set_=set_,
        add={VERSION: 1} if bump else None,
        remove=remove,
        condition=condition,
    )


def delete_endpoint_ops(record: EndpointRecord) -> list[WriteOp]:
    """Delete the endpoint (as read) and give its place back; its deliveries expire with their TTL."""
    return [
        delete_op(*endpoint_key(record.tenant_id, record.id), condition=Attr(VERSION).eq(record.version)),
        counter_op(*_counter_key(record.tenant_id), _ENDPOINT_COUNT, -1),
    ]


def _endpoint(item: Mapping[str, Any]) -> EndpointRecord:
    return EndpointRecord.model_validate(strip_storage(item))


def list_endpoints(tenant_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[EndpointRecord]:
    """One page of the tenant's endpoints, newest first."""
    return (
        Table()
        .query_page(_collection(tenant_id), index=GSI1, limit=limit, start_key=start_key, newest_first=True)
        .map(_endpoint)
    )


def tenant_endpoints(tenant_id: str) -> list[EndpointRecord]:
    """Every endpoint of the tenant (at most ``MAX_ENDPOINTS``: one Query)."""
    page = Table().query_page(_collection(tenant_id), index=GSI1, limit=MAX_ENDPOINTS * 2)
    return [_endpoint(item) for item in page.items]


def new_delivery_item(record: DeliveryRecord) -> dict[str, Any]:
    """The table item of a new delivery (kept ``DELIVERY_RETENTION``)."""
    pk, sk = delivery_key(record.tenant_id, record.endpoint_id, record.id)
    return {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: DELIVERY_ENTITY,
        TTL_ATTRIBUTE: clock.to_epoch(clock.now() + DELIVERY_RETENTION),
        **record.model_dump(exclude_none=True),
    }


def new_delivery_op(record: DeliveryRecord) -> WriteOp:
    """The transaction write that creates a delivery (fails if the message already has one for the endpoint)."""
    return put_op(new_delivery_item(record))


def put_delivery(record: DeliveryRecord) -> None:
    """Create the delivery; ``AlreadyExists`` if this message already has one for this endpoint."""
    Table().put_new(new_delivery_item(record))


def get_delivery(
    tenant_id: str, endpoint_id: str, delivery_id: str, *, consistent: bool = False
) -> DeliveryRecord | None:
    """The delivery, or None."""
    item = Table().get(*delivery_key(tenant_id, endpoint_id, delivery_id), consistent=consistent)
    return DeliveryRecord.model_validate(strip_storage(item)) if item else None


def _delivery(item: Mapping[str, Any]) -> DeliveryRecord:
    return DeliveryRecord.model_validate(strip_storage(item))


def list_deliveries(
    tenant_id: str, endpoint_id: str, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[DeliveryRecord]:
    """One page of the endpoint's deliveries, newest first."""
    return (
        Table()
        .query_page(
            keys.entity_pk(tenant_id, Kind.WEBHOOK_ENDPOINT, endpoint_id),
            sort_prefix=keys.child_prefix(Child.DELIVERY),
            limit=limit,
            start_key=start_key,
            newest_first=True,
        )
        .map(_delivery)
    )


def claim_op(record: DeliveryRecord, attempt: int, lease_id: str, lease_until: int, now: int) -> WriteOp:
    """Take the delivery for ``attempt`` (pending, that attempt next, nobody else holding it)."""
    free = Attr("leaseUntil").not_exists() | Attr("leaseUntil").lt(now)
    return change_op(
        *delivery_key(record.tenant_id, record.endpoint_id, record.id),
        set_={"leaseId": lease_id, "leaseUntil": lease_until},
        condition=Attr("status").eq("pending") & Attr("nextAttempt").eq(attempt) & free,
    )


def delivery_update_op(
    record: DeliveryRecord,
    changes: Mapping[str, Any],
    *,
    remove: Iterable[str] = (),
    lease_id: str | None = None,
    status_was: str | None = None,
) -> WriteOp:
    """Change a delivery: as the holder of ``lease_id`` (the worker), or while its status is ``status_was``."""
    condition = None
    if lease_id is not None:
        condition = Attr("leaseId").eq(lease_id)
    elif status_was is not None:
        condition = Attr("status").eq(status_was)
    return change_op(
        *delivery_key(record.tenant_id, record.endpoint_id, record.id),
        set_={name: value for name, value in changes.items() if value is not None},
        remove=[*remove, *(name for name, value in changes.items() if value is None)],
        condition=condition,
    )


def count_send(tenant_id: str, endpoint_id: str, second: int) -> int:
    """Count one send to the endpoint in epoch second ``second``; returns the count so far in that second."""
    return Table().increment(
        keys.entity_pk(tenant_id, Kind.WEBHOOK_ENDPOINT, endpoint_id),
        keys.child_sk(Child.RATE, str(second)),
        "count",
        expires_at=second + _RATE_WINDOW_TTL_S,
    )
