"""WhatsApp through Meta's Cloud API: ``POST /<version>/<phone_number_id>/messages`` with httpx."""

from __future__ import annotations

from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.config import get_settings
from chalicelib.core.errors import AppError
from chalicelib.core.observability import logger
from chalicelib.integrations.meta.graph import OUTSIDE_WINDOW, RETRYABLE_CODES
from chalicelib.notifications.channels.base import OutgoingMessage, ProviderError, SendResult, check_provider_url

__all__ = ["OUTSIDE_WINDOW", "MetaSender", "OwnNumberSender"]


class MetaSender:
    """The WhatsApp Cloud API with a system user's token."""

    name = "meta"

    def __init__(self, credentials: dict[str, Any]) -> None:
        self.credentials = credentials

    def _payload(self, message: OutgoingMessage) -> dict[str, Any]:
        to = message.to.lstrip("+")
        template = message.whatsapp_template
        if template is None:
            return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": message.body}}
        reference = {
            "name": template["name"],
            "language": {"code": template["language"]},
            "components": template.get("components", []),
        }
        return {"messaging_product": "whatsapp", "to": to, "type": "template", "template": reference}

    def send(self, message: OutgoingMessage) -> SendResult:
        """Send a text (inside the 24-hour window) or an approved template; returns the ``wamid``."""
        settings = get_settings()
        base = check_provider_url(settings.meta_graph_url).rstrip("/")
        url = f"{base}/{settings.meta_graph_version}/{self.credentials['phoneNumberId']}/messages"
        headers = {"Authorization": f"Bearer {self.credentials['accessToken']}"}
        try:
            timeout = settings.provider_timeout_s
            response = httpx.post(url, json=self._payload(message), headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            raise ProviderError(f"Meta unreachable: {exc}", retryable=True) from exc
        if response.status_code == 200:
            try:
                return SendResult(self.name, str(response.json()["messages"][0]["id"]))
            except (ValueError, KeyError, IndexError) as exc:
                raise ProviderError("Meta answered 200 without a message id", retryable=False) from exc
        try:
            error = response.json().get("error", {})
        except ValueError:
            error = {}
        code = str(error.get("code", ""))
        retryable = response.status_code >= 500 or response.status_code == 429 or code in RETRYABLE_CODES
        text = f"Meta {response.status_code} {code}: {error.get('message', response.text[:200])}"
        raise ProviderError(text, retryable=retryable, code=code or None)


class OwnNumberSender(MetaSender):
    """A tenant's own WhatsApp number (a gateway channel): what it sends is kept in the customer's conversation
    and shown to the operators in its Open Lines chat, so a reply to it arrives with its context."""

    def __init__(self, credentials: dict[str, Any], *, tenant_id: str, channel_id: str) -> None:
        super().__init__(credentials)
        self.tenant_id = tenant_id
        self.channel_id = channel_id

    def send(self, message: OutgoingMessage) -> SendResult:
        """Send as ``MetaSender``; then the copy in the conversation (best effort: the message is out already,
        so nothing here may make the notification fail or be sent again)."""
        result = super().send(message)
        from chalicelib.conversations.relay import mirror_notification

        try:
            mirror_notification(
                self.tenant_id, self.channel_id, message.to.lstrip("+"), message.body, result.provider_message_id
            )
        except (AppError, BotoCoreError, ClientError) as exc:  # the table or the channel: logged, never raised
            logger.warning(
                "notification not copied to its conversation", extra={"channelId": self.channel_id, "error": str(exc)}
            )
        return result
