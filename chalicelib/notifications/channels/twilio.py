"""SMS and WhatsApp through Twilio (``integrations.twilio.client``): addresses, templates and status callbacks."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import Failure, ProviderError
from chalicelib.integrations.twilio.client import TwilioAccount, send_message
from chalicelib.notifications.channels.base import OutgoingMessage, SendResult

__all__ = ["TwilioSender"]


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
                    f"WhatsApp template {template.get('name')} has no Twilio Content SID", failure=Failure.REJECTED
                )
            fields.update(content_sid=template["twilio_content_sid"], content_variables=_content_variables(template))
        else:
            fields["body"] = message.body
        callback = get_settings().twilio_status_callback_url
        if callback:
            if self.tenant_id:
                callback = f"{callback}{'&' if '?' in callback else '?'}{urlencode({'tenant': self.tenant_id})}"
            fields["status_callback"] = callback
        account = TwilioAccount(str(self.credentials["accountSid"]), str(self.credentials["authToken"]))
        return SendResult(self.name, send_message(account, fields), sent_by=account.account_sid)
