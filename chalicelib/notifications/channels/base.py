"""The interface every delivery channel implements, and the outbox mode used while a channel has no credentials."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.core.resources import SecretDef, secret_name
from chalicelib.core.secrets import find_json_secret

__all__ = [
    "OUTBOX",
    "OutboxSender",
    "OutgoingMessage",
    "SendResult",
    "Sender",
    "read_credentials",
]

OUTBOX = "outbox"


@dataclass(frozen=True)
class OutgoingMessage:
    """What a channel sends: rendered text (or an approved WhatsApp template) to one resolved address."""

    notification_id: str
    tenant_id: str
    channel: str
    to: str
    body: str
    subject: str | None = None
    whatsapp_template: dict[str, Any] | None = None
    urgent: bool = False
    push_subscriptions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class SendResult:
    """The provider that accepted the message and its id for it (status callbacks name that id)."""

    provider: str
    provider_message_id: str
    # The provider account that sent it (a Twilio AccountSid, a Meta phone number id): only a status report that
    # account vouches for may change the message (notifications.status). None where there is no such account.
    sent_by: str | None = None
    # Push endpoints the push service reported gone (410/404): the caller forgets them.
    gone_endpoints: tuple[str, ...] = ()


class Sender(Protocol):
    """A provider behind a channel."""

    name: str

    def send(self, message: OutgoingMessage) -> SendResult:
        """Hand ``message`` to the provider; raises ``integrations.http.ProviderError``."""
        ...


class OutboxSender:
    """Records instead of sending: the notification item keeps what would have gone out (status sent, provider
    ``outbox``). Used while a channel has no credentials, so nothing is silently dropped."""

    name = OUTBOX

    def send(self, message: OutgoingMessage) -> SendResult:
        """Nothing leaves: the message is already recorded on its notification."""
        return SendResult(OUTBOX, f"outbox-{message.notification_id}")


def read_credentials(secret: SecretDef) -> dict[str, Any] | None:
    """The platform's JSON credentials in ``secret``, or None while an operator has not created it (outbox mode).

    Any other failure (Secrets Manager unreachable, access denied) raises ``DependencyUnavailable``: a channel must
    not fall back to the outbox, and report a message sent, because a credential could not be read this once.
    """
    return find_json_secret(secret_name(secret))
