"""SMS and WhatsApp through Twilio's official SDK (imported here, when a message goes out, not at cold start)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from chalicelib.core.config import get_settings
from chalicelib.notifications.channels.base import (
    OutgoingMessage,
    ProviderError,
    SendResult,
    check_provider_url,
)

__all__ = ["TwilioSender"]


def _client(credentials: dict[str, Any]) -> Any:
    from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
    from twilio.rest import Client  # type: ignore[import-untyped]

    settings = get_settings()
    # environment={}: the SDK must not read TWILIO_* from the process (Settings and secrets are the only source).
    client = Client(
        str(credentials["accountSid"]),
        str(credentials["authToken"]),
        http_client=TwilioHttpClient(timeout=settings.provider_timeout_s),
        environment={},
    )
    if settings.twilio_base_url:
        client.api.base_url = check_provider_url(settings.twilio_base_url)
    return client


def _content_variables(template: dict[str, Any]) -> str:
    # Twilio Content templates number their variables like WhatsApp's positional body parameters.
    values: list[str] = []
    for component in template.get("components", []):
        if component.get("type") == "body":
            values.extend(str(p.get("text", "")) for p in component.get("parameters", []))
    return json.dumps({str(i + 1): value for i, value in enumerate(values)})


class TwilioSender:
    """Twilio Programmable Messaging: ``channel`` sms or whatsapp (``whatsapp:`` addresses)."""

    name = "twilio"

    def __init__(self, credentials: dict[str, Any], tenant_id: str | None = None) -> None:
        # tenant_id: the credentials are that tenant's own account, so its status callbacks name the tenant (the
        # webhook verifies them with the tenant's auth token).
        self.credentials = credentials
        self.tenant_id = tenant_id

    def send(self, message: OutgoingMessage) -> SendResult:
        """Create the message resource; 5xx and 429 are retried, other refusals fail the message."""
        from twilio.base.exceptions import TwilioException, TwilioRestException  # type: ignore[import-untyped]

        whatsapp = message.channel == "whatsapp"
        sender = str(self.credentials["whatsappFrom" if whatsapp else "smsFrom"])
        fields: dict[str, Any] = {
            "to": f"whatsapp:{message.to}" if whatsapp else message.to,
            "from_": f"whatsapp:{sender}" if whatsapp else sender,
        }
        template = message.whatsapp_template
        if template is not None:
            if not template.get("twilio_content_sid"):
                raise ProviderError(
                    f"WhatsApp template {template.get('name')} has no Twilio Content SID", retryable=False
                )
            fields.update(content_sid=template["twilio_content_sid"], content_variables=_content_variables(template))
        else:
            fields["body"] = message.body
        callback = get_settings().twilio_status_callback_url
        if callback:
            if self.tenant_id:
                callback = f"{callback}{'&' if '?' in callback else '?'}{urlencode({'tenant': self.tenant_id})}"
            fields["status_callback"] = callback
        try:
            created = _client(self.credentials).messages.create(**fields)
        except TwilioRestException as exc:
            retryable = exc.status >= 500 or exc.status == 429
            text = f"Twilio {exc.status} {exc.code}: {exc.msg}"
            raise ProviderError(text, retryable=retryable, code=str(exc.code)) from exc
        except TwilioException as exc:
            raise ProviderError(f"Twilio unreachable: {exc}", retryable=True) from exc
        except OSError as exc:
            raise ProviderError(f"Twilio unreachable: {exc}", retryable=True) from exc
        return SendResult(self.name, str(created.sid))
