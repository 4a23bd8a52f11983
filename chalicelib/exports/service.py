"""Exports (the seed's "Export data"): sales, leads or customers as a CSV file, made by a background job.

``POST /exports`` checks the request (the kind's filters, the caller's permissions: ``data:export`` and reading
that kind) and records a queued job, then puts its first slice on the exports queue. Each slice (``run_slice``, a
short invocation of the queue's consumer) reads pages of the kind's own list — ``sales.service.list_sales``,
``leads.service.list_leads``, ``customers.service.list_customers``, as the requester, so the export holds exactly
what that user may list — for at most ``BTRIX_EXPORT_SLICE_SECONDS``, writes them to the file (``files``), records
its progress (rows done, the list's cursor, the upload's parts) with optimistic locking, and queues the next slice.
A slice delivered twice finds the job moved on and does nothing; a slice retried after a crash starts again from
the state the job last recorded (its bytes waiting and its parts are named by slice and part number, so a retry
replaces rather than duplicates them). Errors are retried by the queue; on the last attempt (or at once for one
no retry can fix: the requester was deactivated) the job is ``failed`` with the reason. ``GET /exports/{id}``
shows the progress and, once completed, a presigned download URL that expires.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ValidationError

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal, require
from chalicelib.analytics.service import created_count
from chalicelib.audit.service import audit_op
from chalicelib.core import aws, clock, idempotency
from chalicelib.core.batch import Job, consume
from chalicelib.core.config import get_settings
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, WriteOp, tenant_scope
from chalicelib.core.errors import (
    AppError,
    Conflict,
    DependencyUnavailable,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
)
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.observability import logger
from chalicelib.core.pagination import Page, paginate
from chalicelib.core.problems import field_errors
from chalicelib.core.resources import QUEUES, QueueKind, queue_name, queue_url
from chalicelib.customers import service as customers
from chalicelib.customers.models import CustomerListQuery
from chalicelib.exports import files, store
from chalicelib.exports.models import (
    CreateExportRequest,
    Export,
    ExportKind,
    ExportListQuery,
    ExportRecord,
    FinanceTransactionFilters,
    LeadFilters,
    SaleFilters,
)
from chalicelib.exports.rows import COLUMNS, csv_lines, row_of
from chalicelib.finance import service as finance
from chalicelib.finance.models import TransactionListQuery
from chalicelib.leads import service as leads
from chalicelib.leads.models import LeadListQuery
from chalicelib.sales import service as sales
from chalicelib.sales.models import SaleListQuery
from chalicelib.tenants.service import load_tenant
from chalicelib.users.service import find_user
from chalicelib.workflows.service import system_actor

__all__ = ["create_export", "get_export", "handle_batch", "list_exports", "run_slice"]

PAGE_SIZE = 100
MAX_ATTEMPTS = next(q.max_receive_count for q in QUEUES if q.kind is QueueKind.EXPORTS)
_FILTERS: dict[ExportKind, type[BaseModel] | None] = {
    "sales": SaleFilters,
    "leads": LeadFilters,
    "customers": None,
    "finance_transactions": FinanceTransactionFilters,
}
# What the requester must be able to read, and the plan module, per kind.
_READS: dict[ExportKind, tuple[Permission, Module | None]] = {
    "sales": (Permission.SALES_READ_OWN, Module.SALES),
    "leads": (Permission.LEADS_READ_OWN, Module.SALES),
    "customers": (Permission.CUSTOMERS_READ, None),
    "finance_transactions": (Permission.FINANCE_READ, Module.FINANCE),
}


class _JobMoved(Conflict):
    """Raised when an export changed since a slice read it (a duplicate slice finished first): nothing to do."""


class JobRefused(Exception):
    """Raised when an export can no longer run, however often it is retried (the requester is gone)."""


def _filters(kind: ExportKind, filters: Mapping[str, Any]) -> dict[str, Any]:
    model = _FILTERS[kind]
    if model is None:
        if filters:
            raise InvalidInput(
                detail=f"{kind} exports take no filters",
                errors=tuple(
                    FieldError(f"body.filters.{name}", "not a filter of this kind", "extra_forbidden")
                    for name in filters
                ),
            )
        return {}
    try:
        parsed = model.model_validate(dict(filters))
    except ValidationError as exc:
        raise InvalidInput(detail="invalid filters", errors=tuple(field_errors(exc, "body.filters"))) from exc
    return dict(parsed.model_dump(mode="json", by_alias=True, exclude_none=True))


def _may_export(principal: Principal, kind: ExportKind) -> None:
    require(principal, Permission.DATA_EXPORT)
    permission, module = _READS[kind]
    if module is not None and module not in principal.modules:
        raise Forbidden(detail=f"the plan does not include the module {module.value}", code="module-not-enabled")
    require(principal, permission)


def _view(record: ExportRecord) -> Export:
    url = expires = None
    if record.status == "completed":
        ttl = get_settings().export_url_ttl_s
        url = files.download_url(record.file_key, ttl)
        expires = clock.isoformat(clock.now() + timedelta(seconds=ttl))
    fields = record.model_dump(include=set(Export.model_fields) - {"url", "url_expires_at"}, by_alias=False)
    return Export(**fields, url=url, url_expires_at=expires)


def _estimate(principal: Principal, kind: ExportKind) -> int | None:
    if kind in ("customers", "finance_transactions"):
        return None
    scope = None if principal.can(Permission.SALES_READ_ALL) else principal.user_id
    # From the dashboard's aggregates (they may lag a moment behind): nothing counted yet reads as unknown.
    return created_count(principal.tenant_id, "sales" if kind == "sales" else "leads", scope) or None


def create_export(principal: Principal, body: CreateExportRequest, idempotency_key: str | None) -> Export:
    """Queue an export of ``body.kind`` (checked: permissions, module, filters); 202 with its progress."""
    _may_export(principal, body.kind)
    filters = _filters(body.kind, body.filters)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "exports.create",
        body,
        Export,
        lambda seal: _create(principal, body.kind, filters, seal),
    )


def _create(principal: Principal, kind: ExportKind, filters: dict[str, Any], seal: idempotency.Seal) -> Export:
    moment = clock.now()
    at = clock.isoformat(moment)
    export_id = new_id(moment)
    record = ExportRecord(
        id=export_id,
        tenant_id=principal.tenant_id,
        kind=kind,
        format="csv",
        filters=filters,
        status="queued",
        total_estimate=_estimate(principal, kind),
        file_key=files.file_key(principal.tenant_id, export_id, f"{kind}-{moment.strftime('%Y%m%d-%H%M%S')}.csv"),
        created_by=principal.user_id,
        created_at=at,
        updated_at=at,
    )
    view = _view(record)
    Table().transact(
        [
            store.new_export_op(record),
            audit_op(principal, "export.requested", Kind.EXPORT, export_id, after=record.model_dump()),
            *seal(view),
        ]
    )
    _enqueue(record.tenant_id, export_id, 1)
    return view


def _enqueue(tenant_id: str, export_id: str, slice_no: int) -> None:
    body = json.dumps({"tenantId": tenant_id, "exportId": export_id, "slice": slice_no})
    try:
        aws.sqs().send_message(QueueUrl=queue_url(queue_name(QueueKind.EXPORTS)), MessageBody=body)
    except (ClientError, BotoCoreError) as exc:
        raise DependencyUnavailable(detail="the export could not be queued; retry") from exc


def get_export(principal: Principal, export_id: str) -> Export:
    """One export: its progress and, once completed, a fresh download URL."""
    require(principal, Permission.DATA_EXPORT)
    record = store.get_export(principal.tenant_id, export_id)
    if record is None:
        raise NotFound(detail=f"no export {export_id}")
    return _view(record)


def list_exports(principal: Principal, query: ExportListQuery) -> Page[Export]:
    """One page of the tenant's exports, newest first."""
    require(principal, Permission.DATA_EXPORT)
    return paginate(
        Page[Export],
        query,
        tenant_id=principal.tenant_id,
        scope="exports",
        fetch=lambda start: store.list_exports(principal.tenant_id, query.limit, start),
        convert=lambda item: _view(store.record_of(item)),
    )


# --- the job --------------------------------------------------------------------------------------------------


def _requester(record: ExportRecord) -> Principal:
    """The user who asked, as they are now (a changed role or a deactivation applies to the running job)."""
    user = find_user(record.tenant_id, record.created_by)
    if user is None or user.status != "active":
        raise JobRefused("the user who asked for the export is no longer active")
    tenant = load_tenant(record.tenant_id)
    principal = Principal(user.id, tenant.id, user.role, user.email, frozenset(tenant.modules))
    try:
        _may_export(principal, record.kind)
    except Forbidden as exc:
        raise JobRefused(f"the user who asked may no longer export {record.kind}: {exc.detail}") from exc
    return principal


def _page(record: ExportRecord, principal: Principal, cursor: str | None) -> Page[Any]:
    paging = {"limit": PAGE_SIZE, "cursor": cursor}
    if record.kind == "sales":
        return sales.list_sales(principal, SaleListQuery.model_validate({**record.filters, **paging}))
    if record.kind == "leads":
        return leads.list_leads(principal, LeadListQuery.model_validate({**record.filters, **paging}))
    if record.kind == "finance_transactions":
        query = TransactionListQuery.model_validate({**record.filters, **paging})
        return finance.list_transactions(principal, query)
    return customers.list_customers(principal, CustomerListQuery.model_validate(paging))


def _revision(record: ExportRecord, changes: dict[str, Any]) -> tuple[WriteOp, ExportRecord]:
    changes["updatedAt"] = clock.now_iso()
    op, after = store.revise_export_op(record, changes)
    return op.on_conflict(_JobMoved(detail=f"export {record.id} moved on")), after


def _save(record: ExportRecord, changes: dict[str, Any]) -> None:
    """Record a slice's progress (fails with ``_JobMoved`` when another delivery of the slice got there first)."""
    Table().transact([_revision(record, changes)[0]])


def _end(record: ExportRecord, changes: dict[str, Any], event: str) -> None:
    """Record how the export ended, audited (as the system) and announced with ``event``."""
    op, after = _revision(record, changes)
    data = {"kind": record.kind, "rows": after.rows_done, "fileBytes": after.file_bytes, "error": after.error}
    actor = system_actor(record.tenant_id)
    Table().transact(
        [
            op,
            audit_op(actor, event, Kind.EXPORT, record.id, after={"status": after.status, "error": after.error}),
            event_put_op(
                new_event(event, record.tenant_id, {k: v for k, v in data.items() if v is not None}, subject=record.id)
            ),
        ]
    )


def run_slice(tenant_id: str, export_id: str, slice_no: int) -> None:
    """Run slice ``slice_no`` of an export (see the module docstring); a stale or repeated slice does nothing."""
    record = store.get_export(tenant_id, export_id)
    if record is None or record.status in ("completed", "failed") or record.slice != slice_no:
        return
    principal = _requester(record)
    deadline = time.monotonic() + get_settings().export_slice_seconds
    key = record.file_key
    buffer = bytearray(files.read_carry(key, slice_no - 1) if record.carry_bytes else b"")
    carried = record.carry_bytes > 0
    if slice_no == 1:
        buffer += csv_lines([COLUMNS[record.kind]])
    cursor, rows, done = record.cursor, 0, False
    while True:
        page = _page(record, principal, cursor)
        buffer += csv_lines([row_of(record.kind, item) for item in page.items])
        rows += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            done = True
            break
        if len(buffer) >= files.PART_BYTES or time.monotonic() >= deadline:
            break
    parts, upload_id = list(record.parts), record.upload_id
    progress: dict[str, Any] = {"rowsDone": record.rows_done + rows, "status": "running"}
    if done:
        if upload_id is not None:
            parts.append(files.upload_part(key, upload_id, len(parts) + 1, bytes(buffer)))
            files.complete(key, upload_id, parts)
        else:
            files.put_whole(key, bytes(buffer))
        progress |= {
            "status": "completed",
            "fileBytes": record.file_bytes + len(buffer),
            "parts": [p.model_dump() for p in parts],
            "carryBytes": 0,
            "cursor": None,
            "completedAt": clock.now_iso(),
        }
        _end(record, progress, "export.completed")
        if carried:
            files.drop_carry(key, slice_no - 1)
        return
    if len(buffer) >= files.PART_BYTES:
        upload_id = upload_id or files.start_upload(key)
        parts.append(files.upload_part(key, upload_id, len(parts) + 1, bytes(buffer)))
        progress |= {"fileBytes": record.file_bytes + len(buffer), "carryBytes": 0}
    else:
        files.write_carry(key, slice_no, bytes(buffer))
        progress["carryBytes"] = len(buffer)
    progress |= {
        "slice": slice_no + 1,
        "cursor": cursor,
        "uploadId": upload_id,
        "parts": [p.model_dump() for p in parts],
    }
    _save(record, progress)
    if carried:
        files.drop_carry(key, slice_no - 1)
    _enqueue(tenant_id, export_id, slice_no + 1)


def _fail(tenant_id: str, export_id: str, reason: str) -> None:
    record = store.get_export(tenant_id, export_id)
    if record is None or record.status in ("completed", "failed"):
        return
    try:
        _end(record, {"status": "failed", "error": reason[:1000]}, "export.failed")
    except _JobMoved:
        logger.info("export moved on while being failed", extra={"export_id": export_id})


def handle_batch(raw_event: dict[str, Any]) -> dict[str, Any]:
    """The exports queue's consumer: one slice per message. Errors are retried by the queue; on the last attempt
    (or at once when no retry can help) the export is marked failed with the reason."""

    def handle(job: Job) -> None:
        body = json.loads(job.body)
        tenant_id, export_id, slice_no = str(body["tenantId"]), str(body["exportId"]), int(body["slice"])
        attempt = job.attempt
        with tenant_scope(tenant_id):
            try:
                run_slice(tenant_id, export_id, slice_no)
            except _JobMoved:
                logger.info("export slice done by another delivery", extra={"export_id": export_id})
            except JobRefused as exc:
                _fail(tenant_id, export_id, str(exc))
            except (AppError, ClientError, BotoCoreError) as exc:
                if attempt < MAX_ATTEMPTS:
                    raise
                logger.exception("export failed on its last attempt", extra={"export_id": export_id})
                _fail(tenant_id, export_id, f"the export failed after {attempt} attempts: {exc}")

    return consume(raw_event, handle, queue=QueueKind.EXPORTS)
