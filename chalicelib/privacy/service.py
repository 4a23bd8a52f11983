"""Privacy requests (GDPR/LGPD): a person's data export and their erasure, each a background job on the integrations
queue (``task:privacy.export``, ``task:privacy.erase``), run over the registry of ``core.personal_data`` where every
capability that stores personal data declared its exporter and eraser (in its ``privacy`` module, imported here).

- Export: ``POST /privacy/exports`` (one in flight per person: a claim released when the job ends) → the job asks
  every declaration for what it holds about the person, writes ``data.json`` and their files as a ZIP under the
  tenant's prefix, and records its progress (capabilities done of the total); ``GET /privacy/exports/{id}`` gives a
  presigned URL that expires. Requested and completed are audited.
- Erasure: ``POST /privacy/erasures`` (once per customer: the claim stays and a second request is a 409 naming the
  first) → the job plans what each connected processor must erase (ids only, read before anything is erased), runs
  every eraser (the customer record last: the others find the person through it), then queues one job per
  processor (``processors.py``), whose outcome is recorded on the erasure and retried by the queue. A user (staff
  member) may be erased too: never the caller, never the tenant's last active ADMIN; the request deactivates them in
  its transaction (``users.service.erasure_hold_ops``), the job pseudonymises them like a customer (their record last).
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from datetime import timedelta
from typing import Any

import chalicelib
from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, WriteOp
from chalicelib.core.errors import Conflict, FieldError, InvalidInput, NotFound
from chalicelib.core.ids import new_id
from chalicelib.core.personal_data import DataSubject, Declaration, declared
from chalicelib.core.text import fold
from chalicelib.customers import service as customers
from chalicelib.integrations import jobs
from chalicelib.privacy import files, processors, store
from chalicelib.privacy.models import (
    CreateErasureRequest,
    CreatePrivacyExportRequest,
    Erasure,
    ErasureRecord,
    ExportProgress,
    PrivacyExport,
    PrivacyExportRecord,
    SubjectKind,
)
from chalicelib.users import service as users
from chalicelib.workflows.service import system_actor

__all__ = [
    "ERASE_TASK",
    "EXPORT_TASK",
    "create_erasure",
    "create_export",
    "get_erasure",
    "get_export",
    "load_declarations",
    "pseudonym_of",
    "run_erasure",
    "run_export",
]

EXPORT_TASK = "privacy.export"
ERASE_TASK = "privacy.erase"


def load_declarations() -> list[Declaration]:
    """Every capability's declaration (their ``privacy`` modules imported), in erasure order."""
    for module in pkgutil.iter_modules(chalicelib.__path__):
        if module.ispkg and importlib.util.find_spec(f"chalicelib.{module.name}.privacy") is not None:
            importlib.import_module(f"chalicelib.{module.name}.privacy")
    return declared()


def pseudonym_of(tenant_id: str, subject_id: str, kind: SubjectKind = "customer") -> str:
    """The pseudonym of an erased customer or user: the same on every retry, nothing of the person in it."""
    return f"Erased {kind} {hashlib.sha256(f'{tenant_id}:{subject_id}'.encode()).hexdigest()[:10]}"


def _names(name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((name, fold(name))))


def _subject(tenant_id: str, kind: SubjectKind, subject_id: str, *, field: str | None = None) -> DataSubject:
    """The person, as the tenant knows them; ``InvalidInput`` naming ``field`` (else ``NotFound``) if unknown."""
    pseudonym = pseudonym_of(tenant_id, subject_id, kind)
    if kind == "customer":
        customer = customers.find_customer(tenant_id, subject_id)
        if customer is not None:
            return DataSubject(
                tenant_id,
                kind,
                subject_id,
                pseudonym,
                names=_names(customer.name),
                emails=(customer.email,) if customer.email else (),
                phones=(customer.phone,) if customer.phone else (),
            )
    else:
        user = users.find_user(tenant_id, subject_id)
        if user is not None:
            return DataSubject(
                tenant_id,
                kind,
                subject_id,
                pseudonym,
                names=_names(user.name),
                emails=(user.email,),
                phones=(user.whatsapp_number,) if user.whatsapp_number else (),
            )
    if field is None:
        raise NotFound(detail=f"no {kind} {subject_id}")
    raise InvalidInput(detail=f"{field}: no {kind} {subject_id}", errors=(FieldError(field, f"no such {kind}"),))


# --- exports --------------------------------------------------------------------------------------------------


def _export_view(record: PrivacyExportRecord) -> PrivacyExport:
    fields = record.model_dump(by_alias=False, exclude={"tenant_id", "file_key", "version"})
    view = PrivacyExport(**fields)
    if record.status == "completed":
        ttl = get_settings().export_url_ttl_s
        view.url = files.download_url(record.file_key, ttl)
        view.url_expires_at = clock.isoformat(clock.now() + timedelta(seconds=ttl))
    return view


def create_export(principal: Principal, body: CreatePrivacyExportRequest) -> PrivacyExport:
    """Queue the export of everything BTRIX holds about a customer or a user (202 with its progress); 409 naming
    ``body.id`` while another export of the same person runs."""
    require(principal, Permission.PRIVACY_MANAGE)
    tenant = principal.tenant_id
    _subject(tenant, body.subject, body.id, field="body.id")
    at = clock.now_iso()
    export_id = new_id()
    record = PrivacyExportRecord(
        id=export_id,
        tenant_id=tenant,
        subject=body.subject,
        subject_id=body.id,
        status="queued",
        progress=ExportProgress(done=0, total=len(load_declarations())),
        file_key=files.file_key(tenant, export_id, body.subject, body.id),
        requested_by=principal.user_id,
        created_at=at,
        updated_at=at,
    )
    running = Conflict(
        detail=f"an export of this {body.subject} is already running",
        errors=(FieldError("body.id", "an export of this person is already running", "in-progress"),),
    )
    Table().transact(
        [
            store.new_export_op(record),
            store.claim_op(tenant, "export", body.subject, body.id, export_id, running),
            audit_op(
                principal,
                "privacy.export_requested",
                Kind.PRIVACY_EXPORT,
                export_id,
                after={"subject": body.subject, "subjectId": body.id},
            ),
        ]
    )
    jobs.enqueue_task(EXPORT_TASK, tenant, {"exportId": export_id}, key=f"export-{export_id}")
    return _export_view(record)


def get_export(principal: Principal, export_id: str) -> PrivacyExport:
    """An export's progress and, once completed, a fresh download URL."""
    require(principal, Permission.PRIVACY_MANAGE)
    record = store.get_export(principal.tenant_id, export_id)
    if record is None:
        raise NotFound(detail=f"no privacy export {export_id}")
    return _export_view(record)


def _save_export(record: PrivacyExportRecord, changes: dict[str, Any], *extra: WriteOp) -> PrivacyExportRecord:
    op, after = store.revise_export_op(record, {**changes, "updatedAt": clock.now_iso()})
    Table().transact([op, *extra])
    return after


def _end_export(record: PrivacyExportRecord, changes: dict[str, Any], action: str) -> None:
    actor = system_actor(record.tenant_id)
    summary = {"status": changes["status"], "records": changes.get("records"), "error": changes.get("error")}
    _save_export(
        record,
        changes,
        store.release_op(record.tenant_id, "export", record.subject, record.subject_id, record.id),
        audit_op(actor, action, Kind.PRIVACY_EXPORT, record.id, after=summary),
    )


def run_export(job: jobs.Job) -> str | None:
    """The export job: every declaration's records and files about the person, as one ZIP; progress recorded."""
    record = store.get_export(job.tenant_id, str(job.data["exportId"]))
    if record is None or record.status in ("completed", "failed"):
        return None
    try:
        subject = _subject(record.tenant_id, record.subject, record.subject_id)
    except NotFound:
        _end_export(
            record, {"status": "failed", "error": f"the {record.subject} no longer exists"}, "privacy.export_failed"
        )
        return None
    declarations = load_declarations()
    record = _save_export(record, {"status": "running", "progress": {"done": 0, "total": len(declarations)}})
    data: dict[str, Any] = {}
    attached: list[tuple[str, bytes]] = []
    count = 0
    for done, declaration in enumerate(declarations, start=1):
        found = declaration.exporter(subject)
        if found:
            data[declaration.capability] = found
            count += len(found)
        if declaration.files is not None:
            attached += [(f"{declaration.capability}/{name}", body) for name, body in declaration.files(subject)]
        record = _save_export(record, {"progress": {"done": done, "total": len(declarations)}, "records": count})
    body = files.zip_of(
        {"subject": {"kind": record.subject, "id": record.subject_id}, "exportedAt": clock.now_iso(), "data": data},
        attached,
    )
    files.put_zip(record.file_key, body)
    changes = {"status": "completed", "fileBytes": len(body), "records": count, "completedAt": clock.now_iso()}
    _end_export(record, changes, "privacy.export_completed")
    return None


def fail_export(tenant_id: str, export_id: str, reason: str) -> None:
    """Mark an export failed (its job gave up) and free the person for another."""
    record = store.get_export(tenant_id, export_id)
    if record is not None and record.status not in ("completed", "failed"):
        _end_export(record, {"status": "failed", "error": reason[:1000]}, "privacy.export_failed")


# --- erasures -------------------------------------------------------------------------------------------------


def _erasure_view(record: ErasureRecord) -> Erasure:
    return Erasure(**record.model_dump(by_alias=False, exclude={"tenant_id", "version"}))


def create_erasure(principal: Principal, body: CreateErasureRequest) -> Erasure:
    """Queue the erasure of a customer or a user everywhere in BTRIX (and, for a customer, at the connected
    processors) (202); 409 naming ``body.id`` when the person has an erasure already (its id in the detail). A user
    is deactivated at once (their sessions end); erasing yourself is a 422 and the tenant's last active ADMIN a 409,
    both naming ``body.id``."""
    require(principal, Permission.PRIVACY_MANAGE)
    tenant = principal.tenant_id
    earlier = store.find_claim(tenant, "erasure", body.subject, body.id)
    if earlier is not None:
        raise _erased(body.subject, earlier)
    _subject(tenant, body.subject, body.id, field="body.id")
    hold = users.erasure_hold_ops(principal, body.id, field="body.id") if body.subject == "user" else []
    at = clock.now_iso()
    record = ErasureRecord(
        id=new_id(),
        tenant_id=tenant,
        subject=body.subject,
        subject_id=body.id,
        pseudonym=pseudonym_of(tenant, body.id, body.subject),
        status="queued",
        reason=body.reason,
        requested_by=principal.user_id,
        created_at=at,
        updated_at=at,
    )
    Table().transact(
        [
            store.new_erasure_op(record),
            store.claim_op(tenant, "erasure", body.subject, body.id, record.id, _erased(body.subject, record.id)),
            *hold,
            audit_op(
                principal,
                "privacy.erasure_requested",
                Kind.ERASURE,
                record.id,
                after={"subject": body.subject, "subjectId": body.id, "reason": body.reason},
            ),
        ]
    )
    jobs.enqueue_task(ERASE_TASK, tenant, {"erasureId": record.id}, key=f"erase-{record.id}")
    return _erasure_view(record)


def _erased(kind: SubjectKind, erasure_id: str) -> Conflict:
    return Conflict(
        detail=f"this {kind}'s erasure was already requested (erasure {erasure_id})",
        errors=(FieldError("body.id", f"already erased or being erased: {erasure_id}", "erased"),),
    )


def get_erasure(principal: Principal, erasure_id: str) -> Erasure:
    """An erasure: what was erased per capability, and each processor's outcome."""
    require(principal, Permission.PRIVACY_MANAGE)
    record = store.get_erasure(principal.tenant_id, erasure_id)
    if record is None:
        raise NotFound(detail=f"no erasure {erasure_id}")
    return _erasure_view(record)


def _save_erasure(record: ErasureRecord, changes: dict[str, Any], *extra: WriteOp) -> ErasureRecord:
    op, after = store.revise_erasure_op(record, {**changes, "updatedAt": clock.now_iso()})
    Table().transact([op, *extra])
    return after


def run_erasure(job: jobs.Job) -> str | None:
    """The erasure job (see the module docstring); a retry finds the customer's or user's record still there (erased
    last) and runs the erasers again, which change only what is left."""
    record = store.get_erasure(job.tenant_id, str(job.data["erasureId"]))
    if record is None or record.status in ("completed", "failed"):
        return None
    try:
        subject = _subject(record.tenant_id, record.subject, record.subject_id)
    except NotFound:
        _save_erasure(record, {"status": "failed", "error": f"the {record.subject} was deleted before the erasure ran"})
        return None
    declarations = load_declarations()
    if record.status == "queued":
        found = {d.capability: d.exporter(subject) for d in declarations if d.capability in processors.SOURCES}
        planned = processors.plan(subject, found)
        record = _save_erasure(record, {"status": "running", "processors": [p.model_dump() for p in planned]})
    erased = dict(record.erased)
    for declaration in declarations:
        erased[declaration.capability] = erased.get(declaration.capability, 0) + declaration.eraser(subject)
        record = _save_erasure(record, {"erased": erased})
    # Queued before the erasure says completed: a retry after a failure in between queues them again (each job
    # runs once by its key), while a completed erasure is never run again.
    for outcome in record.processors:
        if outcome.status == "pending":
            processors.enqueue(record.tenant_id, record.id, outcome.processor)
    summary = {"erased": erased, "processors": [(p.processor, p.status) for p in record.processors]}
    _save_erasure(
        store.get_erasure(record.tenant_id, record.id) or record,  # the processors' jobs may have written already
        {"status": "completed", "completedAt": clock.now_iso(), "error": None},
        audit_op(system_actor(record.tenant_id), "privacy.erasure_completed", Kind.ERASURE, record.id, after=summary),
    )
    return f"erasure {record.id}: {sum(erased.values())} records in BTRIX"


def _export_job(job: jobs.Job) -> str | None:
    try:
        return run_export(job)
    # Not hidden: re-raised for the dispatcher to retry or dead-letter; the export says so when that is the end.
    except Exception as exc:
        if jobs.gives_up(job, exc):
            fail_export(job.tenant_id, str(job.data["exportId"]), f"stopped after {job.attempt} attempts: {exc}")
        raise


def _erasure_job(job: jobs.Job) -> str | None:
    try:
        return run_erasure(job)
    # Not hidden: re-raised for the dispatcher to retry or dead-letter; the erasure shows why it stopped.
    except Exception as exc:
        if jobs.gives_up(job, exc):
            _erasure_stopped(job.tenant_id, str(job.data["erasureId"]), f"stopped after {job.attempt} attempts: {exc}")
        raise


def _erasure_stopped(tenant_id: str, erasure_id: str, reason: str) -> None:
    """An erasure whose job gave up stays ``running`` with the reason in ``error``: the person stays claimed (no second
    erasure) and the integrations DLQ's redrive finishes it from where it stopped."""
    record = store.get_erasure(tenant_id, erasure_id)
    if record is not None and record.status in ("queued", "running"):
        _save_erasure(record, {"error": reason[:1000]})


jobs.register(jobs.task_kind(EXPORT_TASK), _export_job, operation="privacy_export")
# Named as when run_erasure was registered itself: a job's key holds its handler's name.
jobs.register(
    jobs.task_kind(ERASE_TASK), _erasure_job, operation="privacy_erasure", name=f"{__name__}.{run_erasure.__qualname__}"
)
