"""The shop assistant of a WhatsApp number: its configuration, a customer's cart and memory, the tools' arguments,
and what a brain answers (texts and WhatsApp interactive messages)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, StringConstraints, field_validator, model_validator

from chalicelib.channels.models import TemplateRef
from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.money import Money
from chalicelib.core.personal_data import PERSONAL
from chalicelib.payments.models import LINK_MINUTES_DEFAULT

__all__ = [
    "LANGUAGES",
    "AddToCartArgs",
    "Answer",
    "AssistantConfig",
    "AssistantConfigRecord",
    "AssistantConfigRequest",
    "AssistantMode",
    "BusinessHours",
    "CartLine",
    "CartRecord",
    "CheckoutArgs",
    "FollowUpKind",
    "FollowUpRecord",
    "FollowUps",
    "GetProductArgs",
    "HandoffArgs",
    "Language",
    "LlmSettings",
    "LlmSettingsRequest",
    "MemoryRecord",
    "NoArgs",
    "OrderStatusArgs",
    "ReminderTemplate",
    "RemoveFromCartArgs",
    "Reply",
    "SearchProductsArgs",
    "Turn",
    "WeeklyHours",
]

# gateway: every message to Bitrix24 (no assistant); assistant: the assistant answers and BTRIX agents take over
# (GET /conversations shows needs_human); assistant_then_gateway: the assistant answers and a handover opens the
# Bitrix24 Open Lines chat with the summary and the cart.
AssistantMode = Literal["gateway", "assistant", "assistant_then_gateway"]
Language = Literal["pt-BR", "en-US", "es-ES", "da-DK"]
LANGUAGES: tuple[Language, ...] = ("pt-BR", "en-US", "es-ES", "da-DK")
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Keyword = Annotated[str, StringConstraints(min_length=2, max_length=40, strip_whitespace=True)]


class WeeklyHours(ApiModel):
    """The hours a human is there on one day of the week (local time)."""

    day: Day
    opens: Clock = Field(description="HH:MM")
    closes: Clock = Field(description="HH:MM, after opens")

    @model_validator(mode="after")
    def _ordered(self) -> WeeklyHours:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        return self


class BusinessHours(ApiModel):
    """When humans answer: outside these hours a handover tells the customer when someone will be back."""

    time_zone: str = Field(min_length=1, max_length=64, description="IANA time zone, e.g. America/Sao_Paulo")
    weekly: list[WeeklyHours] = Field(default_factory=empty_list, max_length=21)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # a folder such as "America" is OSError
            raise ValueError(f"{zone!r} is not an IANA time zone") from None
        return zone


class LlmSettingsRequest(ApiModel):
    """An OpenAI-compatible chat-completions endpoint (``<baseUrl>/v1/chat/completions``)."""

    base_url: str = Field(min_length=8, max_length=300, description="https://… (the provider's API base)")
    model: str = Field(min_length=1, max_length=100)
    api_key: SecretStr | None = Field(
        default=None, max_length=500, description="Stored encrypted, never shown; left out: the stored key is kept"
    )


class LlmSettings(ApiModel):
    """The LLM of the assistant (its key is never shown)."""

    base_url: str
    model: str
    api_key_set: bool


# What a follow-up template's parameters may name: filled in when the reminder is sent.
TEMPLATE_FIELDS = ("customer", "orderNumber", "total", "link", "expiresAt", "items")
_FIELD_REFERENCE = re.compile(r"\{([^{}]*)\}")
# A checkout's payment link lives this long (``payments``): its reminder must come before.
LINK_LIFETIME_S = LINK_MINUTES_DEFAULT * 60
DEFAULT_CHECKOUT_REMINDER_S = 1800
DEFAULT_ABANDONED_CART_S = 3600


class ReminderTemplate(TemplateRef):
    """An approved WhatsApp template a follow-up sends when the customer's 24-hour window is closed."""

    params: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=empty_list,
        max_length=10,
        description="The body's parameters in order; each may name {customer}, {orderNumber}, {total}, {link},"
        " {expiresAt} (a checkout's) or {items} (the cart's lines)",
    )

    @field_validator("params")
    @classmethod
    def _known_fields(cls, params: list[str]) -> list[str]:
        for param in params:
            unknown = [name for name in _FIELD_REFERENCE.findall(param) if name not in TEMPLATE_FIELDS]
            if unknown:
                raise ValueError(f"unknown field {{{unknown[0]}}}; use one of {', '.join(TEMPLATE_FIELDS)}")
        return params


class FollowUps(ApiModel):
    """The assistant's reminders. Inside the customer's 24-hour window it writes; outside it only its template goes
    (none: nothing is sent). A customer's message, a payment, a handover or the link expiring calls one off."""

    checkout_reminder_seconds: int | None = Field(
        default=DEFAULT_CHECKOUT_REMINDER_S,
        ge=1,
        lt=LINK_LIFETIME_S,
        description="After a checkout whose link is not paid, remind the customer (telling when the link expires)"
        " this long after it was sent; under the link's hour; null: never",
    )
    abandoned_cart_seconds: int | None = Field(
        default=DEFAULT_ABANDONED_CART_S,
        ge=1,
        le=7 * 24 * 3600,
        description="A customer silent this long with a cart that is not empty gets one reminder; null: never",
    )
    checkout_template: ReminderTemplate | None = Field(
        default=None, description="The checkout reminder outside the 24-hour window (none: not sent there)"
    )
    cart_template: ReminderTemplate | None = Field(
        default=None, description="The abandoned-cart reminder outside the 24-hour window (none: not sent there)"
    )


class AssistantConfigRequest(ApiModel):
    """The assistant of a number. ``llm`` null: the deterministic assistant (menus, buttons and commands)."""

    mode: AssistantMode
    persona: str | None = Field(default=None, max_length=4000, description="The LLM's instructions (who it is)")
    language: Language | None = Field(default=None, description="Default: the tenant's locale")
    business_hours: BusinessHours | None = None
    greeting: str | None = Field(default=None, max_length=1000)
    handover_keywords: list[Keyword] = Field(
        default_factory=empty_list,
        max_length=20,
        description="Words that hand the chat to a human (besides the defaults)",
    )
    llm: LlmSettingsRequest | None = None
    follow_ups: FollowUps = Field(default_factory=FollowUps)

    @field_validator("handover_keywords")
    @classmethod
    def _folded(cls, words: list[str]) -> list[str]:
        return sorted({w.casefold() for w in words})


class AssistantConfig(ApiModel):
    """The shop assistant of a WhatsApp number."""

    channel_id: str
    mode: AssistantMode
    persona: str | None = None
    language: Language
    business_hours: BusinessHours | None = None
    greeting: str | None = None
    handover_keywords: list[str]
    llm: LlmSettings | None = None
    follow_ups: FollowUps
    updated_at: str
    version: int


class AssistantConfigRecord(ApiModel):
    """The assistant of a number as stored (the LLM key only encrypted)."""

    tenant_id: str
    channel_id: str
    mode: AssistantMode = "gateway"
    persona: str | None = None
    language: Language = "pt-BR"
    business_hours: BusinessHours | None = None
    greeting: str | None = None
    handover_keywords: list[str] = Field(default_factory=empty_list)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key_encrypted: str | None = None
    follow_ups: FollowUps = Field(default_factory=FollowUps)
    updated_at: str
    updated_by: str | None = None
    version: int = 1

    def view(self) -> AssistantConfig:
        """The API shape."""
        llm = None
        if self.llm_base_url and self.llm_model:
            llm = LlmSettings(
                base_url=self.llm_base_url, model=self.llm_model, api_key_set=bool(self.llm_api_key_encrypted)
            )
        return AssistantConfig(
            channel_id=self.channel_id,
            mode=self.mode,
            persona=self.persona,
            language=self.language,
            business_hours=self.business_hours,
            greeting=self.greeting,
            handover_keywords=self.handover_keywords,
            llm=llm,
            follow_ups=self.follow_ups,
            updated_at=self.updated_at,
            version=self.version,
        )


class CartLine(ApiModel):
    """A line of a customer's cart: the catalog's name, code and price when it was added."""

    product_id: str
    code: str
    name: str
    quantity: int
    unit_price: Money


class CartRecord(ApiModel):
    """A customer's cart in one conversation (TTL): it survives a handover and is shown to the operator."""

    tenant_id: str
    conversation_id: str
    lines: list[CartLine] = Field(default_factory=empty_list)
    order_id: str | None = None
    order_number: int | None = None
    payment_url: str | None = None
    link_expires_at: str | None = None
    checked_out_at: str | None = None
    # The last customer messages whose tool effects the cart holds: a redelivered turn does not apply them again.
    applied: list[str] = Field(default_factory=empty_list)
    updated_at: str
    version: int = 0


# checkout: a payment link sent and not paid; cart: a customer silent with a cart that is not empty.
FollowUpKind = Literal["checkout", "cart"]


class FollowUpRecord(ApiModel):
    """The conversation's pending reminder: ``token`` names the timer that may send it (a timer with another token
    is obsolete); ``due_at`` when (a later message moves it, the timer waits again); ``sent_at`` once sent."""

    tenant_id: str
    conversation_id: str
    kind: FollowUpKind
    token: str
    due_at: str
    order_id: str | None = None
    sent_at: str | None = None
    armed_at: str


class Turn(ApiModel):
    """One exchange kept in the conversation's memory."""

    role: Literal["customer", "assistant"]
    text: str


class MemoryRecord(ApiModel):
    """What the assistant remembers of a conversation (TTL): the last turns, a summary of older ones, failures."""

    tenant_id: str
    conversation_id: str
    turns: Annotated[list[Turn], PERSONAL] = Field(default_factory=empty_list)
    summary: Annotated[str | None, PERSONAL] = None
    failures: int = 0
    updated_at: str
    version: int = 0


# --- the tools' arguments (what a brain, or the LLM, asks for) -------------------------------------------------


class _Args(ApiModel):
    """Arguments of a tool: unknown fields refused."""


class NoArgs(_Args):
    """A tool without arguments."""


class SearchProductsArgs(_Args):
    """search_products: active products whose name starts with ``query`` (all when absent)."""

    query: str | None = Field(default=None, max_length=60)
    limit: int = Field(default=10, ge=1, le=10)


class GetProductArgs(_Args):
    """get_product: one product by id or by code."""

    product_id: EntityId | None = None
    code: str | None = Field(default=None, max_length=20)


class AddToCartArgs(_Args):
    """add_to_cart: a quantity of an active product that has the stock."""

    product_id: EntityId
    quantity: int = Field(default=1, ge=1, le=50)


class RemoveFromCartArgs(_Args):
    """remove_from_cart: a quantity of a product in the cart (all of it when absent)."""

    product_id: EntityId
    quantity: int | None = Field(default=None, ge=1, le=50)


class CheckoutArgs(_Args):
    """checkout: the cart becomes an order, and the order gets a payment link."""


class OrderStatusArgs(_Args):
    """order_status: an order of this customer (the last checkout's when absent)."""

    order_id: EntityId | None = None


class HandoffArgs(_Args):
    """handoff_to_human: a person takes the chat."""

    reason: str | None = Field(default=None, max_length=300)


# --- what a brain answers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One WhatsApp message to the customer: a text, or an interactive message (``interactive`` is Meta's object;
    ``text`` its body, what the conversation's log shows)."""

    text: str
    interactive: dict[str, Any] | None = None


@dataclass
class Answer:
    """What a brain made of one customer message: the replies, the tools it ran, and a handover if one was asked."""

    replies: list[Reply] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    handover: str | None = None
    failed: bool = False
    tokens: int = 0
