"""Tenant models: the stored record, what the API shows, and what may be changed."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from chalicelib.access.permissions import Module
from chalicelib.core.address import Address
from chalicelib.core.ids import PLATFORM_TENANT_ID
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import Clearable, PatchRequest
from chalicelib.core.references import NotAReference
from chalicelib.core.validation import CountryCode, CurrencyCode, E164Phone, LocaleTag, OriginUrl, TimeZoneName

__all__ = [
    "PLATFORM_TENANT_ID",
    "BusinessType",
    "ChangePlanRequest",
    "SuspendedBy",
    "Tenant",
    "TenantListQuery",
    "TenantRecord",
    "TenantStatus",
    "UpdateTenantRequest",
]

MAX_ALLOWED_ORIGINS = 10


class BusinessType(StrEnum):
    """What kind of business the tenant is; picks its default status flows."""

    RESTAURANT = "restaurant"
    BIKE_SHOP = "bike_shop"
    CLINIC = "clinic"
    PET_STORE = "pet_store"
    RETAIL = "retail"
    B2B_RESELLER = "b2b_reseller"
    SERVICES = "services"


TenantStatus = Literal["active", "suspended"]
# Who suspended a tenant: the platform operator, or billing (the grace period after a failed charge ended). A
# payment lifts only billing's suspension.
SuspendedBy = Literal["operator", "billing"]


class TenantRecord(ApiModel):
    """A tenant as stored (the document only encrypted, plus its keyed hash)."""

    id: str
    name: str
    business_type: BusinessType
    locale: str
    time_zone: str
    currency: str
    country: str
    document_encrypted: str | None = None
    document_hash: str | None = None
    document_last4: str | None = None
    whatsapp_number: str | None = None
    address: Address | None = None
    allowed_origins: list[str] = Field(default_factory=empty_list)
    status: TenantStatus = "active"
    suspended_by: SuspendedBy | None = None
    plan_id: str
    modules: list[Module]
    user_count: int = 0
    product_count: int = 0
    created_at: str
    updated_at: str
    version: int = 1


class Tenant(ApiModel):
    """A tenant as the API shows it (the document masked)."""

    id: str
    name: str
    business_type: BusinessType
    locale: str
    time_zone: str
    currency: str
    country: str
    document_masked: str | None = Field(default=None, description="Last digits of the CNPJ/tax id")
    whatsapp_number: str | None = None
    address: Address | None = Field(default=None, description="Where the business ships from (shipping quotes)")
    allowed_origins: list[str] = Field(
        default_factory=empty_list,
        description="Browser origins of the tenant's frontends: CORS (with credentials) and browser sessions are "
        "allowed for these only",
    )
    status: TenantStatus
    suspended_by: SuspendedBy | None = Field(
        default=None, description="While suspended: the platform operator, or billing (a payment reactivates it)"
    )
    plan_id: str
    modules: list[Module]
    user_count: int
    product_count: int = Field(description="Active catalog items (products and services), counted against maxProducts")
    created_at: str
    updated_at: str
    version: int

    @classmethod
    def of(cls, record: TenantRecord) -> Tenant:
        """The API view of a stored tenant."""
        masked = f"****{record.document_last4}" if record.document_last4 else None
        fields = record.model_dump(by_alias=False, exclude={"document_encrypted", "document_hash", "document_last4"})
        return cls(**fields, document_masked=masked)


class UpdateTenantRequest(PatchRequest):
    """Changes to the tenant's settings; ``version`` is the one the client read (optimistic locking). Null clears
    the document, the WhatsApp number or the address."""

    version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=2, max_length=120)
    business_type: BusinessType | None = None
    locale: LocaleTag | None = None
    time_zone: TimeZoneName | None = None
    currency: CurrencyCode | None = None
    country: CountryCode | None = None
    document: Annotated[str | None, Clearable()] = Field(
        default=None, description="CNPJ when the country is BR, else a tax id"
    )
    whatsapp_number: Annotated[E164Phone | None, Clearable()] = None
    address: Annotated[Address | None, Clearable()] = Field(
        default=None, description="Where the business ships from (its postal code is the origin of shipping quotes)"
    )
    allowed_origins: list[OriginUrl] | None = Field(
        default=None,
        max_length=MAX_ALLOWED_ORIGINS,
        description="Replaces the browser origins of the tenant's frontends (https://host[:port]; [] removes them): "
        "CORS with credentials and cookie sessions are allowed for these only (docs/SECURITY.md)",
        examples=[["https://app.example.com"]],
    )


class ChangePlanRequest(ApiModel):
    """Move a tenant to another plan (platform operator)."""

    plan_id: Annotated[str, NotAReference("a plan of the platform's catalog (GET /plans), not a record of a tenant")]


class TenantListQuery(PageParams):
    """Filters of the platform's tenant list."""

    status: TenantStatus | None = None
