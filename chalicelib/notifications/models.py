"""Notification models: the stored message and its API view, templates, preferences, settings, queue jobs."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import EmailStr, Field, StringConstraints, field_validator, model_validator

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.pagination import PageParams
from chalicelib.core.personal_data import PERSONAL
from chalicelib.core.references import Ref
from chalicelib.core.validation import HTTPS_URL_PATTERN, E164Phone, Instant, LocaleTag

__all__ = [
    "CHANNELS",
    "DELIVERED_STATUSES",
    "Category",
    "Channel",
    "CreateNotificationRequest",
    "MarketingConsents",
    "Notification",
    "NotificationListQuery",
    "NotificationPreferences",
    "NotificationRecord",
    "NotificationSettings",
    "NotificationStatus",
    "NotificationTemplate",
    "PushKey",
    "PushKeyName",
    "PushSubscription",
    "PushSubscriptionRecord",
    "PushSubscriptionRequest",
    "PutPreferencesRequest",
    "PutSettingsRequest",
    "PutTemplateRequest",
    "QuietHours",
    "SendJob",
    "StoredPreferences",
    "TemplateListQuery",
    "TemplateVariable",
    "TemplateVariant",
    "WhatsAppTemplate",
    "WorkflowNotifyJob",
]

Channel = Literal["email", "sms", "whatsapp", "push"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "whatsapp", "push")
NotificationStatus = Literal["queued", "sending", "sent", "delivered", "read", "failed"]
# Statuses a provider's callback may report after the send; each one only moves a notification forward.
DELIVERED_STATUSES: tuple[NotificationStatus, ...] = ("sent", "delivered", "read")
Category = Literal["transactional", "marketing"]
TemplateKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", max_length=80)]
VariableName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=40)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
REDACTED = "[redacted]"


class NotificationRecord(ApiModel):
    """A message as stored: whom it is for, what it says, and how its delivery went."""

    id: str
    tenant_id: str
    channel: Channel
    to: str = Field(description="As requested: customer:<id>, user:<id>, role:ADMIN, or an address")
    recipient_kind: Literal["customer", "user", "role", "address"]
    recipient_id: str | None = None
    address: Annotated[str | None, PERSONAL] = Field(default=None, description="Email, phone or push endpoint")
    template: str | None = None
    locale: str
    variables: dict[str, Any] = Field(default_factory=dict)
    subject: str | None = None
    text: str | None = Field(default=None, description="Plain text of an ad hoc message (no template)")
    body: Annotated[str | None, PERSONAL] = Field(default=None, description="What was sent, rendered")
    whatsapp_template: dict[str, Any] | None = None
    category: Category = "transactional"
    urgent: bool = False
    secret_variables: list[str] = Field(default_factory=empty_list)
    fallback_from: Channel | None = None
    status: NotificationStatus = "queued"
    attempts: int = 0
    provider: str | None = None
    provider_message_id: str | None = None
    last_error: str | None = None
    scheduled_for: str | None = None
    sending_since: str | None = None
    source: Literal["port", "workflow", "api"] = "port"
    parent_id: str | None = None
    created_at: str
    updated_at: str
    sent_at: str | None = None
    delivered_at: str | None = None
    read_at: str | None = None
    failed_at: str | None = None
    version: int = 1


class Notification(ApiModel):
    """A notification as the API shows it; one-time codes and links are redacted."""

    id: str
    channel: Channel
    to: str
    recipient_kind: Literal["customer", "user", "role", "address"]
    recipient_id: str | None = None
    address: str | None = None
    template: str | None = None
    locale: str
    variables: dict[str, Any]
    subject: str | None = None
    body: str | None = None
    category: Category
    urgent: bool
    fallback_from: Channel | None = None
    status: NotificationStatus
    attempts: int
    provider: str | None = Field(default=None, description="outbox: no credentials, recorded instead of sent")
    provider_message_id: str | None = None
    last_error: str | None = None
    scheduled_for: str | None = None
    created_at: str
    updated_at: str
    sent_at: str | None = None
    delivered_at: str | None = None
    read_at: str | None = None
    failed_at: str | None = None

    @classmethod
    def of(cls, record: NotificationRecord) -> Notification:
        """The API view: secret variables (one-time codes, links) and a body that contains them are redacted."""
        hidden = set(record.secret_variables)
        fields = record.model_dump(by_alias=False, include=set(cls.model_fields) - {"variables", "body"})
        variables = {name: REDACTED if name in hidden else value for name, value in record.variables.items()}
        body = REDACTED if hidden and record.body else record.body
        return cls(**fields, variables=variables, body=body)


class NotificationListQuery(PageParams):
    """Notifications newest first; narrow by ONE of status, channel or recipient, and by time."""

    status: NotificationStatus | None = None
    channel: Channel | None = None
    recipient: str | None = Field(
        default=None,
        max_length=320,
        description="customer:<id>, user:<id>, or an email/phone address",
        examples=["customer:01J9Z7Q8M4"],
    )
    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None

    @model_validator(mode="after")
    def _one_narrowing(self) -> Self:
        narrowing = [name for name in ("status", "channel", "recipient") if getattr(self, name) is not None]
        if len(narrowing) > 1:
            raise ValueError(f"narrow by one of status, channel, recipient (got {', '.join(narrowing)})")
        return self


class CreateNotificationRequest(ApiModel):
    """An ad hoc message: to a customer, a user or a raw address; a template with variables or plain text."""

    channel: Channel
    customer_id: Annotated[EntityId | None, Ref("customer")] = None
    user_id: Annotated[EntityId | None, Ref("user")] = None
    address: str | None = Field(default=None, max_length=320, description="An email or an E.164 phone number")
    template: TemplateKey | None = None
    variables: dict[str, Any] = Field(default_factory=dict, max_length=50)
    text: str | None = Field(default=None, min_length=1, max_length=4096)
    subject: str | None = Field(default=None, max_length=200)
    locale: LocaleTag | None = None
    category: Category = "transactional"
    urgent: bool = Field(default=False, description="Urgent messages are sent during the tenant's quiet hours")

    @model_validator(mode="after")
    def _one_target_one_content(self) -> Self:
        targets = [n for n in ("customer_id", "user_id", "address") if getattr(self, n) is not None]
        if len(targets) != 1:
            raise ValueError("send to exactly one of customerId, userId, address")
        if (self.template is None) == (self.text is None):
            raise ValueError("give exactly one of template, text")
        return self


class WhatsAppTemplate(ApiModel):
    """An approved WhatsApp template (Meta: name + language + components; Twilio: its Content SID).

    Text parameters of the components may use the template's variables: ``{"type": "text", "text": "{{ code }}"}``.
    """

    name: str = Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")
    language: str = Field(min_length=2, max_length=10, pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$", examples=["pt_BR"])
    components: list[dict[str, Any]] = Field(default_factory=empty_list, max_length=10)
    twilio_content_sid: str | None = Field(default=None, pattern=r"^HX[0-9a-fA-F]{32}$")


class TemplateVariable(ApiModel):
    """A variable a template may use; ``secret`` ones (codes, links) are redacted in the API."""

    name: VariableName
    required: bool = True
    secret: bool = False
    description: str | None = Field(default=None, max_length=200)


class PutTemplateRequest(ApiModel):
    """One variant of a template: its channel and locale, text (jinja2, sandboxed) and declared variables."""

    channel: Channel
    locale: LocaleTag
    subject: str | None = Field(default=None, max_length=200, description="Email subject (may use variables)")
    body: str = Field(min_length=1, max_length=4096)
    variables: list[TemplateVariable] = Field(default_factory=empty_list, max_length=30)
    whatsapp_template: WhatsAppTemplate | None = Field(
        default=None, description="Sent outside the 24-hour window (WhatsApp only)"
    )
    category: Category = "transactional"
    urgent: bool = False

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.whatsapp_template is not None and self.channel != "whatsapp":
            raise ValueError("whatsappTemplate is for the whatsapp channel only")
        names = [v.name for v in self.variables]
        if len(names) != len(set(names)):
            raise ValueError("variables are declared once each")
        return self


class TemplateVariant(PutTemplateRequest):
    """A template variant as used: shipped by BTRIX (``default``) or the tenant's own."""

    source: Literal["default", "tenant"] = "default"
    updated_at: str | None = None


class NotificationTemplate(ApiModel):
    """A template key with its variants per channel and locale."""

    key: str
    variants: list[TemplateVariant]


class TemplateListQuery(PageParams):
    """Templates by key (shipped defaults merged with the tenant's own)."""


class QuietHours(ApiModel):
    """Hours in the tenant's time zone when non-urgent messages wait (``start`` may be after ``end``: overnight)."""

    start: Clock = Field(examples=["21:00"])
    end: Clock = Field(examples=["08:00"])

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self


class PutSettingsRequest(ApiModel):
    """The tenant's delivery settings."""

    quiet_hours: QuietHours | None = None
    sms_fallback: bool = Field(default=False, description="Outside the WhatsApp window and without a template: SMS")


class NotificationSettings(PutSettingsRequest):
    """The tenant's delivery settings as stored."""

    updated_at: str | None = None


class MarketingConsents(ApiModel):
    """Whether marketing may be sent on each channel now (``/customers/{id}/consents``)."""

    email: bool = False
    sms: bool = False
    whatsapp: bool = False


class PutPreferencesRequest(ApiModel):
    """A customer's choices: channels they opted out of (transactional too) and the language of their messages."""

    locale: LocaleTag | None = None
    opt_out: list[Channel] = Field(default_factory=empty_list, max_length=4)

    @field_validator("opt_out")
    @classmethod
    def _unique(cls, value: list[Channel]) -> list[Channel]:
        return list(dict.fromkeys(value))


class StoredPreferences(PutPreferencesRequest):
    """A customer's choices as stored beside the customer (their marketing consents are on the customer)."""

    updated_at: str | None = None


class NotificationPreferences(PutPreferencesRequest):
    """A customer's notification preferences, with their marketing consents."""

    customer_id: str
    marketing: MarketingConsents
    updated_at: str | None = None


_ENDPOINT = re.compile(r"^https?://[^\s]+$")


PushKeyName = Literal["p256dh", "auth"]


class PushSubscriptionRequest(ApiModel):
    """A browser's Web Push subscription (``PushSubscription.toJSON()``)."""

    endpoint: str = Field(
        max_length=1000,
        description="The push service's https URL (it must resolve to public addresses)",
        json_schema_extra={"pattern": HTTPS_URL_PATTERN},
    )
    keys: dict[PushKeyName, str] = Field(json_schema_extra={"required": ["p256dh", "auth"]})

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _ENDPOINT.match(value):
            raise ValueError("must be an https URL")
        return value

    @field_validator("keys")
    @classmethod
    def _both(cls, value: dict[str, str]) -> dict[str, str]:
        if set(value) != {"p256dh", "auth"}:
            raise ValueError("needs p256dh and auth")
        return value


class PushSubscription(ApiModel):
    """A stored Web Push subscription of a user."""

    id: str
    endpoint: str
    created_at: str


class PushSubscriptionRecord(PushSubscription):
    """A user's Web Push subscription as stored: with the keys its messages are encrypted for (never shown)."""

    keys: dict[PushKeyName, str]

    def view(self) -> PushSubscription:
        """The API view of the stored subscription."""
        return PushSubscription(id=self.id, endpoint=self.endpoint, created_at=self.created_at)

    def wire(self) -> dict[str, Any]:
        """The subscription as the browser gave it (``PushSubscription.toJSON()``), what a Web Push send reads."""
        return {"endpoint": self.endpoint, "keys": dict(self.keys)}


class PushKey(ApiModel):
    """The VAPID public key browsers subscribe with (``applicationServerKey``)."""

    public_key: str


class SendJob(ApiModel):
    """A message of the notifications queue asking to deliver one notification."""

    kind: Literal["send"] = "send"
    tenant_id: str
    notification_id: str


class WorkflowNotifyJob(ApiModel):
    """A workflow ``notify`` on-enter action as the state machine puts it on the notifications queue."""

    model_config = ApiModel.model_config | {"extra": "ignore"}

    source: Literal["workflow"]
    action: Literal["notify"]
    tenant_id: str
    entity_type: str
    entity_id: str
    status: str
    execution_id: str
    state: str
    entered_at: str
    template: str
    channel: Channel
    to: Literal["customer", "assigned_user", "tenant_admins"]


class AddressCheck(ApiModel):
    """Validates a raw address for its channel."""

    email: EmailStr | None = None
    phone: E164Phone | None = None
