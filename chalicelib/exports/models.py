"""Export models: the request, the job as stored (with its upload state) and as shown (with its download URL)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.pagination import PageParams
from chalicelib.core.validation import Instant

__all__ = [
    "CreateExportRequest",
    "Export",
    "ExportKind",
    "ExportRecord",
    "ExportStatus",
    "FinanceTransactionFilters",
    "LeadFilters",
    "SaleFilters",
    "UploadedPart",
]

ExportKind = Literal["sales", "leads", "customers", "finance_transactions"]
ExportStatus = Literal["queued", "running", "completed", "failed"]
Status = Annotated[str, Field(max_length=40, pattern=r"^[A-Z][A-Z0-9_]*$")]


class SaleFilters(ApiModel):
    """Which sales: as ``GET /sales`` narrows them."""

    status: Status | None = None
    assigned_to: EntityId | None = None
    customer_id: EntityId | None = None
    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None


class LeadFilters(ApiModel):
    """Which leads: as ``GET /leads`` narrows them."""

    status: Status | None = None
    owner_id: EntityId | None = None
    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None


class FinanceTransactionFilters(ApiModel):
    """Which finance transactions: as ``GET /finance/transactions`` narrows them (dates)."""

    account_id: EntityId | None = None
    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


class CreateExportRequest(ApiModel):
    """What to export. ``filters`` are those of the kind's list (sales: status, assignedTo, customerId, from, to;
    leads: status, ownerId, from, to; customers: none; finance_transactions: accountId, from, to as dates)."""

    kind: ExportKind
    filters: dict[str, Any] = Field(default_factory=dict, max_length=10)
    format: Literal["csv"] = "csv"


class UploadedPart(ApiModel):
    """A part of the file's multipart upload."""

    number: int
    etag: str


class ExportRecord(ApiModel):
    """An export job as stored: what is asked, how far it got, and where its file is being written."""

    id: str
    tenant_id: str
    kind: ExportKind
    format: Literal["csv"]
    filters: dict[str, Any]
    status: ExportStatus
    rows_done: int = 0
    total_estimate: int | None = None
    slice: int = Field(default=1, description="The next slice of the job to run")
    cursor: str | None = None
    carry_bytes: int = Field(default=0, description="Bytes written but not yet uploaded as a part")
    upload_id: str | None = None
    parts: list[UploadedPart] = Field(default_factory=empty_list)
    file_key: str
    file_bytes: int = 0
    error: str | None = None
    created_by: str
    created_at: str
    updated_at: str
    completed_at: str | None = None
    version: int = 1


class Export(ApiModel):
    """An export and its progress; once completed, a download URL valid until ``urlExpiresAt``."""

    id: str
    kind: ExportKind
    format: Literal["csv"]
    filters: dict[str, Any]
    status: ExportStatus
    rows_done: int
    total_estimate: int | None = Field(default=None, description="Rows expected (an upper bound); null: unknown")
    file_bytes: int
    url: str | None = Field(default=None, description="Presigned download URL (completed exports)")
    url_expires_at: str | None = None
    error: str | None = None
    created_by: str
    created_at: str
    updated_at: str
    completed_at: str | None = None


class ExportListQuery(PageParams):
    """The tenant's exports, newest first."""
