"""Delivery channels: which provider sends a message on each channel, or the outbox while it has no credentials.

| channel  | provider                                              | credentials (Secrets Manager)   | without them |
|----------|-------------------------------------------------------|---------------------------------|--------------|
| email    | SES v2 (``email_provider=ses``) or SMTP (``smtp``)    | the role / ``smtp``; sender     | outbox       |
| sms      | Twilio                                                | ``twilio``                      | outbox       |
| whatsapp | Meta Cloud API (``whatsapp_provider=meta``) or Twilio | ``meta-whatsapp`` / ``twilio``  | outbox       |
| push     | Web Push (VAPID)                                      | ``web-push-vapid-key`` (ours)   | always on    |

A tenant's own accounts come first: WhatsApp from its first connected number (``POST /channels/whatsapp``: routed,
so Meta's status reports find their way back; each message is also kept in the customer's conversation and shown to
the operators in its Bitrix24 chat), else its ``twilio`` integration with a ``whatsappFrom``; SMS from its
``twilio`` integration with an ``smsFrom`` (status callbacks carry ``?tenant=``). Then the platform's credentials.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.config import get_settings
from chalicelib.core.resources import META_WHATSAPP_CREDENTIALS, TWILIO_CREDENTIALS
from chalicelib.notifications.channels.base import (
    OUTBOX,
    OutboxSender,
    OutgoingMessage,
    Sender,
    SendResult,
    read_credentials,
)

__all__ = ["OUTBOX", "OutgoingMessage", "SendResult", "Sender", "sender_for"]


def sender_for(channel: str, tenant_id: str | None = None) -> Sender:
    """The provider that sends on ``channel`` now (for ``tenant_id``: its own account first), or the outbox when no
    credentials are there. Raises ``DependencyUnavailable`` when credentials cannot be read this time."""
    settings = get_settings()
    own = _tenant_sender(channel, tenant_id) if tenant_id else None
    if own is not None:
        return own
    if channel == "email":
        if not settings.email_from or (settings.email_provider == "smtp" and not settings.smtp_host):
            return OutboxSender()
        from chalicelib.notifications.channels.email import SesSender, SmtpSender

        return SmtpSender() if settings.email_provider == "smtp" else SesSender()
    if channel == "push":
        from chalicelib.notifications.channels.webpush import WebPushSender

        return WebPushSender()
    if channel == "whatsapp" and settings.whatsapp_provider == "meta":
        meta = read_credentials(META_WHATSAPP_CREDENTIALS)
        if meta is None:
            return OutboxSender()
        from chalicelib.notifications.channels.meta import MetaSender

        return MetaSender(meta)
    twilio = read_credentials(TWILIO_CREDENTIALS)
    if twilio is None:
        return OutboxSender()
    from chalicelib.notifications.channels.twilio import TwilioSender

    return TwilioSender(twilio)


def _tenant_sender(channel: str, tenant_id: str) -> Sender | None:
    """The tenant's own account for ``channel`` (see the module's description), or None."""
    from chalicelib.integrations.credentials import Provider
    from chalicelib.integrations.service import find_credentials
    from chalicelib.integrations.twilio.credentials import TwilioCredentials

    if channel not in ("whatsapp", "sms"):
        return None
    if channel == "whatsapp":
        from chalicelib.channels.service import notification_number
        from chalicelib.notifications.channels.meta import OwnNumberSender

        found = notification_number(tenant_id)
        if found is not None:
            channel_id, number = found
            credentials = {"phoneNumberId": number.phone_number_id, "accessToken": number.access_token}
            return OwnNumberSender(credentials, tenant_id=tenant_id, channel_id=channel_id)
    twilio = find_credentials(tenant_id, Provider.TWILIO)
    if not isinstance(twilio, TwilioCredentials) or not (
        twilio.whatsapp_from if channel == "whatsapp" else twilio.sms_from
    ):
        return None
    from chalicelib.notifications.channels.twilio import TwilioSender

    account: dict[str, Any] = {
        "accountSid": twilio.account_sid,
        "authToken": twilio.auth_token.get_secret_value(),
        "smsFrom": twilio.sms_from,
        "whatsappFrom": twilio.whatsapp_from,
    }
    return TwilioSender(account, tenant_id=tenant_id)
