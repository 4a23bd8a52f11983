"""The jobs of the conversation FIFO queue (``whatsapp-inbound``): their types, how each is queued in its
conversation's group, and the error a job raises when it cannot be done and retrying will not help.

One group per conversation, ``<phone number id>:<wa_id>``, for every job about it, in both directions: a
received WhatsApp message or a Meta status (queued by the Meta webhook, ``inbound.meta``), a message to send (an
operator's reply from Bitrix24, an agent's from BTRIX) and a notification BTRIX sent from the number (to keep in
the conversation). So one conversation is handled one job at a time, in order, and a failing job holds back its
conversation and nothing else. Jobs are JSON objects in camelCase with a ``type``.
"""

from __future__ import annotations

from typing import Any

from chalicelib.conversations.models import ConversationRecord, MessageRecord
from chalicelib.conversations.timing import moment
from chalicelib.core.resources import QueueKind
from chalicelib.inbound.receipts import Delivery, enqueue

__all__ = [
    "MESSAGE_JOB",
    "NOTIFICATION_JOB",
    "SEND_JOB",
    "STATUS_JOB",
    "Unrelayable",
    "group",
    "queue_inbound_again",
    "queue_notification",
    "queue_send",
]

# {tenantId, channelId, wabaId, phoneNumberId, displayPhoneNumber, waId, contactName, message, receivedAt}
MESSAGE_JOB = "whatsapp.message"
# {tenantId, channelId, phoneNumberId, waId, status}
STATUS_JOB = "whatsapp.status"
# {tenantId, conversationId, messageId, attempt}
SEND_JOB = "conversation.send"
# {tenantId, channelId, phoneNumberId, waId, text, wamid, sentAt}
NOTIFICATION_JOB = "conversation.notification"


class Unrelayable(Exception):
    """Raised by a job whose message cannot be relayed and that retrying will not help (it fails at once)."""


def group(phone_number_id: str, wa_id: str) -> str:
    """The queue group of the conversation of number ``phone_number_id`` with customer ``wa_id``."""
    return f"{phone_number_id}:{wa_id}"


def _of(conversation: ConversationRecord) -> str:
    return group(conversation.phone_number_id, conversation.wa_id)


def _put(group_id: str, key: str, dedup_id: str, body: dict[str, Any]) -> None:
    enqueue(Delivery(key=key, queue=QueueKind.WHATSAPP_INBOUND, body=body, group_id=group_id, dedup_id=dedup_id))


def queue_send(conversation: ConversationRecord, record: MessageRecord) -> None:
    """Put the send job of ``record`` in its conversation's group (deduplicated on the message and its attempt)."""
    body = {
        "type": SEND_JOB,
        "tenantId": record.tenant_id,
        "conversationId": conversation.id,
        "messageId": record.id,
        "attempt": record.attempts,
    }
    _put(_of(conversation), record.id, f"{record.id}:{record.attempts}", body)


def queue_inbound_again(conversation: ConversationRecord, record: MessageRecord, received_at: str) -> None:
    """Put a received message's job back in its conversation's group (a retry: its ``attempts`` were moved on),
    as the Meta webhook queued it, with what the message record kept of it."""
    sent_at = record.sent_at or received_at
    message: dict[str, Any] = {
        "id": record.external_id,
        "from": conversation.wa_id,
        "timestamp": str(int(moment(sent_at).timestamp())),
        "type": record.type,
    }
    body = {
        "type": MESSAGE_JOB,
        "tenantId": record.tenant_id,
        "channelId": conversation.channel_id,
        "phoneNumberId": conversation.phone_number_id,
        "waId": conversation.wa_id,
        "contactName": conversation.contact_name,
        "message": message,
        "receivedAt": received_at,
    }
    _put(_of(conversation), f"{record.id}:{record.attempts}", f"{record.external_id}:{record.attempts}", body)


def queue_notification(
    tenant_id: str, channel_id: str, phone_number_id: str, wa_id: str, text: str, wamid: str, sent_at: str
) -> None:
    """Put the job that keeps a notification sent from the number in the customer's conversation (once per
    ``wamid``) in the conversation's group, behind what the customer wrote before it."""
    body = {
        "type": NOTIFICATION_JOB,
        "tenantId": tenant_id,
        "channelId": channel_id,
        "phoneNumberId": phone_number_id,
        "waId": wa_id,
        "text": text,
        "wamid": wamid,
        "sentAt": sent_at,
    }
    _put(group(phone_number_id, wa_id), wamid, f"notification:{wamid}", body)
