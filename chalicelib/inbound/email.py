"""Inbound email, posted by a mail relay as JSON signed the Standard Webhooks way (provider-neutral).

Why this format: any inbound-mail service (or a small SES → Lambda relay) can sign it with one shared
``whsec_`` secret, the signature covers id, timestamp and body, and the timestamp bounds replays to five
minutes. Headers ``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>.<body>">``; body ``{"messageId", "from", "to": [...], "cc"?: [...], "subject", "text"?, "html"?,
"receivedAt"?, "attachments"?: [{"filename", "contentType", "size", "url"?}]}``.

The tenant is the recipient ``<tenantId>[+tag]@<BTRIX_INBOUND_EMAIL_DOMAIN>``. The email goes to the
integrations queue once per ``webhook-id``; text and HTML are cut to 100 KB each to fit an SQS message.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.errors import MalformedRequest
from chalicelib.core.models import empty_list
from chalicelib.core.observability import logger
from chalicelib.core.resources import INBOUND_EMAIL_SECRET, QueueKind, secret_name
from chalicelib.core.secrets import get_secret
from chalicelib.inbound.receipts import Delivery, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted
from chalicelib.inbound.signatures import verify_standard_webhook
from chalicelib.inbound.tenants import existing_tenant, tenant_id_or_none

__all__ = ["MAX_PART_CHARS", "PROVIDER", "InboundEmail", "handle", "tenant_of"]

PROVIDER = "email"
MAX_PART_CHARS = 100_000


class Attachment(BaseModel):
    """An attachment the relay kept (stored by the relay; we get its name, type, size and where to fetch it)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    filename: str
    content_type: str = "application/octet-stream"
    size: int = Field(default=0, ge=0)
    url: str | None = None


class InboundEmail(BaseModel):
    """One received email as the relay posts it (fields we do not use are ignored)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    message_id: str = Field(min_length=1)
    from_: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1)
    cc: list[str] = Field(default_factory=empty_list)
    subject: str = ""
    text: str | None = None
    html: str | None = None
    received_at: str | None = None
    attachments: list[Attachment] = Field(default_factory=empty_list)


def _tenant_candidates(address: str) -> list[str]:
    local, _, domain = address.strip().strip("<>").rpartition("@")
    expected = get_settings().inbound_email_domain.lower()
    if not local or (expected and domain.lower() != expected):
        return []
    name = local.partition("+")[0]
    # Mail systems may lowercase the local part; our ids are upper-case ULIDs.
    return [c for c in dict.fromkeys((name, name.upper())) if tenant_id_or_none(c)]


def tenant_of(email: InboundEmail) -> str | None:
    """The tenant the email was sent to (the first recipient that names an existing tenant), or None."""
    for address in [*email.to, *email.cc]:
        for candidate in _tenant_candidates(address):
            if existing_tenant(candidate):
                return candidate
    return None


def _cut(part: str | None) -> tuple[str | None, bool]:
    if part is None or len(part) <= MAX_PART_CHARS:
        return part, False
    return part[:MAX_PART_CHARS], True


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Verify the relay's signature, route by recipient, record once per webhook-id, enqueue."""
    secret = get_secret(secret_name(INBOUND_EMAIL_SECRET))
    webhook_id = verify_standard_webhook(secret, request.headers, request.body, clock.to_epoch(clock.now()))
    try:
        email = InboundEmail.model_validate_json(request.body)
    except ValidationError as exc:
        raise MalformedRequest(detail="the email is not the JSON the relay format describes") from exc
    tenant_id = tenant_of(email)
    if tenant_id is None:
        logger.info("email for no tenant", extra={"webhookId": webhook_id})
        return accepted({"received": True, "recorded": 0})
    text, text_cut = _cut(email.text)
    html, html_cut = _cut(email.html)
    content = email.model_dump(mode="json", by_alias=True) | {
        "text": text,
        "html": html,
        "truncated": text_cut or html_cut,
    }
    body = {"type": "email.received", "provider": PROVIDER, "tenantId": tenant_id, "email": content}
    receipt = deliver_once(PROVIDER, Delivery(key=webhook_id, queue=QueueKind.INTEGRATIONS, body=body), context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})
