"""Integration items: one per (tenant, provider) with its encrypted credentials, and its sync log children."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, change_op, delete_op, put_op
from chalicelib.core.db.table import ENTITY, GSI1, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, VERSION, strip_storage
from chalicelib.integrations.models import IntegrationRecord, Provider, SyncLogEntry

__all__ = [
    "SYNC_LOG_RETENTION",
    "delete_integration_op",
    "get_integration",
    "integration_key",
    "list_integrations",
    "list_sync_logs",
    "put_integration_op",
    "sync_log_op",
    "update_status_op",
]

INTEGRATION_ENTITY = "Integration"
SYNC_LOG_ENTITY = "IntegrationSyncLog"
SYNC_LOG_RETENTION = timedelta(days=90)
_LOG = "SYNCLOG"


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
    if expected_version is None:
        return put_op(item)
    return put_op(item, condition=Attr(VERSION).eq(expected_version))


def delete_integration_op(tenant_id: str, provider: Provider, version: int) -> WriteOp:
    """Delete the integration if it is still at ``version``."""
    return delete_op(*integration_key(tenant_id, provider), condition=Attr(VERSION).eq(version))


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
            SORT_KEY: keys.child_sk(_LOG, entry.id),
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
        pk, sort_prefix=keys.child_prefix(_LOG), limit=limit, start_key=start_key, newest_first=True
    )
    return [SyncLogEntry.model_validate(strip_storage(item)) for item in page.items], page
