"""Audit entries: one item in the audited entity's partition (``AUDIT#<id>``), listed by time on GSI1 and by
actor on GSI2; each expires after the tenant-wide retention (``audit_retention_days``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from chalicelib.audit.models import AuditEntry
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Collection, Kind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, put_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, strip_storage
from chalicelib.core.personal_data import all_pages

__all__ = ["actor_entries", "entry_key", "entry_op", "list_entries"]

AUDIT_ENTITY = "AuditEntry"


def entry_op(entry: AuditEntry, kind: Kind) -> WriteOp:
    """The transaction write of ``entry`` about an entity of ``kind``."""
    sort = keys.time_sk(entry.at, entry.id)
    retention = timedelta(days=get_settings().audit_retention_days)
    return put_op(
        {
            PARTITION_KEY: keys.entity_pk(entry.tenant_id, kind, entry.entity_id),
            SORT_KEY: keys.child_sk(Child.AUDIT, entry.id),
            GSI1.partition_key: keys.collection_pk(entry.tenant_id, Collection.AUDIT),
            GSI1.sort_key: sort,
            GSI2.partition_key: keys.collection_pk(entry.tenant_id, Collection.AUDIT, entry.actor_id),
            GSI2.sort_key: sort,
            ENTITY: AUDIT_ENTITY,
            TTL_ATTRIBUTE: clock.to_epoch(datetime.fromisoformat(entry.at) + retention),
            **entry.model_dump(exclude_none=True),
        }
    )


def entry_key(entry: AuditEntry) -> tuple[str, str]:
    """(PK, SK) of an entry: in the partition of the entity it is about."""
    return keys.entity_pk(entry.tenant_id, Kind(entry.entity_type.upper()), entry.entity_id), keys.child_sk(
        Child.AUDIT, entry.id
    )


def actor_entries(tenant_id: str, actor_id: str) -> Iterator[AuditEntry]:
    """Every entry by ``actor_id``, oldest first, read page by page (privacy requests: a background job)."""
    partition = keys.collection_pk(tenant_id, Collection.AUDIT, actor_id)
    table = Table()
    for item in all_pages(lambda start: table.query_page(partition, index=GSI2, limit=100, start_key=start)):
        yield _entry(item)


def _entry(item: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry.model_validate(strip_storage(item))


def list_entries(
    tenant_id: str,
    *,
    entity: tuple[Kind, str] | None,
    actor_id: str | None,
    between: tuple[str, str],
    limit: int,
    start_key: Mapping[str, str] | None,
) -> QueryPage[AuditEntry]:
    """One page of audit entries, newest first: an entity's trail (whatever its time), or what one actor did in
    the time range (ISO bounds), or the tenant's whole log in the range."""
    if entity is not None:
        kind, entity_id = entity
        partition, index = keys.entity_pk(tenant_id, kind, entity_id), None
        sort_prefix: str | None = keys.child_prefix(Child.AUDIT)
        sort_between: tuple[str, str] | None = None
    else:
        partition = keys.collection_pk(tenant_id, Collection.AUDIT, actor_id)
        index = GSI2 if actor_id is not None else GSI1
        sort_prefix, sort_between = None, between
    page = Table().query_page(
        partition,
        index=index,
        sort_prefix=sort_prefix,
        sort_between=sort_between,
        limit=limit,
        start_key=start_key,
        newest_first=True,
    )
    return page.map(_entry)
