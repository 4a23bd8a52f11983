"""Delivery channels: which provider sends a message on each channel, or the outbox while it has no credentials.

| channel  | provider                                              | credentials (Secrets Manager)   | without them |
|----------|-------------------------------------------------------|---------------------------------|--------------|
| email    | SES v2 (``email_provider=ses``) or SMTP (``smtp``)    | the role / ``smtp``; sender     | outbox       |
| sms      | Twilio                                                | ``twilio``                      | outbox       |
| whatsapp | Meta Cloud API (``whatsapp_provider=meta``) or Twilio | ``meta-whatsapp`` / ``twilio``  | outbox       |
| push     | Web Push (VAPID)                                      | ``web-push-vapid-key`` (ours)   | always on    |

A tenant that connected a WhatsApp number (``POST /channels/whatsapp``) sends its WhatsApp notifications from its
first connected number, with that number's token, whatever the platform's credentials.
"""

from __future__ import annotations

from chalicelib.core.config import get_settings
from chalicelib.core.resources import META_WHATSAPP_CREDENTIALS, TWILIO_CREDENTIALS
from chalicelib.notifications.channels.base import (
    OUTBOX,
    OutboxSender,
    OutgoingMessage,
    ProviderError,
    Sender,
    SendResult,
    read_credentials,
    reset_credentials,
)

__all__ = ["OUTBOX", "OutgoingMessage", "ProviderError", "SendResult", "Sender", "reset_credentials", "sender_for"]


def sender_for(channel: str, tenant_id: str | None = None) -> Sender:
    """The provider that sends on ``channel`` now (for ``tenant_id``), or the outbox when its credentials are
    absent. A tenant that connected a WhatsApp number sends its WhatsApp notifications from that number."""
    settings = get_settings()
    if channel == "whatsapp" and tenant_id:
        from chalicelib.channels.service import notification_number

        number = notification_number(tenant_id)
        if number is not None:
            from chalicelib.notifications.channels.meta import MetaSender

            return MetaSender({"phoneNumberId": number.phone_number_id, "accessToken": number.access_token})
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
