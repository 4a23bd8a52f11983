"""Meta's statuses of the messages the gateway sent (sent, delivered, read, failed): kept on the message, reported
to the Open Lines chat (delivery, reading), and a failure told to the operator. Statuses only move forward
(``queued → sent → delivered → read``): a late or repeated one changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.channels import service as channels
from chalicelib.conversations import openlines, store
from chalicelib.conversations.metrics import emit
from chalicelib.conversations.timing import moment
from chalicelib.core import clock
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.observability import logger
from chalicelib.integrations.meta import client as meta

__all__ = ["apply_status"]

_STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}


def apply_status(body: Mapping[str, Any]) -> None:
    """A Meta status (sent, delivered, read, failed) of a message the gateway sent: kept on the message, and
    reported to the Open Line (delivery, reading) or, for a failure, told to the operator."""
    tenant_id = str(body["tenantId"])
    status: Mapping[str, Any] = body["status"]
    state = str(status.get("status") or "")
    with tenant_scope(tenant_id):
        conversation = store.get_conversation(
            tenant_id, store.conversation_id(str(body["channelId"]), str(body["waId"]))
        )
        if conversation is None:
            return
        found = store.find_wamid(tenant_id, conversation.id, str(status["id"]))
        record = store.get_message(tenant_id, conversation.id, found, consistent=True) if found else None
        if record is None:
            logger.info("status of a message the gateway did not send", extra={"status": state})
            return
        channel = channels.get_whatsapp_channel(tenant_id, conversation.channel_id)
        at = clock.isoformat(moment(status.get("timestamp")))
        failure = meta.error_from_status(dict(status))
        if failure is not None:
            # Meta reports some refusals only here, after accepting the send (131047: the window had closed).
            reason = str(failure)
            if failure.outside_window:
                reason = f"{reason} (the customer's 24-hour window had closed: configure a template on the number)"
            store.update_message(record, {"status": "failed", "error": reason, "updatedAt": at})
            channels.record_activity(tenant_id, channel.id, error=f"WhatsApp did not deliver a message: {reason}")
            openlines.tell_operator(
                conversation, channel.portal_id, f"[b]BTRIX[/b]: WhatsApp did not deliver the message ({reason})"
            )
            emit("MessagesFailed", channel.id)
            return
        if _STATUS_RANK.get(state, -1) <= _STATUS_RANK.get(record.status, 0):
            return
        stamp = {"delivered": "deliveredAt", "read": "readAt"}.get(state)
        changes = {"status": state, "updatedAt": at, **({stamp: at} if stamp else {})}
        updated = store.update_message(record, changes, from_status=["sent", "delivered"])
        if updated is None or record.source != "bitrix24" or not channel.portal_id or not channel.line:
            return
        if state == "read":
            openlines.report_reading(conversation, record, channel.portal_id, channel.line)
        elif not record.bitrix_reported:
            openlines.report_delivery(conversation, updated, channel.portal_id, channel.line)
