"""Integration items: one per (tenant, provider) with its encrypted credentials, and under it its sync log, its
references (the provider's ids for ours), its OAuth access token; the integrations queue's job records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Collection, Kind
from chalicelib.core.db.store import QueryPage, Table, TransactionConflict, WriteOp, change_op, delete_op, put_op
from chalicelib.core.db.table import (
    ENTITY,
    GSI1,
    GSI2,
    PARTITION_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
    VERSION,
    strip_storage,
)
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.models import AccessTokenRecord, IntegrationRecord, IntegrationRef, JobRecord, SyncLogEntry

__all__ = [
    "JOB_RETENTION",
    "SYNC_LOG_RETENTION",
    "access_token_change_op",
    "access_token_key",
    "claim_job",
    "connected_tenants",
    "consent_nonce_op",
    "delete_integration_op",
    "delete_ref_op",
    "disconnect_op",
    "finish_job",
    "get_access_token",
    "get_integration",
    "get_job",
    "get_ref",
    "integration_key",
    "list_integrations",
    "list_refs",
    "list_sync_logs",
    "put_access_token_op",
    "put_integration_op",
    "put_ref_op",
    "sync_log_op",
    "update_status_op",
]

INTEGRATION_ENTITY = "Integration"
SYNC_LOG_ENTITY = "IntegrationSyncLog"
REF_ENTITY = "IntegrationRef"
ACCESS_TOKEN_ENTITY = "IntegrationAccessToken"
JOB_ENTITY = "IntegrationJob"
SYNC_LOG_RETENTION = timedelta(days=90)
# Longer than the integrations DLQ keeps a message (14 days): a redriven job still finds its record.
JOB_RETENTION = timedelta(days=15)
CONSENT_ENTITY = "IntegrationConsent"
_CONNECTED_LIST = (GSI2.partition_key, GSI2.sort_key)


def integration_key(tenant_id: str, provider: Provider) -> tuple[str, str]:
    """(PK, SK) of the tenant's integration with ``provider``."""
    return keys.entity_pk(tenant_id, Kind.INTEGRATION, provider.value), keys.META_SK


def _record(item: Mapping[str, Any]) -> IntegrationRecord:
    return IntegrationRecord.model_validate(strip_storage(item))


def get_integration(tenant_id: str, provider: Provider, *, consistent: bool = False) -> IntegrationRecord | None:
    """The tenant's integration with ``provider``, or None when not connected."""
    item = Table().get(*integration_key(tenant_id, provider), consistent=consistent)
    return None if item is None else _record(item)


def list_integrations(tenant_id: str) -> list[IntegrationRecord]:
    """Every connected integration of the tenant (at most one per provider: a single small page)."""
    page = Table().query_page(keys.collection_pk(tenant_id, Collection.INTEGRATIONS), index=GSI1, limit=len(Provider))
    return [_record(item) for item in page.items]


def put_integration_op(record: IntegrationRecord, *, expected_version: int | None) -> WriteOp:
    """Write ``record``: a create when ``expected_version`` is None, else a replace of that version only."""
    pk, sk = integration_key(record.tenant_id, record.provider)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        GSI1.partition_key: keys.collection_pk(record.tenant_id, Collection.INTEGRATIONS),
        GSI1.sort_key: record.provider.value,
        ENTITY: INTEGRATION_ENTITY,
        **record.model_dump(mode="json", exclude_none=True),
    }
    if record.connected:
        # Listed for the platform's schedules (the 15-minute Billy poll) while the credentials work.
        item[GSI2.partition_key] = keys.connected_tenants_pk(record.provider.value)
        item[GSI2.sort_key] = record.tenant_id
    if expected_version is None:
        return put_op(item)
    return put_op(item, condition=Attr(VERSION).eq(expected_version))


def delete_integration_op(tenant_id: str, provider: Provider, version: int) -> WriteOp:
    """Delete the integration if it is still at ``version``."""
    return delete_op(*integration_key(tenant_id, provider), condition=Attr(VERSION).eq(version))


def disconnect_op(
    tenant_id: str, provider: Provider, version: int, reason: str, at: str, error: Mapping[str, Any]
) -> WriteOp:
    """Mark the integration (still at ``version``) disconnected by the provider: off the platform list, the reason
    kept and shown, its version moved (a tenant's edit based on the older one is refused)."""
    return change_op(
        *integration_key(tenant_id, provider),
        set_={"disconnectedAt": at, "disconnectedReason": reason, "lastError": dict(error), "updatedAt": at},
        add={VERSION: 1},
        remove=_CONNECTED_LIST,
        condition=Attr(VERSION).eq(version),
    )


def connected_tenants(
    provider: Provider, limit: int, start_key: Mapping[str, str] | None
) -> tuple[list[str], QueryPage]:
    """One page of the tenants whose integration with ``provider`` is connected (platform list, GSI2)."""
    page = Table().query_page(keys.connected_tenants_pk(provider.value), index=GSI2, limit=limit, start_key=start_key)
    return [str(item[GSI2.sort_key]) for item in page.items], page


def update_status_op(
    tenant_id: str, provider: Provider, changes: Mapping[str, Any], remove: tuple[str, ...] = ()
) -> WriteOp:
    """Set health fields (last sync, last error, last test) on an existing integration, whatever its version:
    they are facts about the provider, not edits that could overwrite a tenant's change."""
    return change_op(*integration_key(tenant_id, provider), set_=changes, remove=remove)


def sync_log_op(tenant_id: str, entry: SyncLogEntry) -> WriteOp:
    """Write one sync log entry under the integration (kept 90 days)."""
    pk, _ = integration_key(tenant_id, entry.provider)
    expires = clock.to_epoch(clock.now() + SYNC_LOG_RETENTION)
    return put_op(
        {
            PARTITION_KEY: pk,
            SORT_KEY: keys.child_sk(Child.SYNC_LOG, entry.id),
            ENTITY: SYNC_LOG_ENTITY,
            TTL_ATTRIBUTE: expires,
            **entry.model_dump(mode="json", exclude_none=True),
        }
    )


def list_sync_logs(
    tenant_id: str, provider: Provider, limit: int, start_key: Mapping[str, str] | None
) -> tuple[list[SyncLogEntry], QueryPage]:
    """One page of the integration's sync log, newest first (entry ids are ULIDs: they sort by time)."""
    pk, _ = integration_key(tenant_id, provider)
    page = Table().query_page(
        pk, sort_prefix=keys.child_prefix(Child.SYNC_LOG), limit=limit, start_key=start_key, newest_first=True
    )
    return [SyncLogEntry.model_validate(strip_storage(item)) for item in page.items], page


# --- references: the provider's id for one of ours ---------------------------------------------------------------


def _ref_key(tenant_id: str, provider: Provider, kind: str, local_id: str) -> tuple[str, str]:
    pk, _ = integration_key(tenant_id, provider)
    return pk, keys.ref_sk(kind, local_id)


def get_ref(
    tenant_id: str, provider: Provider, kind: str, local_id: str, *, consistent: bool = False
) -> IntegrationRef | None:
    """The provider's id for our ``kind`` ``local_id`` (a catalog service's Billy product), or None."""
    item = Table().get(*_ref_key(tenant_id, provider, kind, local_id), consistent=consistent)
    return None if item is None else IntegrationRef.model_validate(strip_storage(item))


def put_ref_op(tenant_id: str, provider: Provider, ref: IntegrationRef) -> WriteOp:
    """Create the reference (a second writer for the same local id loses: the first provider id stays)."""
    pk, sk = _ref_key(tenant_id, provider, ref.kind, ref.local_id)
    return put_op({PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: REF_ENTITY, **ref.model_dump(mode="json")})


def delete_ref_op(tenant_id: str, provider: Provider, kind: str, local_id: str) -> WriteOp:
    """Forget the reference (nothing happens if it is gone already)."""
    return delete_op(*_ref_key(tenant_id, provider, kind, local_id))


def list_refs(
    tenant_id: str, provider: Provider, kind: str, limit: int, start_key: Mapping[str, str] | None
) -> tuple[list[IntegrationRef], QueryPage]:
    """One page of the integration's references of ``kind`` (e.g. the invoices still open), by local id."""
    pk, _ = integration_key(tenant_id, provider)
    page = Table().query_page(pk, sort_prefix=keys.ref_prefix(kind), limit=limit, start_key=start_key)
    return [IntegrationRef.model_validate(strip_storage(item)) for item in page.items], page


# --- OAuth access token ---------------------------------------------------------------------------------------------


def access_token_key(tenant_id: str, provider: Provider) -> tuple[str, str]:
    """(PK, SK) of the integration's current OAuth access token."""
    pk, _ = integration_key(tenant_id, provider)
    return pk, keys.ACCESS_TOKEN_SK


def get_access_token(tenant_id: str, provider: Provider, *, consistent: bool = True) -> AccessTokenRecord | None:
    """The integration's access token item (encrypted token, expiry, version, refresh lease), or None."""
    item = Table().get(*access_token_key(tenant_id, provider), consistent=consistent)
    return None if item is None else AccessTokenRecord.model_validate(strip_storage(item))


def put_access_token_op(record: AccessTokenRecord, *, create: bool = False) -> WriteOp:
    """Write the token item as a whole: replacing it (a new connection), or only if there is none (``create``)."""
    pk, sk = access_token_key(record.tenant_id, record.provider)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: ACCESS_TOKEN_ENTITY,
        **record.model_dump(mode="json", exclude_none=True),
    }
    return put_op(item, must_not_exist=create)


def delete_access_token_op(tenant_id: str, provider: Provider) -> WriteOp:
    """Forget the integration's access token (new credentials: the next call gets a token from them)."""
    return delete_op(*access_token_key(tenant_id, provider))


def access_token_change_op(
    tenant_id: str,
    provider: Provider,
    *,
    condition: ConditionBase,
    set_: Mapping[str, Any] | None = None,
    remove: tuple[str, ...] = (),
) -> WriteOp:
    """Change the token item under ``condition`` (take or release the refresh lease, store a refreshed token)."""
    return change_op(*access_token_key(tenant_id, provider), set_=set_, remove=remove, condition=condition)


def consent_nonce_op(tenant_id: str, provider: Provider, nonce: str, expires_at: int) -> WriteOp:
    """Claim a consent's nonce (its state is then used up); kept until the state would have expired anyway."""
    pk, _ = integration_key(tenant_id, provider)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: keys.child_sk(Child.CONSENT, nonce),
        ENTITY: CONSENT_ENTITY,
        TTL_ATTRIBUTE: expires_at,
    }
    return put_op(item)


# --- integrations queue jobs ----------------------------------------------------------------------------------------


def _job_key(tenant_id: str, job_key: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.INTEGRATION_JOB, job_key), keys.META_SK


def get_job(tenant_id: str, job_key: str) -> JobRecord | None:
    """The record of a job of the integrations queue, or None when it never ran."""
    item = Table().get(*_job_key(tenant_id, job_key), consistent=True)
    return None if item is None else JobRecord.model_validate(strip_storage(item))


def claim_job(tenant_id: str, record: JobRecord, now_epoch: int) -> JobRecord | None:
    """Start ``record`` (status running, its lease): only if the job never ran, or is not done and nobody holds a
    live lease on it. Returns the record found instead when it cannot be claimed."""
    pk, sk = _job_key(tenant_id, record.key)
    free = Attr(PARTITION_KEY).not_exists() | (
        Attr("status").ne("done") & (Attr("leaseUntil").not_exists() | Attr("leaseUntil").lt(now_epoch))
    )
    expires = clock.to_epoch(clock.now() + JOB_RETENTION)
    item = {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: JOB_ENTITY, TTL_ATTRIBUTE: expires}
    try:
        Table().transact([put_op({**item, **record.model_dump(mode="json", exclude_none=True)}, condition=free)])
    except TransactionConflict:
        return get_job(tenant_id, record.key)
    return None


def finish_job(tenant_id: str, job_key: str, lease_id: str, changes: Mapping[str, Any]) -> bool:
    """End our run of the job (status done/failed/retrying, error) if we still hold its lease."""
    op = change_op(
        *_job_key(tenant_id, job_key),
        set_=changes,
        remove=("leaseId", "leaseUntil"),
        condition=Attr("leaseId").eq(lease_id),
    )
    try:
        Table().transact([op])
    except TransactionConflict:
        return False
    return True
