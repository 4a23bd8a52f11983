"""Lead models: what a client sends, what is stored and shown, and what a conversion answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import EmailStr, Field, field_validator

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel
from chalicelib.core.money import Money
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import Clearable, PatchRequest
from chalicelib.core.personal_data import PERSONAL
from chalicelib.core.references import CheckedInService, Ref
from chalicelib.core.validation import E164Phone, Instant
from chalicelib.sales.models import Sale, TaxRate

__all__ = [
    "ConversationLeadRequest",
    "Conversion",
    "ConvertLeadRequest",
    "CreateLeadRequest",
    "Lead",
    "LeadListQuery",
    "LeadOrigin",
    "LeadSource",
    "UpdateLeadRequest",
]

LeadSource = Literal["web", "email", "whatsapp", "phone", "referral"]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Notes = Annotated[str, Field(max_length=4000)]
# Ids the lead service loads itself, answering one that names nothing of the tenant with a 422 naming the field.
_SERVICE = CheckedInService("service", "the lead keeps the service's name (load_product; a product is refused)")
_OWNER = CheckedInService("user", "the lead checks its owner: an active user of the tenant (a sales rep: itself)")


def _lower(value: str | None) -> str | None:
    return value.strip().lower() if isinstance(value, str) else value


class LeadOrigin(ApiModel):
    """Where a lead came in: a WhatsApp conversation of the gateway, or an email."""

    conversation_id: str | None = None
    channel_id: str | None = Field(default=None, description="The WhatsApp number's channel of the conversation")
    email_message_id: str | None = Field(default=None, description="Message-ID of the email that brought the lead")
    email_subject: str | None = None


class Lead(ApiModel):
    """A lead: someone who may buy, how to reach them, what they want, and where it stands in its flow."""

    id: str
    tenant_id: str
    contact_name: Annotated[str, PERSONAL]
    contact_email: Annotated[str | None, PERSONAL] = None
    contact_phone: Annotated[str | None, PERSONAL] = None
    interest_service_id: str | None = None
    interest_service_name: str | None = None
    estimated_value: Money | None = None
    source: LeadSource
    origin: LeadOrigin | None = None
    owner_id: str | None = Field(default=None, description="The rep (user id) who owns the lead; null: unassigned")
    follow_up_at: str | None = Field(default=None, description="When to follow up; the owner is reminded then")
    notes: str | None = None
    customer_id: str | None = Field(default=None, description="The lead's customer (set when it is converted)")
    converted_sale_id: str | None = None
    status: str
    workflow_version: int
    status_changed_at: str | None = None
    closed_at: str | None = None
    outcome: Literal["completed", "cancelled"] | None = Field(default=None, description="How it ended, once closed")
    created_by: str
    created_at: str
    updated_at: str
    version: int = 1


class CreateLeadRequest(ApiModel):
    """A new lead. Same email or phone as an open lead: 409 naming it, or ``onDuplicate: merge`` into it."""

    contact_name: Name
    contact_email: Annotated[EmailStr | None, Field(max_length=254)] = None
    contact_phone: E164Phone | None = None
    interest_service_id: Annotated[EntityId | None, _SERVICE] = Field(
        default=None, description="A catalog item of kind service"
    )
    estimated_value: Money | None = None
    source: LeadSource = "web"
    owner_id: Annotated[EntityId | None, _OWNER] = Field(
        default=None, description="The rep who owns it; default: the caller"
    )
    follow_up_at: Instant | None = Field(default=None, description="Default: a day after creation")
    notes: Notes | None = None
    on_duplicate: Literal["reject", "merge"] = Field(
        default="reject", description="merge: fill the open lead with the same email or phone instead (200)"
    )

    _email = field_validator("contact_email", mode="before")(_lower)


class UpdateLeadRequest(PatchRequest):
    """Changes to a lead; ``version`` is the one the client read. Null clears the contact's email or phone, the
    service, the estimate, the owner (a manager's choice: unassigned), the follow-up time or the notes."""

    version: int = Field(ge=1)
    contact_name: Name | None = None
    contact_email: Annotated[EmailStr | None, Field(max_length=254), Clearable()] = None
    contact_phone: Annotated[E164Phone | None, Clearable()] = None
    interest_service_id: Annotated[EntityId | None, Clearable(), _SERVICE] = None
    estimated_value: Annotated[Money | None, Clearable()] = None
    source: LeadSource | None = None
    owner_id: Annotated[EntityId | None, Clearable(), _OWNER] = None
    follow_up_at: Annotated[Instant | None, Clearable()] = None
    notes: Annotated[Notes | None, Clearable()] = None

    _email = field_validator("contact_email", mode="before")(_lower)


class LeadListQuery(PageParams):
    """Filters of the lead list: a status or an owner (or both), newest first within from/to; or
    ``followUpDue``: the open leads to follow up by then, soonest first."""

    status: str | None = Field(default=None, max_length=40, pattern=r"^[A-Z][A-Z0-9_]*$")
    owner_id: EntityId | None = None
    follow_up_due: Instant | None = Field(default=None, description="Open leads due at or before this time")
    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None


class ConvertLeadRequest(ApiModel):
    """Turn a lead into a sale. The customer is ``customerId``, else the lead's, else the customer with the lead's
    email or phone, else a new one; the service and base amount default to the lead's interest and estimate."""

    version: int = Field(ge=1, description="The lead's version you read")
    # Checked before the view, so that a wrong id is a 422 whatever the lead's status.
    customer_id: Annotated[EntityId | None, Ref("customer")] = None
    service_id: Annotated[EntityId | None, Ref("service")] = None
    assigned_to: Annotated[EntityId | None, Ref("user")] = Field(
        default=None, description="The sale's rep; default: the lead's owner, else you"
    )
    scheduled_at: Instant | None = None
    base_amount: Money | None = None
    discount: Money | None = None
    tax_rate: TaxRate | None = None
    notes: Notes | None = None


class Conversion(ApiModel):
    """A converted lead, the sale it became, and its customer (``customerCreated``: made by the conversion)."""

    lead: Lead
    sale: Sale
    customer_id: str
    customer_created: bool


class ConversationLeadRequest(ApiModel):
    """Turn a WhatsApp conversation into a lead: the contact's name and number come from the conversation."""

    interest_service_id: Annotated[EntityId | None, _SERVICE] = None
    estimated_value: Money | None = None
    owner_id: Annotated[EntityId | None, _OWNER] = None
    follow_up_at: Instant | None = None
    notes: Notes | None = None
