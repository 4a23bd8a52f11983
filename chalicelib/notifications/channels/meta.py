"""WhatsApp through Meta's Cloud API, with the gateway's own Meta client (``integrations.meta.client``)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import AppError
from chalicelib.core.observability import logger
from chalicelib.integrations.meta import client as meta
from chalicelib.notifications.channels.base import OutgoingMessage, SendResult

__all__ = ["MetaSender", "OwnNumberSender"]


class MetaSender:
    """The WhatsApp Cloud API from a number, with its token (BTRIX's system user's, or the tenant's number's)."""

    name = "meta"

    def __init__(self, credentials: dict[str, Any]) -> None:
        self.number = meta.MetaNumber(str(credentials["phoneNumberId"]), str(credentials["accessToken"]))

    def send(self, message: OutgoingMessage) -> SendResult:
        """Send a text (inside the 24-hour window) or an approved template; returns the ``wamid``."""
        template = message.whatsapp_template
        if template is None:
            payload = meta.text_payload(message.to, message.body)
        else:
            components = template.get("components") or None
            payload = meta.template_payload(message.to, template["name"], template["language"], components)
        return SendResult(self.name, meta.send_message(self.number, payload), sent_by=self.number.phone_number_id)


class OwnNumberSender(MetaSender):
    """A tenant's own WhatsApp number (a gateway channel): what it sends is also kept in the customer's conversation
    and shown to the operators in its Open Lines chat, so a reply to it arrives with its context."""

    def __init__(self, credentials: dict[str, Any], *, tenant_id: str, channel_id: str) -> None:
        super().__init__(credentials)
        self.tenant_id = tenant_id
        self.channel_id = channel_id

    def send(self, message: OutgoingMessage) -> SendResult:
        """Send as ``MetaSender``; then queue the copy for the customer's conversation (a job on its queue: nothing
        here writes the conversation or calls Bitrix24, and a failure to queue never fails the notification, which
        is out already)."""
        from chalicelib.conversations.service import keep_notification

        result = super().send(message)
        try:
            keep_notification(
                self.tenant_id,
                self.channel_id,
                self.number.phone_number_id,
                message.to.lstrip("+"),
                message.body,
                result.provider_message_id,
            )
        except AppError as exc:  # the queue: logged, never raised
            logger.warning(
                "notification not copied to its conversation", extra={"channelId": self.channel_id, "error": str(exc)}
            )
        return result
