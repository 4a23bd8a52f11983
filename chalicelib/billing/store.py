"""Billing items: a tenant's subscription (with the platform's lists on its indexes), its billing transactions,
and the billing events parked for the platform operator."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.billing.models import BillingTransaction, ParkedEvent, SubscriptionRecord, SubscriptionStatus
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind, PlatformCollection
from chalicelib.core.db.store import QueryPage, Table, TransactionConflict, WriteOp, delete_op, put_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, GSI3, PARTITION_KEY, SORT_KEY, VERSION, strip_storage
from chalicelib.tenants.models import PLATFORM_TENANT_ID

__all__ = [
    "due_past_due",
    "get_parked",
    "get_subscription",
    "get_transaction",
    "list_parked",
    "list_past_due",
    "list_subscriptions",
    "list_transactions",
    "save_subscription_op",
    "save_transaction",
    "transaction_id",
    "unpark",
    "upsert_parked",
]

SUBSCRIPTION_ENTITY = "Subscription"
TRANSACTION_ENTITY = "BillingTransaction"
PARKED_ENTITY = "BillingEvent"


def _subscription_key(tenant_id: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.TENANT, tenant_id), keys.SUBSCRIPTION_SK


def _status_list(status: SubscriptionStatus) -> str:
    return keys.platform_collection_pk(f"{PlatformCollection.SUBSCRIPTIONS}-{status.upper()}")


def _indexes(record: SubscriptionRecord) -> dict[str, str]:
    sort = keys.time_sk(record.created_at, record.tenant_id)
    found = {
        GSI1.partition_key: keys.platform_collection_pk(PlatformCollection.SUBSCRIPTIONS),
        GSI1.sort_key: sort,
        GSI3.partition_key: _status_list(record.status),
        GSI3.sort_key: sort,
    }
    if record.status == "past_due" and record.grace_until and not record.suspended_at:
        # Sparse: only a past-due subscription is on the list the grace schedule reads (due first).
        found[GSI2.partition_key] = keys.platform_collection_pk(PlatformCollection.BILLING_PAST_DUE)
        found[GSI2.sort_key] = keys.expiry_sk(record.grace_until, record.tenant_id, record.id)
    return found


def _subscription(item: Mapping[str, Any]) -> SubscriptionRecord:
    return SubscriptionRecord.model_validate(strip_storage(item))


def get_subscription(tenant_id: str, *, consistent: bool = False) -> SubscriptionRecord | None:
    """The tenant's current subscription, or None (it never subscribed)."""
    item = Table().get(*_subscription_key(tenant_id), consistent=consistent)
    return _subscription(item) if item else None


def save_subscription_op(record: SubscriptionRecord, previous_version: int | None, conflict: Any = None) -> WriteOp:
    """Write the whole subscription (its list entries follow its status): a create when ``previous_version`` is
    None, else only over that version (``conflict``, default ``TransactionConflict``, when someone wrote first)."""
    pk, sk = _subscription_key(record.tenant_id)
    item = {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: SUBSCRIPTION_ENTITY, **_indexes(record), **record.model_dump()}
    if previous_version is None:
        return put_op(item, conflict=conflict)
    return put_op(item, condition=Attr(VERSION).eq(previous_version), conflict=conflict)


def transaction_id(provider: str, provider_id: str) -> str:
    """Our id of the transaction of a provider's charge (the same charge is the same transaction)."""
    return hashlib.sha256(f"{provider}:{provider_id}".encode()).hexdigest()[:26].upper()


def _transaction_key(tenant_id: str, tx_id: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.BILLING_TRANSACTION, tx_id), keys.META_SK


def get_transaction(tenant_id: str, tx_id: str) -> BillingTransaction | None:
    """A billing transaction of the tenant, or None."""
    item = Table().get(*_transaction_key(tenant_id, tx_id), consistent=True)
    return BillingTransaction.model_validate(strip_storage(item)) if item else None


def save_transaction(tenant_id: str, record: BillingTransaction) -> bool:
    """Write a transaction's state; False when a stored state wins (a paid one is final, a failed one is not
    pending again). Reports arrive twice and out of order: the conditions make any order end the same."""
    pk, sk = _transaction_key(tenant_id, record.id)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: TRANSACTION_ENTITY,
        GSI1.partition_key: keys.collection_pk(tenant_id, Collection.BILLING_TRANSACTIONS),
        GSI1.sort_key: keys.time_sk(record.created_at, record.id),
        **record.model_dump(),
    }
    new = Attr(PARTITION_KEY).not_exists()
    condition = {
        "pending": new,
        "failed": new | Attr("status").is_in(["pending", "failed"]),
        "paid": new | Attr("status").is_in(["pending", "failed"]),
    }[record.status]
    try:
        Table().transact([put_op(item, condition=condition)])
    except TransactionConflict:
        return False
    return True


def list_transactions(tenant_id: str, limit: int) -> list[BillingTransaction]:
    """The tenant's latest billing transactions, newest first."""
    page = Table().query_page(
        keys.collection_pk(tenant_id, Collection.BILLING_TRANSACTIONS), index=GSI1, limit=limit, newest_first=True
    )
    return [BillingTransaction.model_validate(strip_storage(item)) for item in page.items]


def list_subscriptions(
    status: SubscriptionStatus | None, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[SubscriptionRecord]:
    """One page of every tenant's subscription, newest first, optionally in one status (platform)."""
    if status is None:
        partition, index = keys.platform_collection_pk(PlatformCollection.SUBSCRIPTIONS), GSI1
    else:
        partition, index = _status_list(status), GSI3
    page = Table().query_page(partition, index=index, limit=limit, start_key=start_key, newest_first=True)
    return page.map(_subscription)


def list_past_due(limit: int, start_key: Mapping[str, str] | None) -> QueryPage[SubscriptionRecord]:
    """One page of the past-due subscriptions, the nearest end of grace first (platform)."""
    partition = keys.platform_collection_pk(PlatformCollection.BILLING_PAST_DUE)
    return Table().query_page(partition, index=GSI2, limit=limit, start_key=start_key).map(_subscription)


def due_past_due(before: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[SubscriptionRecord]:
    """Past-due subscriptions whose grace ended before ``before`` (an ISO time): the grace schedule's work, read
    from the sparse list (only those due), never the whole table."""
    partition = keys.platform_collection_pk(PlatformCollection.BILLING_PAST_DUE)
    bounds = ("0", keys.expiry_sk(before, "~", "~"))
    page = Table().query_page(partition, index=GSI2, sort_between=bounds, limit=limit, start_key=start_key)
    return page.map(_subscription)


def _parked_key(key: str) -> tuple[str, str]:
    return keys.entity_pk(PLATFORM_TENANT_ID, Kind.BILLING_EVENT, key), keys.META_SK


def get_parked(key: str) -> ParkedEvent | None:
    """A parked billing event, or None."""
    item = Table().get(*_parked_key(key), consistent=True)
    return ParkedEvent.model_validate(strip_storage(item)) if item else None


def upsert_parked(record: ParkedEvent) -> None:
    """Record (or update) a billing event that matched no subscription, in the platform's partition."""
    pk, sk = _parked_key(record.key)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: PARKED_ENTITY,
        GSI1.partition_key: keys.collection_pk(PLATFORM_TENANT_ID, Collection.BILLING_EVENTS),
        GSI1.sort_key: keys.time_sk(record.received_at, record.key),
        **record.model_dump(),
    }
    Table().put(item)


def unpark(key: str) -> None:
    """Forget a parked event (it found its subscription on a later run)."""
    Table().transact([delete_op(*_parked_key(key))])


def list_parked(limit: int, start_key: Mapping[str, str] | None) -> QueryPage[ParkedEvent]:
    """Billing events that matched no subscription, newest first."""
    partition = keys.collection_pk(PLATFORM_TENANT_ID, Collection.BILLING_EVENTS)
    page = Table().query_page(partition, index=GSI1, limit=limit, start_key=start_key, newest_first=True)
    return page.map(lambda item: ParkedEvent.model_validate(strip_storage(item)))
