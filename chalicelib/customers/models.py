"""Customer models: the stored record (document encrypted), the API view, and the requests that change it."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BeforeValidator, EmailStr, Field, StringConstraints, field_validator

from chalicelib.core.address import Address
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.money import Money
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import Clearable, PatchRequest
from chalicelib.core.personal_data import PERSONAL
from chalicelib.core.text import fold
from chalicelib.core.validation import E164Phone

__all__ = [
    "CHANNEL_PURPOSES",
    "PURPOSES",
    "Address",
    "ChannelPurpose",
    "Consent",
    "ConsentChanges",
    "ConsentHistoryQuery",
    "ConsentMethod",
    "ConsentRecord",
    "Consents",
    "CreateCustomerRequest",
    "Customer",
    "CustomerConsents",
    "CustomerListQuery",
    "CustomerRecord",
    "CustomerStats",
    "DocumentType",
    "Purpose",
    "RecordConsentRequest",
    "UpdateCustomerRequest",
]

DocumentType = Literal["cpf", "cnpj", "tax_id"]
MAX_TAGS = 20


def _named(name: str) -> str:
    # Names are sorted and searched by their folded form, which must not be empty (it is part of a key).
    if not any(ch.isalnum() for ch in fold(name)):
        raise ValueError("must contain a letter or a digit")
    return name


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Document = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


Email = Annotated[EmailStr, BeforeValidator(_lower)]


Purpose = Literal["marketing", "transactional", "email", "sms", "whatsapp"]
ConsentMethod = Literal["form", "whatsapp_keyword", "api"]
PURPOSES: tuple[Purpose, ...] = ("marketing", "transactional", "email", "sms", "whatsapp")
ChannelPurpose = Literal["email", "sms", "whatsapp"]
CHANNEL_PURPOSES: tuple[ChannelPurpose, ...] = ("email", "sms", "whatsapp")
PolicyVersion = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Evidence = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Consent(ApiModel):
    """The customer's current answer for one purpose: given or withdrawn, when, how and under which policy."""

    granted: bool
    updated_at: str
    method: ConsentMethod | None = Field(default=None, description="How it was given or withdrawn (older: absent)")
    policy_version: str | None = Field(default=None, description="The privacy policy the customer answered")


class Consents(ApiModel):
    """The customer's consents per purpose (absent: never asked). ``email``/``sms``/``whatsapp``: marketing on that
    channel; ``marketing``: marketing as a whole (ads and analytics; withdrawn, it stops marketing on every channel);
    ``transactional``: service messages about their own orders and bookings (only a withdrawal counts)."""

    marketing: Consent | None = None
    transactional: Consent | None = None
    email: Consent | None = None
    sms: Consent | None = None
    whatsapp: Consent | None = None


class ConsentChanges(ApiModel):
    """Consents to record (method ``api``); each one whose answer changes is stamped with the time and kept in the
    customer's consent history."""

    marketing: bool | None = None
    transactional: bool | None = None
    email: bool | None = None
    sms: bool | None = None
    whatsapp: bool | None = None


class RecordConsentRequest(ApiModel):
    """A consent given or withdrawn, with how it was collected and the policy version the customer saw."""

    purpose: Purpose
    granted: bool
    method: ConsentMethod = "api"
    policy_version: PolicyVersion | None = None
    evidence: Evidence | None = Field(
        default=None, description="What proves it: the form's URL, the keyword the customer sent, a note"
    )


class ConsentRecord(ApiModel):
    """One entry of a customer's consent history (kept when the answer changes, never rewritten)."""

    id: str
    customer_id: Annotated[str, PERSONAL]
    purpose: Purpose
    granted: bool
    method: ConsentMethod
    policy_version: str | None = None
    evidence: Annotated[str | None, PERSONAL] = None
    recorded_by: str = Field(description="The user who recorded it, or system (a WhatsApp keyword)")
    at: str


class CustomerConsents(ApiModel):
    """A customer's current consents, and for each purpose whether it may be used now."""

    customer_id: str
    consents: Consents
    allowed: dict[Purpose, bool] = Field(description="Whether BTRIX may use each purpose now (the rules applied)")


class ConsentHistoryQuery(PageParams):
    """The consent history, newest first."""


class CustomerStats(ApiModel):
    """Kept current by orders: how many, how much in total, the latest one."""

    orders_count: int
    total_spent: Money
    last_order_at: str | None = None


class CustomerRecord(ApiModel):
    """A customer as stored: the document only encrypted, with its keyed hash and last digits."""

    id: str
    tenant_id: str
    name: Annotated[str, PERSONAL]
    email: Annotated[str | None, PERSONAL] = None
    phone: Annotated[str | None, PERSONAL] = None
    document_type: DocumentType | None = None
    document_encrypted: Annotated[str | None, PERSONAL] = None
    document_hash: str | None = None
    document_last4: str | None = None
    address: Annotated[Address | None, PERSONAL] = None
    tags: list[str] = Field(default_factory=empty_list)
    consents: Consents = Field(default_factory=Consents)
    notes: Annotated[str | None, PERSONAL] = None
    currency: str
    orders_count: int = 0
    total_spent_amount: Decimal = Decimal(0)
    last_order_at: str | None = None
    billy_contact_id: str | None = None
    created_at: str
    updated_at: str
    version: int = 1


class Customer(ApiModel):
    """A customer as the API shows it (the document masked)."""

    id: str
    tenant_id: str
    name: str
    email: str | None = None
    phone: str | None = None
    document_type: DocumentType | None = None
    document_masked: str | None = Field(default=None, description="Last digits of the CPF/CNPJ/tax id")
    address: Address | None = None
    tags: list[str]
    consents: Consents
    notes: str | None = None
    stats: CustomerStats
    billy_contact_id: str | None = Field(
        default=None, description="The customer's contact in Billy.dk, made when a first sale of theirs was invoiced"
    )
    created_at: str
    updated_at: str
    version: int

    @classmethod
    def of(cls, record: CustomerRecord) -> Customer:
        """The API view of a stored customer."""
        stats = CustomerStats(
            orders_count=record.orders_count,
            total_spent=Money.of(record.total_spent_amount, record.currency),
            last_order_at=record.last_order_at,
        )
        fields = record.model_dump(
            by_alias=False,
            include={"id", "tenant_id", "name", "email", "phone", "document_type", "tags", "notes", "billy_contact_id"},
        )
        fields.update(created_at=record.created_at, updated_at=record.updated_at, version=record.version)
        return cls(
            **fields,
            document_masked=f"****{record.document_last4}" if record.document_last4 else None,
            address=record.address,
            consents=record.consents,
            stats=stats,
        )


def _unique_tags(tags: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for tag in tags:
        if fold(tag) not in seen:
            seen.add(fold(tag))
            kept.append(tag)
    return kept


Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS, description=f"At most {MAX_TAGS}; repeats are dropped")]


class CreateCustomerRequest(ApiModel):
    """A new customer; email and phone are unique in the tenant. ``document``: CPF or CNPJ in Brazil."""

    name: Name
    email: Email | None = None
    phone: E164Phone | None = None
    document: Document | None = None
    address: Address | None = None
    tags: Tags = Field(default_factory=empty_list)
    consents: ConsentChanges | None = None
    notes: Notes | None = None

    _name = field_validator("name")(_named)
    _tags = field_validator("tags")(_unique_tags)


class UpdateCustomerRequest(PatchRequest):
    """Changes to a customer; ``version`` is the one the client read. Null clears email, phone, document,
    address or notes; ``tags`` replaces the tags; ``consents`` changes only the channels it names."""

    version: int = Field(ge=1)
    name: Name | None = None
    email: Annotated[Email | None, Clearable()] = None
    phone: Annotated[E164Phone | None, Clearable()] = None
    document: Annotated[Document | None, Clearable()] = None
    address: Annotated[Address | None, Clearable()] = None
    tags: Tags | None = None
    consents: ConsentChanges | None = None
    notes: Annotated[Notes | None, Clearable()] = None

    _name = field_validator("name")(lambda name: name if name is None else _named(name))
    _tags = field_validator("tags")(lambda tags: tags if tags is None else _unique_tags(tags))


def _international(value: object) -> object:
    # In a query string an unencoded "+" arrives as a space; a number without it is read as international.
    if isinstance(value, str):
        value = value.strip()
        return value if value.startswith("+") else f"+{value}"
    return value


class CustomerListQuery(PageParams):
    """Customers newest first, or one found by exact email or phone, or by a name prefix (``q``)."""

    email: Email | None = None
    phone: Annotated[E164Phone, BeforeValidator(_international)] | None = None
    q: str | None = Field(default=None, min_length=1, max_length=120, description="Name prefix, e.g. jo → João")
