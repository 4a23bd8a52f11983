"""The events about webhooks themselves: an endpoint disabled, a message that ran out of attempts, a test message."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.webhooks.event_types.base import EventData, EventTypeDef

__all__ = [
    "ENDPOINT_DISABLED",
    "EVENTS",
    "MESSAGE_ATTEMPT_EXHAUSTED",
    "WEBHOOK_TEST",
    "EndpointDisabledData",
    "MessageAttemptExhaustedData",
    "WebhookTestData",
]


ENDPOINT_DISABLED = "endpoint.disabled"
MESSAGE_ATTEMPT_EXHAUSTED = "message.attempt.exhausted"
WEBHOOK_TEST = "webhook.test"


class EndpointDisabledData(EventData):
    """A webhook endpoint was disabled by BTRIX: it answered 410 Gone, or failed for 5 days in a row."""

    endpoint_id: str
    url: str
    reason: Literal["gone", "failing"]
    failing_since: str | None = None


class MessageAttemptExhaustedData(EventData):
    """A message could not be delivered to an endpoint after its last scheduled attempt."""

    endpoint_id: str
    message_id: str
    event_type: str
    attempts: int
    last_status: int | None = Field(default=None, description="HTTP status of the last answer; null: no answer")


class WebhookTestData(EventData):
    """A test message sent on request to check an endpoint."""

    endpoint_id: str
    message: str


EVENTS: tuple[EventTypeDef, ...] = (
    EventTypeDef(
        ENDPOINT_DISABLED, "A webhook endpoint was disabled (410 Gone, or 5 days of failures).", EndpointDisabledData
    ),
    EventTypeDef(
        MESSAGE_ATTEMPT_EXHAUSTED,
        "A message was not delivered to an endpoint after its last attempt.",
        MessageAttemptExhaustedData,
    ),
    EventTypeDef(WEBHOOK_TEST, "A test message (POST /webhook-endpoints/{id}/test).", WebhookTestData, "webhooks"),
)
