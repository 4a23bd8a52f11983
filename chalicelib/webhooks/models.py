"""Webhook models: endpoints (stored and shown), deliveries with their attempts, the catalog, queue messages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import Clearable, PatchRequest
from chalicelib.core.validation import HTTPS_URL_PATTERN
from chalicelib.webhooks.event_types import Origin

__all__ = [
    "AttemptMessage",
    "AttemptRecord",
    "AttemptTrigger",
    "CreateEndpointRequest",
    "Delivery",
    "DeliveryListQuery",
    "DeliveryRecord",
    "DeliveryStatus",
    "DisabledReason",
    "EndpointRecord",
    "EndpointWithSecret",
    "EventTypeInfo",
    "EventTypeList",
    "OutgoingMessage",
    "RequestExcerpt",
    "ResponseExcerpt",
    "UpdateEndpointRequest",
    "WebhookEndpoint",
    "WorkflowEmitMessage",
]

EventFilter = Annotated[str, StringConstraints(pattern=r"^[a-z_]+(\.[a-z_]+)*(\.\*|\.[a-z_]+)$", max_length=80)]
DisabledReason = Literal["manual", "gone", "failing"]
DeliveryStatus = Literal["pending", "succeeded", "failed"]
AttemptTrigger = Literal["scheduled", "replay"]

_FILTERS_DOC = (
    "Event types this endpoint receives (GET /webhook-event-types); `order.*` takes every order event; empty: "
    "every event"
)


class CreateEndpointRequest(ApiModel):
    """A new endpoint: where to send, which events, how fast."""

    url: str = Field(
        max_length=2048,
        description="https URL the messages are POSTed to; it must resolve to public addresses only",
        examples=["https://example.com/webhooks/btrix"],
        json_schema_extra={"pattern": HTTPS_URL_PATTERN},
    )
    description: str = Field(default="", max_length=500)
    event_types: list[EventFilter] = Field(
        default_factory=empty_list, max_length=50, description=_FILTERS_DOC, examples=[["order.*", "customer.created"]]
    )
    enabled: bool = True
    rate_limit: int | None = Field(
        default=None, ge=1, le=1000, description="At most this many messages a second to this endpoint; null: no limit"
    )


class UpdateEndpointRequest(PatchRequest):
    """Changes to an endpoint; ``version`` is the one the client read. Enabling clears the disabled reason."""

    version: int = Field(ge=1)
    url: str | None = Field(default=None, max_length=2048, json_schema_extra={"pattern": HTTPS_URL_PATTERN})
    description: str | None = Field(default=None, max_length=500)
    event_types: list[EventFilter] | None = Field(default=None, max_length=50, description=_FILTERS_DOC)
    enabled: bool | None = None
    rate_limit: Annotated[int | None, Clearable()] = Field(default=None, ge=1, le=1000, description="null: no limit")


class EndpointRecord(ApiModel):
    """An endpoint as stored: its signing secrets only encrypted (``core.crypto``)."""

    id: str
    tenant_id: str
    url: str
    description: str = ""
    event_types: list[str]
    enabled: bool
    rate_limit: int | None = None
    secret_encrypted: str
    previous_secret_encrypted: str | None = None
    previous_secret_expires_at: str | None = None
    secret_rotated_at: str | None = None
    disabled_reason: DisabledReason | None = None
    disabled_at: str | None = None
    failing_since: str | None = None
    created_at: str
    updated_at: str
    version: int = 1


class WebhookEndpoint(ApiModel):
    """An endpoint as the API shows it (never its secret)."""

    id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    rate_limit: int | None
    disabled_reason: DisabledReason | None = Field(
        description="manual; gone (it answered 410); failing (5 days of failed deliveries)"
    )
    disabled_at: str | None
    failing_since: str | None = Field(description="Start of the current run of failed deliveries")
    secret_rotated_at: str | None
    previous_secret_expires_at: str | None = Field(
        description="Until then messages are also signed with the previous secret"
    )
    created_at: str
    updated_at: str
    version: int

    @classmethod
    def of(cls, record: EndpointRecord) -> WebhookEndpoint:
        """The API view of a stored endpoint."""
        return cls.model_validate(
            record.model_dump(by_alias=False, exclude={"tenant_id", "secret_encrypted", "previous_secret_encrypted"})
        )


class EndpointWithSecret(WebhookEndpoint):
    """An endpoint with its signing secret: shown once, when created and when the secret is rotated."""

    secret: str = Field(description="whsec_<base64>: verify the webhook-signature header with it; shown only now")


class RequestExcerpt(ApiModel):
    """What was sent: the URL, the Standard Webhooks headers and the start of the body."""

    url: str
    headers: dict[str, str]
    body: str = Field(description="The first 2 KB of the body")


class ResponseExcerpt(ApiModel):
    """What came back."""

    status: int
    body: str = Field(description="The first 2 KB of the body")


class AttemptRecord(ApiModel):
    """One attempt to deliver a message."""

    number: int = Field(ge=1, description="Attempt number (1 = the first send)")
    trigger: AttemptTrigger
    at: str
    duration_ms: int
    succeeded: bool
    request: RequestExcerpt | None = Field(description="null when the target was refused before sending")
    response: ResponseExcerpt | None = Field(description="null when no answer came (timeout, refused)")
    error: str | None = None


class DeliveryRecord(ApiModel):
    """A message to one endpoint, as stored (id = message id = webhook-id, the same on every attempt)."""

    id: str
    tenant_id: str
    endpoint_id: str
    event_type: str
    subject: str | None = None
    occurred_at: str
    payload: str
    status: DeliveryStatus
    attempt_count: int = 0
    next_attempt: int | None = 1
    next_attempt_at: str | None = None
    final_attempt: int
    next_trigger: AttemptTrigger = "scheduled"
    failure_reason: str | None = None
    attempts: list[AttemptRecord] = Field(default_factory=empty_list)
    lease_id: str | None = None
    lease_until: int | None = None
    created_at: str
    updated_at: str


class Delivery(ApiModel):
    """A message to one endpoint and its attempts (newest last)."""

    id: str = Field(description="The message id: the webhook-id header, the same on every attempt")
    endpoint_id: str
    event_type: str
    subject: str | None
    occurred_at: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: str | None = Field(description="When the next attempt is due (pending only)")
    failure_reason: str | None
    attempts: list[AttemptRecord]
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, record: DeliveryRecord) -> Delivery:
        """The API view of a stored delivery."""
        return cls.model_validate(
            record.model_dump(
                by_alias=False,
                include={
                    "id",
                    "endpoint_id",
                    "event_type",
                    "subject",
                    "occurred_at",
                    "status",
                    "attempt_count",
                    "next_attempt_at",
                    "failure_reason",
                    "attempts",
                    "created_at",
                    "updated_at",
                },
            )
        )


class DeliveryListQuery(PageParams):
    """The query of an endpoint's delivery log."""


class EventTypeInfo(ApiModel):
    """One event type of the catalog."""

    type: str = Field(examples=["order.created"])
    description: str
    origin: Origin = Field(description="domain: a change in BTRIX; workflow: a status flow's emit_webhook action")
    data_schema: dict[str, Any] = Field(description="JSON Schema of the message's data")


class EventTypeList(ApiModel):
    """The whole catalog (it is small and the same for every tenant)."""

    items: list[EventTypeInfo]


class OutgoingMessage(ApiModel):
    """An event on its way to the tenant's endpoints (from the bus, or from a workflow action)."""

    id: str
    type: str
    tenant_id: str
    occurred_at: str
    subject: str | None = None
    data: dict[str, Any]


class WorkflowEmitMessage(ApiModel):
    """A workflow ``emit_webhook`` action as the state machine puts it on the webhook-deliveries queue."""

    model_config = ConfigDict(extra="ignore")

    source: Literal["workflow"]
    action: Literal["emit_webhook"]
    tenant_id: str
    entity_type: str
    entity_id: str
    status: str
    execution_id: str
    state: str
    entered_at: str
    event: str


class AttemptMessage(ApiModel):
    """One attempt of one delivery, due at ``dueAt`` (epoch seconds); chained while SQS's 15-minute delay cap
    keeps it from waiting longer in one go."""

    tenant_id: str
    endpoint_id: str
    delivery_id: str
    attempt: int = Field(ge=1)
    due_at: float
