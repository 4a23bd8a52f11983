"""A conversation's side of its Open Lines chat in Bitrix24: the customer's CRM contact, the customer's messages
into the chat, delivery and reading reports of the operators' messages, and system messages to the operators.
Each is a call of the Bitrix24 client on the number's portal, with the portal's tokens (``channels.tokens``)."""

from __future__ import annotations

from typing import Any

from chalicelib.channels.tokens import caller
from chalicelib.conversations import store
from chalicelib.conversations.models import ConversationRecord, MessageRecord
from chalicelib.core.errors import AppError
from chalicelib.core.observability import logger
from chalicelib.integrations.bitrix24 import client as bitrix24
from chalicelib.integrations.http import ProviderError

__all__ = ["contact_of", "relay", "report_delivery", "report_reading", "tell_operator"]


def contact_of(conversation: ConversationRecord, portal_id: str) -> str:
    """The Bitrix24 CRM contact of the customer: found by phone, else created (once per conversation)."""
    if conversation.bitrix_contact_id:
        return conversation.bitrix_contact_id
    phone = f"+{conversation.wa_id}"
    portal = caller(conversation.tenant_id, portal_id)
    contact_id = bitrix24.find_contact(portal, phone) or bitrix24.add_contact(
        portal, conversation.contact_name or phone, phone
    )
    store.update_conversation(conversation, set_={"bitrixContactId": contact_id})
    return contact_id


def relay(conversation: ConversationRecord, portal_id: str, line: str, message: dict[str, Any]) -> bitrix24.Relayed:
    """The customer's ``message`` into the conversation's Open Lines chat (named by the conversation's id, which
    operator replies name back); returns the Open Lines chat id and the Bitrix24 message created there."""
    user = bitrix24.OpenLinesUser(
        id=conversation.wa_id,
        name=conversation.contact_name or f"+{conversation.wa_id}",
        phone=f"+{conversation.wa_id}",
    )
    return bitrix24.send_messages(caller(conversation.tenant_id, portal_id), line, user, message, conversation.id)


def report_delivery(conversation: ConversationRecord, record: MessageRecord, portal_id: str, line: str) -> None:
    """The operator's message reached the customer (else the operator sees it undelivered); noted on the message."""
    bitrix24.report_delivery(
        caller(record.tenant_id, portal_id),
        line,
        record.bitrix_chat_id,
        record.bitrix_message_id,
        record.wamids,
        conversation.id,
    )
    store.update_message(record, {"bitrixReported": True})


def report_reading(conversation: ConversationRecord, record: MessageRecord, portal_id: str, line: str) -> None:
    """The customer read the operator's message."""
    portal = caller(record.tenant_id, portal_id)
    bitrix24.report_reading(portal, line, record.bitrix_chat_id, record.bitrix_message_id, conversation.id)


def tell_operator(conversation: ConversationRecord, portal_id: str | None, text: str) -> None:
    """A system message in the Open Lines chat (what the operator must know: not sent, failed), best effort."""
    if not portal_id or not conversation.bitrix_chat_id:
        return
    try:
        bitrix24.system_message(caller(conversation.tenant_id, portal_id), conversation.bitrix_chat_id, text)
    except (ProviderError, AppError) as exc:
        logger.warning("could not tell the operator", extra={"conversation_id": conversation.id, "error": str(exc)})
