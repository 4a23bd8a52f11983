"""Privacy request items: a data export and an erasure each on their own partition, changed with optimistic locking
as the job moves on; a claim that keeps one export in flight per person, and one that keeps a customer's erasure
(a second request finds the first)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Kind, UniqueField
from chalicelib.core.db.store import Table, WriteOp, delete_op, put_op, revise_op
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY, strip_storage
from chalicelib.core.errors import AppError
from chalicelib.privacy.models import ErasureRecord, PrivacyExportRecord

__all__ = [
    "claim_op",
    "find_claim",
    "get_erasure",
    "get_export",
    "new_erasure_op",
    "new_export_op",
    "release_op",
    "revise_erasure_op",
    "revise_export_op",
]

_EXPORT_ENTITY = "PrivacyExport"
_ERASURE_ENTITY = "Erasure"
_CLAIM_ENTITY = "UniqueClaim"
_CLAIMS = {"export": UniqueField.PRIVACY_EXPORT, "erasure": UniqueField.ERASURE}


def _key(tenant_id: str, kind: Kind, request_id: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, kind, request_id), keys.META_SK


def _claim_key(tenant_id: str, claim: str, subject: str, subject_id: str) -> tuple[str, str]:
    return keys.unique_pk(tenant_id, _CLAIMS[claim], f"{subject}-{subject_id}"), keys.UNIQUE_SK


def claim_op(tenant_id: str, claim: str, subject: str, subject_id: str, request_id: str, taken: AppError) -> WriteOp:
    """Claim the person for an ``export`` in flight or an ``erasure``; fails with ``taken`` when one holds it."""
    pk, sk = _claim_key(tenant_id, claim, subject, subject_id)
    return put_op({PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: _CLAIM_ENTITY, "requestId": request_id}, conflict=taken)


def find_claim(tenant_id: str, claim: str, subject: str, subject_id: str) -> str | None:
    """The request holding the person's claim, or None."""
    item = Table().get(*_claim_key(tenant_id, claim, subject, subject_id), consistent=True)
    return str(item["requestId"]) if item else None


def release_op(tenant_id: str, claim: str, subject: str, subject_id: str, request_id: str) -> WriteOp:
    """Free the person's claim (only the request's own)."""
    pk, sk = _claim_key(tenant_id, claim, subject, subject_id)
    return delete_op(pk, sk, Attr("requestId").eq(request_id))


def new_export_op(record: PrivacyExportRecord) -> WriteOp:
    """Create the export."""
    pk, sk = _key(record.tenant_id, Kind.PRIVACY_EXPORT, record.id)
    return put_op({PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: _EXPORT_ENTITY, **record.model_dump(exclude_none=True)})


def get_export(tenant_id: str, export_id: str) -> PrivacyExportRecord | None:
    """The export, or None (consistent: the job reads its own last write)."""
    item = Table().get(*_key(tenant_id, Kind.PRIVACY_EXPORT, export_id), consistent=True)
    return PrivacyExportRecord.model_validate(strip_storage(item)) if item else None


def revise_export_op(record: PrivacyExportRecord, changes: Mapping[str, Any]) -> tuple[WriteOp, PrivacyExportRecord]:
    """The write of ``changes`` to the export as read (fails if it changed meanwhile), and the export after it."""
    op, after = revise_op(
        *_key(record.tenant_id, Kind.PRIVACY_EXPORT, record.id), record.model_dump(exclude_none=True), changes
    )
    return op, PrivacyExportRecord.model_validate(after)


def new_erasure_op(record: ErasureRecord) -> WriteOp:
    """Create the erasure."""
    pk, sk = _key(record.tenant_id, Kind.ERASURE, record.id)
    return put_op({PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: _ERASURE_ENTITY, **record.model_dump(exclude_none=True)})


def get_erasure(tenant_id: str, erasure_id: str) -> ErasureRecord | None:
    """The erasure, or None (consistent)."""
    item = Table().get(*_key(tenant_id, Kind.ERASURE, erasure_id), consistent=True)
    return ErasureRecord.model_validate(strip_storage(item)) if item else None


def revise_erasure_op(record: ErasureRecord, changes: Mapping[str, Any]) -> tuple[WriteOp, ErasureRecord]:
    """The write of ``changes`` to the erasure as read (fails if it changed meanwhile), and the erasure after it."""
    op, after = revise_op(
        *_key(record.tenant_id, Kind.ERASURE, record.id), record.model_dump(exclude_none=True), changes
    )
    return op, ErasureRecord.model_validate(after)
