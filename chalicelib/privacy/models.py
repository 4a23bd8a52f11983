"""Privacy request models: a person's data export (right of access and portability) and their erasure (right to be
forgotten), as asked, as stored and as shown, with the outcome of each processor asked to erase too."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel, empty_list

__all__ = [
    "CreateErasureRequest",
    "CreatePrivacyExportRequest",
    "Erasure",
    "ErasureRecord",
    "ExportProgress",
    "PrivacyExport",
    "PrivacyExportRecord",
    "ProcessorName",
    "ProcessorOutcome",
    "ProcessorStatus",
    "RequestStatus",
    "SubjectKind",
]

SubjectKind = Literal["customer", "user"]
RequestStatus = Literal["queued", "running", "completed", "failed"]
ProcessorName = Literal[
    "bitrix24",
    "stripe",
    "billy",
    "google_calendar",
    "mercadopago",
    "bling",
    "tiny",
    "pagarme",
    "melhorenvio",
    "correios",
    "jadlog",
    "ifood",
    "rappi",
]
ProcessorStatus = Literal["pending", "done", "failed", "manual"]


class CreatePrivacyExportRequest(ApiModel):
    """Whose data to export: a customer, or a user of the tenant."""

    subject: SubjectKind
    id: EntityId


class ExportProgress(ApiModel):
    """How far the export got: capabilities collected of those that hold personal data."""

    done: int
    total: int


class PrivacyExportRecord(ApiModel):
    """A data export as stored."""

    id: str
    tenant_id: str
    subject: SubjectKind
    subject_id: str
    status: RequestStatus
    progress: ExportProgress
    records: int = 0
    file_key: str
    file_bytes: int = 0
    error: str | None = None
    requested_by: str
    created_at: str
    updated_at: str
    completed_at: str | None = None
    version: int = 1


class PrivacyExport(ApiModel):
    """A data export and its progress; once completed, a ZIP (``data.json`` and the person's media) to download
    from ``url`` until ``urlExpiresAt``."""

    id: str
    subject: SubjectKind
    subject_id: str
    status: RequestStatus
    progress: ExportProgress
    records: int = Field(description="Records collected so far")
    file_bytes: int
    url: str | None = Field(default=None, description="Presigned download URL (completed exports)")
    url_expires_at: str | None = None
    error: str | None = None
    requested_by: str
    created_at: str
    updated_at: str
    completed_at: str | None = None


class CreateErasureRequest(ApiModel):
    """Whom to erase: a customer of the tenant (everywhere in BTRIX and at the connected processors), or a user (a
    staff member: never the caller, never the tenant's last active ADMIN)."""

    subject: SubjectKind
    id: EntityId
    reason: str | None = Field(default=None, max_length=500, description="Why (kept in the audit log)")


class ProcessorOutcome(ApiModel):
    """What a processor (a provider holding the person's data for the tenant) was asked to erase, and how it went."""

    processor: ProcessorName
    status: ProcessorStatus
    action: str = Field(description="What BTRIX asks of it, e.g. DELETE the Stripe customer")
    targets: list[str] = Field(default_factory=empty_list, description="The provider's ids of the person's records")
    attempts: int = 0
    last_error: str | None = None
    updated_at: str


class ErasureRecord(ApiModel):
    """An erasure as stored (no name, email or phone of the person: only their id and pseudonym)."""

    id: str
    tenant_id: str
    subject: SubjectKind
    subject_id: str
    pseudonym: str
    status: RequestStatus
    erased: dict[str, int] = Field(default_factory=dict)
    processors: list[ProcessorOutcome] = Field(default_factory=empty_list)
    reason: str | None = None
    error: str | None = None
    requested_by: str
    created_at: str
    updated_at: str
    completed_at: str | None = None
    version: int = 1


class Erasure(ApiModel):
    """An erasure: its progress in BTRIX (records changed per capability) and at each connected processor."""

    id: str
    subject: SubjectKind
    subject_id: str
    pseudonym: str = Field(
        description="What replaces the person's name in what is kept (orders, invoices; a user's sales, leads and "
        "audit entries)"
    )
    status: RequestStatus
    erased: dict[str, int] = Field(description="Records erased or pseudonymised, per capability")
    processors: list[ProcessorOutcome]
    reason: str | None = None
    error: str | None = None
    requested_by: str
    created_at: str
    updated_at: str
    completed_at: str | None = None
