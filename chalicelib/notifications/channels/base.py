"""The interface every delivery channel implements, and the outbox mode used while a channel has no credentials."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.resources import SecretDef, secret_name

__all__ = [
    "OUTBOX",
    "OutboxSender",
    "OutgoingMessage",
    "ProviderError",
    "SendResult",
    "Sender",
    "check_provider_url",
    "read_credentials",
    "reset_credentials",
]

OUTBOX = "outbox"
_cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
_CREDENTIALS_MAX_AGE_S = 300.0


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
    # Push endpoints the push service reported gone (410/404): the caller forgets them.
    gone_endpoints: tuple[str, ...] = ()


class ProviderError(Exception):
    """Raised when a provider refuses or cannot take a message; ``retryable`` says whether trying later may work."""

    def __init__(self, message: str, *, retryable: bool, code: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class Sender(Protocol):
    """A provider behind a channel."""

    name: str

    def send(self, message: OutgoingMessage) -> SendResult:
        """Hand ``message`` to the provider; raises ``ProviderError``."""
        ...


class OutboxSender:
    """Records instead of sending: the notification item keeps what would have gone out (status sent, provider
    ``outbox``). Used while a channel has no credentials, so nothing is silently dropped."""

    name = OUTBOX

    def send(self, message: OutgoingMessage) -> SendResult:
        """Nothing leaves: the message is already recorded on its notification."""
        return SendResult(OUTBOX, f"outbox-{message.notification_id}")


def read_credentials(secret: SecretDef) -> dict[str, Any] | None:
    """The JSON credentials in ``secret``, or None while an operator has not created it (outbox mode).

    Any other failure (Secrets Manager unreachable, access denied) raises: a channel must not fall back to the
    outbox, and report a message sent, because a credential could not be read this once.
    """
    import time

    name = secret_name(secret)
    cached = _cache.get(name)
    if cached is not None and time.monotonic() - cached[0] < _CREDENTIALS_MAX_AGE_S:
        return cached[1]
    try:
        value = aws.secrets_manager().get_secret_value(SecretId=name)["SecretString"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise ProviderError(f"credentials {name} are not readable", retryable=True) from exc
        credentials = None
    else:
        credentials = json.loads(value)
    _cache[name] = (time.monotonic(), credentials)
    return credentials


def reset_credentials() -> None:
    """Forget cached credentials (after an operator changed them, or between tests)."""
    _cache.clear()


def check_provider_url(url: str) -> str:
    """``url`` if it is https, or plain-http loopback where the settings allow it (fake providers); else raises."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "http" and loopback and get_settings().notifications_allow_loopback:
        return url
    raise ProviderError(f"refusing to call {parts.scheme}://{parts.hostname}: only https", retryable=False)
