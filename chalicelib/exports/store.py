"""Export job items: one per export, listed newest first, changed with optimistic locking as the job moves on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, put_op, revise_op
from chalicelib.core.db.table import ENTITY, GSI1, PARTITION_KEY, SORT_KEY, strip_storage
from chalicelib.exports.models import ExportRecord

__all__ = ["export_key", "get_export", "list_exports", "new_export_op", "record_of", "revise_export_op"]

EXPORT_ENTITY = "Export"


def export_key(tenant_id: str, export_id: str) -> tuple[str, str]:
    """(PK, SK) of an export."""
    return keys.entity_pk(tenant_id, Kind.EXPORT, export_id), keys.META_SK


def record_of(item: Mapping[str, Any]) -> ExportRecord:
    """The export in a stored item."""
    return ExportRecord.model_validate(strip_storage(item))


def new_export_op(record: ExportRecord) -> WriteOp:
    """Create the export, listed newest first."""
    pk, sk = export_key(record.tenant_id, record.id)
    return put_op(
        {
            PARTITION_KEY: pk,
            SORT_KEY: sk,
            ENTITY: EXPORT_ENTITY,
            GSI1.partition_key: keys.collection_pk(record.tenant_id, Collection.EXPORTS),
            GSI1.sort_key: keys.time_sk(record.created_at, record.id),
            **record.model_dump(exclude_none=True),
        }
    )


def revise_export_op(record: ExportRecord, changes: Mapping[str, Any]) -> tuple[WriteOp, ExportRecord]:
    """The write of ``changes`` to the export as read (fails if it changed meanwhile), and the export after it."""
    item = record.model_dump(exclude_none=True)
    op, after = revise_op(*export_key(record.tenant_id, record.id), item, changes)
    return op, ExportRecord.model_validate(after)


def get_export(tenant_id: str, export_id: str) -> ExportRecord | None:
    """The export, or None (read consistently: a job slice must see the previous slice's write)."""
    item = Table().get(*export_key(tenant_id, export_id), consistent=True)
    return record_of(item) if item else None


def list_exports(tenant_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage:
    """One page of the tenant's exports, newest first."""
    return Table().query_page(
        keys.collection_pk(tenant_id, Collection.EXPORTS),
        index=GSI1,
        limit=limit,
        start_key=start_key,
        newest_first=True,
    )
