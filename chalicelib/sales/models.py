"""Sale models: what a client sends, what is stored and shown."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel
from chalicelib.core.money import Money
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import Clearable, PatchRequest
from chalicelib.core.personal_data import PERSONAL
from chalicelib.core.references import CheckedInService
from chalicelib.core.validation import Instant

__all__ = [
    "CreateSaleRequest",
    "PaymentStatus",
    "Sale",
    "SaleAmounts",
    "SaleListQuery",
    "SaleOrigin",
    "SaleSource",
    "TaxRate",
    "UpdateSaleRequest",
]

SaleSource = Literal["web", "email", "whatsapp", "phone", "referral", "lead"]
PaymentStatus = Literal["none", "pending", "paid", "partially_refunded", "refunded"]
TaxRate = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=3, description="Percent, e.g. 25")]
Notes = Annotated[str, Field(max_length=2000)]
# Ids the sale service loads itself (for a sale from a request or from a lead conversion alike), answering one that
# names nothing of the tenant with a 422 naming the field.
_CUSTOMER = CheckedInService("customer", "prepare_sale and update_sale load the customer: 422 naming the field")
_SERVICE = CheckedInService("service", "the sale reads the service for its name, price and tax rate (no product)")
_REP = CheckedInService("user", "the sale checks its rep: an active user of the tenant (a sales rep: itself)")


class SaleAmounts(ApiModel):
    """What the sale is worth, computed by BTRIX: tax on (base - discount) at the rate, rounded half-up."""

    base: Money
    discount: Money
    tax_rate: Decimal
    tax: Money
    final: Money = Field(description="base - discount + tax")


class SaleOrigin(ApiModel):
    """Where the sale came from when it started as a conversation (WhatsApp through the gateway) or a lead."""

    lead_id: str | None = None
    conversation_id: str | None = None
    channel_id: str | None = Field(default=None, description="The WhatsApp number's channel of the conversation")


class Sale(ApiModel):
    """A sale: a service sold to a customer, its rep, its amounts and where it stands in its status flow."""

    id: str
    tenant_id: str
    number: str = Field(description="Per tenant and year, gapless: S-2026-000123", examples=["S-2026-000123"])
    customer_id: Annotated[str, PERSONAL]
    service_id: str
    service_name: str = Field(description="The service's name when the sale was made")
    assigned_to: str = Field(description="The sales rep (user id) who owns the sale")
    source: SaleSource
    origin: SaleOrigin | None = None
    scheduled_at: str | None = None
    amounts: SaleAmounts
    payment_status: PaymentStatus = "none"
    billy_invoice_id: str | None = None
    paid_at: str | None = None
    payment_id: str | None = Field(
        default=None, description="The payment (GET /payments/{id}) that paid it through a payment link"
    )
    calendar_event_id: str | None = None
    notes: str | None = None
    status: str
    workflow_version: int
    status_changed_at: str | None = None
    closed_at: str | None = Field(default=None, description="When it reached a final status")
    outcome: Literal["completed", "cancelled"] | None = Field(default=None, description="How it ended, once closed")
    created_by: str
    created_at: str
    updated_at: str
    version: int = 1


class CreateSaleRequest(ApiModel):
    """A new sale. The base amount and tax rate default to the service's price and rate in the catalog."""

    customer_id: Annotated[EntityId, _CUSTOMER]
    service_id: Annotated[EntityId, _SERVICE] = Field(description="A catalog item of kind service")
    assigned_to: Annotated[EntityId | None, _REP] = Field(default=None, description="The rep; default: the caller")
    scheduled_at: Instant | None = None
    source: SaleSource = "web"
    base_amount: Money | None = Field(default=None, description="Default: the service's price")
    discount: Money | None = None
    tax_rate: TaxRate | None = Field(default=None, description="Percent; default: the service's tax rate")
    notes: Notes | None = None


class UpdateSaleRequest(PatchRequest):
    """Changes to a sale; ``version`` is the one the client read. Null clears the date, the discount or the notes."""

    version: int = Field(ge=1)
    customer_id: Annotated[EntityId | None, _CUSTOMER] = None
    service_id: Annotated[EntityId | None, _SERVICE] = None
    assigned_to: Annotated[EntityId | None, _REP] = None
    scheduled_at: Annotated[Instant | None, Clearable()] = None
    base_amount: Money | None = None
    discount: Annotated[Money | None, Clearable()] = None
    tax_rate: TaxRate | None = None
    notes: Annotated[Notes | None, Clearable()] = None


class SaleListQuery(PageParams):
    """Filters of the sale list, newest first: a status, a rep, a customer (a rep with a status or a customer),
    within a date range of the sale."""

    status: str | None = Field(default=None, max_length=40, pattern=r"^[A-Z][A-Z0-9_]*$")
    assigned_to: EntityId | None = None
    customer_id: EntityId | None = None
    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None
