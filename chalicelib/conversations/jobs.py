"""The jobs of the conversation FIFO queue (``whatsapp-inbound``): their types, how each is queued in its
conversation's group, and the error a job raises when it cannot be done and retrying will not help.

One group per conversation, ``<phone number id>:<wa_id>``, for every job about it, in both directions: a
received WhatsApp message or a Meta status (queued by the Meta webhook, ``inbound.meta``), a message to send (an
operator's reply from Bitrix24, an agent's from BTRIX) and a notification BTRIX sent from the number (to keep in
the conversation). So one conversation is handled one job at a time, in order, and a failing job holds back its
conversation and nothing else. Jobs are JSON objects in camelCase with a ``type``.

The order does not rest on the queue's: a received message (when the webhook takes it) and a message to send
(when it is recorded) are also kept in the table as the conversation's pending jobs (``store.pending_item``), in
the order they reached BTRIX, and their queue messages (``pending``: the job's id) are triggers: the worker does
the conversation's pending jobs oldest first, whichever trigger comes first (``worker``). A queue that hands a
group back out of order, loses a trigger or gives one up cannot reorder, skip or strand a message.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.conversations import store
from chalicelib.conversations.models import ConversationRecord, MessageRecord, PendingJob
from chalicelib.conversations.timing import moment
from chalicelib.core import aws
from chalicelib.core.db.store import WriteOp
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.resources import QueueKind, dlq_name, queue_url
from chalicelib.inbound.receipts import Delivery, enqueue

__all__ = [
    "MESSAGE_JOB",
    "NOTIFICATION_JOB",
    "SEND_JOB",
    "STATUS_JOB",
    "Unrelayable",
    "dead_letter",
    "group",
    "inbound_delivery",
    "pending_send_op",
    "queue_inbound_again",
    "queue_notification",
    "queue_send",
    "queue_trigger",
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


def _send_job(conversation: ConversationRecord, record: MessageRecord, *, kept: bool) -> dict[str, Any]:
    body = {
        "type": SEND_JOB,
        "tenantId": record.tenant_id,
        "conversationId": conversation.id,
        "messageId": record.id,
        "attempt": record.attempts,
    }
    return {**body, "pending": record.id} if kept else body


def pending_send_op(conversation: ConversationRecord, record: MessageRecord) -> WriteOp:
    """The write that keeps the send of a new ``record`` among its conversation's pending jobs (in the transaction
    that records it; ``queue_send(..., kept=True)`` then triggers it)."""
    job = _send_job(conversation, record, kept=True)
    return store.pending_op(_pending(record.tenant_id, conversation.id, record.id, _of(conversation), job))


def queue_send(conversation: ConversationRecord, record: MessageRecord, *, kept: bool = False) -> None:
    """Put the send job of ``record`` in its conversation's group (deduplicated on the message and its attempt):
    the trigger of its pending job when ``kept``, else the job itself (a retry)."""
    body = _send_job(conversation, record, kept=kept)
    _put(_of(conversation), record.id, f"{record.id}:{record.attempts}", body)


def _pending(
    tenant_id: str, conversation_id: str, pending_id: str, group_id: str, job: Mapping[str, Any]
) -> PendingJob:
    return PendingJob(
        id=pending_id,
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        group=group_id,
        job=json.dumps(job, separators=(",", ":"), sort_keys=True),
    )


def inbound_delivery(body: Mapping[str, Any], at: datetime) -> Delivery:
    """What the Meta webhook hands on for a received message (``body``, a ``MESSAGE_JOB``) that reached BTRIX
    ``at``: the job kept among its conversation's pending jobs (its id, the id its message will get, from ``at``)
    and its trigger queued in the conversation's group (deduplicated on the wamid)."""
    tenant_id, wa_id, wamid = str(body["tenantId"]), str(body["waId"]), str(body["message"]["id"])
    conversation_id = store.conversation_id(str(body["channelId"]), wa_id)
    pending_id = store.message_id(at, wamid)
    job = {**body, "conversationId": conversation_id, "pending": pending_id}
    group_id = group(str(body["phoneNumberId"]), wa_id)
    kept = _pending(tenant_id, conversation_id, pending_id, group_id, job)
    return Delivery(
        key=wamid,
        queue=QueueKind.WHATSAPP_INBOUND,
        body=job,
        group_id=group_id,
        dedup_id=wamid,
        keep=store.pending_item(kept),
    )


def queue_trigger(pending: PendingJob) -> None:
    """Trigger the conversation's pending jobs again (its triggers were given up while ``pending`` waits)."""
    _put(pending.group, pending.id, f"{pending.id}:{uuid.uuid4().hex}", json.loads(pending.job))


def dead_letter(queue: QueueKind, group_id: str, job: Mapping[str, Any]) -> None:
    """Put a job of ``queue`` given up (its message marked failed) in the queue's DLQ, as the job itself (not a
    trigger), where the redrive command finds it (``conversations.redrive``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    body = {k: v for k, v in job.items() if k != "pending"}
    try:
        aws.sqs().send_message(
            QueueUrl=queue_url(dlq_name(queue)),
            MessageBody=json.dumps(body, separators=(",", ":"), sort_keys=True),
            MessageGroupId=group_id,
            MessageDeduplicationId=f"dead-{uuid.uuid4().hex}",
        )
    except (BotoCoreError, ClientError) as exc:
        raise DependencyUnavailable(detail=f"the {queue.value} DLQ is not reachable") from exc


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
