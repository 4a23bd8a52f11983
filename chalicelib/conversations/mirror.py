"""Notifications BTRIX sent from a number, kept in the customer's conversation: a ``conversation.notification``
job (queued by ``service.keep_notification`` when the notification went out) records the message (``source
notification``, ``sent``; the conversation is created when it is the first message) and shows it to the operators
in the Open Lines chat when there is one. Once per ``wamid``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.channels import service as channels
from chalicelib.conversations import openlines, store
from chalicelib.conversations.inbound import open_conversation
from chalicelib.conversations.models import MessageRecord
from chalicelib.conversations.timing import moment
from chalicelib.core import clock
from chalicelib.core.db.store import change_op, tenant_scope

__all__ = ["keep_notification"]


def keep_notification(body: Mapping[str, Any]) -> None:
    """Record one notification sent from the number in its conversation, and tell the operators (once)."""
    tenant_id = str(body["tenantId"])
    wamid = str(body["wamid"])
    text = str(body["text"])
    with tenant_scope(tenant_id):
        channel = channels.get_whatsapp_channel(tenant_id, str(body["channelId"]))
        at = moment(body.get("sentAt"))
        sent_at = clock.isoformat(at)
        conversation = open_conversation(channel, str(body["waId"]), sent_at, clock.now_iso())
        record = MessageRecord(
            id=store.message_id(at, wamid),
            tenant_id=tenant_id,
            conversation_id=conversation.id,
            direction="out",
            source="notification",
            text=text,
            status="sent",
            wamids=[wamid],
            external_id=wamid,
            sent_at=sent_at,
            created_at=sent_at,
            updated_at=sent_at,
        )
        counted = change_op(
            *store.conversation_key(tenant_id, conversation.id),
            add={"messagesOut": 1},
            set_=store.moved_to(conversation, sent_at),
        )
        _, created = store.record_provider_message(record, wamid, [counted])
        if created:
            openlines.tell_operator(conversation, channel.portal_id, f"[b]BTRIX notification[/b]: {text}")
