"""Conversations API use cases: list and read conversations and their messages, write as an agent, retry; and,
for the notifications capability, a notification sent from a number queued to be kept in its conversation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.conversations import jobs, store
from chalicelib.conversations.models import (
    AssistantState,
    Conversation,
    ConversationListQuery,
    ConversationRecord,
    Message,
    MessageListQuery,
    MessageRecord,
    OutsideWindowTemplate,
    SendMessageRequest,
)
from chalicelib.conversations.timing import WINDOW
from chalicelib.core import clock
from chalicelib.core.db.store import QueryPage, Table, put_op
from chalicelib.core.errors import AppError, Conflict, FieldError, InvalidInput, NotFound
from chalicelib.core.idempotency import once
from chalicelib.core.ids import new_id
from chalicelib.core.pagination import Page, paginate

__all__ = [
    "STALE_QUEUED",
    "assistant_reply",
    "close_conversation",
    "contact_conversation_ids",
    "conversation_record",
    "conversation_view",
    "get_conversation",
    "keep_notification",
    "list_conversations",
    "list_messages",
    "load_conversation",
    "message_view",
    "requeue",
    "retry_message",
    "send_message",
    "set_assistant_state",
]

# A message still ``queued`` this long after its last change has lost its job (a crash between the write and the
# enqueue): its retry is allowed. A job that is only waiting out a backoff may be doubled harmlessly: each send
# step checks the status it moves from.
STALE_QUEUED = timedelta(minutes=10)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def conversation_view(record: ConversationRecord, now: datetime | None = None) -> Conversation:
    """The API shape of a conversation (with its 24-hour window)."""
    moment = now or clock.now()
    last_inbound = _time(record.last_inbound_at)
    expires = last_inbound + WINDOW if last_inbound else None
    return Conversation(
        id=record.id,
        channel_id=record.channel_id,
        phone=f"+{record.wa_id}",
        contact_name=record.contact_name,
        bitrix_contact_id=record.bitrix_contact_id,
        bitrix_chat_id=record.bitrix_chat_id,
        last_message_at=_time(record.last_message_at) or moment,
        last_inbound_at=last_inbound,
        window_open=expires is not None and moment < expires,
        window_expires_at=expires,
        messages_in=record.messages_in,
        messages_out=record.messages_out,
        assistant_state=record.assistant_state,
        created_at=_time(record.created_at) or moment,
    )


def message_view(record: MessageRecord) -> Message:
    """The API shape of a message."""
    fields = record.model_dump(
        by_alias=False,
        include={"id", "conversation_id", "direction", "source", "type", "text", "files", "status", "template"}
        | {"error", "attempts", "author_id", "sent_at", "created_at", "updated_at", "delivered_at", "read_at"}
        | {"wamids", "bitrix_chat_id", "bitrix_message_id"},
    )
    if any(f.storage_key for f in record.files):
        from chalicelib.conversations.media import media_url

        fields["files"] = [
            {**f.model_dump(by_alias=False), "url": media_url(f.storage_key) if f.storage_key else None}
            for f in record.files
        ]
    return Message.model_validate(fields)


def _contact(value: str) -> str:
    digits = value.strip().removeprefix("+")
    if not digits.isdigit() or not 6 <= len(digits) <= 15:
        raise InvalidInput(
            detail="contact is a phone number in E.164",
            errors=[FieldError("query.contact", "a phone number such as +5511987654321")],
        )
    return digits


def list_conversations(principal: Principal, query: ConversationListQuery) -> Page[Conversation]:
    """One page of conversations, the most recently active first, optionally of one channel or one customer and
    with a last message in [since, until)."""
    require(principal, Permission.CONVERSATIONS_READ)
    contact = _contact(query.contact) if query.contact else None
    if query.since and query.until and query.since >= query.until:
        raise InvalidInput(detail="since must be before until", errors=[FieldError("query.until", "after since")])
    between = None
    if query.since or query.until:
        between = (
            clock.isoformat(query.since) if query.since else "0",
            clock.isoformat(query.until) if query.until else "9",
        )

    def fetch(start: dict[str, str] | None) -> QueryPage:
        records, last = store.list_conversations(
            principal.tenant_id,
            channel_id=query.channel_id,
            contact_wa_id=contact,
            between=between,
            limit=query.limit,
            start_key=start,
        )
        return QueryPage(items=[r.model_dump() for r in records], last_key=last)

    now = clock.now()
    return paginate(
        Page[Conversation],
        query,
        tenant_id=principal.tenant_id,
        scope="conversations",
        fetch=fetch,
        convert=lambda item: conversation_view(ConversationRecord.model_validate(item), now),
    )


def _conversation(principal: Principal, conversation_id: str) -> ConversationRecord:
    found = store.get_conversation(principal.tenant_id, conversation_id)
    if found is None:
        raise NotFound(detail=f"conversation {conversation_id} not found")
    return found


def get_conversation(principal: Principal, conversation_id: str) -> Conversation:
    """One conversation."""
    require(principal, Permission.CONVERSATIONS_READ)
    return conversation_view(_conversation(principal, conversation_id))


def conversation_record(tenant_id: str, conversation_id: str) -> ConversationRecord | None:
    """For the shop assistant's follow-ups (a timer, no caller): the conversation as stored, or None."""
    return store.get_conversation(tenant_id, conversation_id, consistent=True)


def load_conversation(tenant_id: str, conversation_id: str) -> Conversation:
    """One conversation of the tenant, for another capability that checks its own permissions (a lead made from
    a conversation); ``NotFound`` when there is none."""
    found = store.get_conversation(tenant_id, conversation_id)
    if found is None:
        raise NotFound(detail=f"conversation {conversation_id} not found")
    return conversation_view(found)


def list_messages(principal: Principal, conversation_id: str, query: MessageListQuery) -> Page[Message]:
    """One page of a conversation's messages, newest first."""
    require(principal, Permission.CONVERSATIONS_READ)
    _conversation(principal, conversation_id)
    return paginate(
        Page[Message],
        query,
        tenant_id=principal.tenant_id,
        scope=f"conversation-messages:{conversation_id}",
        fetch=lambda start: store.list_messages(
            principal.tenant_id, conversation_id, limit=query.limit, start_key=start
        ),
        convert=lambda item: message_view(store.message_of(item)),
    )


def send_message(
    principal: Principal, conversation_id: str, body: SendMessageRequest, idempotency_key: str | None
) -> Message:
    """Queue an agent's message: sent on WhatsApp (inside the 24-hour window, else the number's template) and
    mirrored into the Bitrix24 chat. Answers at once with the queued message; its status follows."""
    require(principal, Permission.CONVERSATIONS_WRITE)
    conversation = _conversation(principal, conversation_id)
    if conversation.assistant_state in ("assistant", "needs_human"):  # an agent wrote: a human holds the chat
        set_assistant_state(conversation, "human")

    def create(seal: Any) -> Message:
        now = clock.now()
        at = clock.isoformat(now)
        record = MessageRecord(
            id=store.message_id(now, f"btrix:{new_id()}"),
            tenant_id=principal.tenant_id,
            conversation_id=conversation.id,
            direction="out",
            source="btrix",
            text=body.text,
            status="queued",
            author_id=principal.user_id,
            sent_at=at,
            created_at=at,
            updated_at=at,
        )
        view = message_view(record)
        pk, sk = store.message_key(principal.tenant_id, conversation.id, record.id)
        message = put_op({"PK": pk, "SK": sk, "entity": store.MESSAGE_ENTITY, **record.model_dump()})
        Table().transact([message, jobs.pending_send_op(conversation, record), *seal(view)])
        try:
            jobs.queue_send(conversation, record, kept=True)
        except AppError as exc:  # recorded but not queued: failed and retryable, not silently stuck as queued
            failed = store.update_message(
                record,
                {"status": "failed", "error": f"could not be queued ({exc.detail}); retry it", "updatedAt": at},
                from_status=["queued"],
            )
            return message_view(failed or record)
        return view

    return once(principal.tenant_id, idempotency_key, f"conversation-message:{conversation.id}", body, Message, create)


def requeue(record: MessageRecord, conversation: ConversationRecord) -> MessageRecord:
    """Give a failed message (an outbound one also when not sent, or queued but stale) a fresh set of attempts and
    put its job back in the conversation's queue group."""
    stale = (_time(record.updated_at) or clock.now()) <= clock.now() - STALE_QUEUED
    retryable = record.status == "failed" or (
        record.direction == "out" and (record.status == "not_sent" or (record.status == "queued" and stale))
    )
    if not retryable:
        raise Conflict(
            detail=f"message {record.id} is {record.status}: only failed, not sent, or stale queued messages "
            f"(unchanged for {int(STALE_QUEUED.total_seconds() // 60)} minutes) are retried"
        )
    restart = "received" if record.direction == "in" else "queued"
    at = clock.now_iso()
    changes = {"status": restart, "error": None, "attempts": record.attempts + 1, "updatedAt": at}
    updated = store.update_message(record, changes, from_status=[record.status])
    if updated is None:
        raise Conflict(detail=f"message {record.id} changed meanwhile; reload it")
    if record.direction == "out":
        jobs.queue_send(conversation, updated)
    else:
        jobs.queue_inbound_again(conversation, updated, at)
    return updated


def retry_message(principal: Principal, conversation_id: str, message_id: str) -> Message:
    """Retry a failed message (after the portal was reconnected, a template configured, an outage ended)."""
    require(principal, Permission.CONVERSATIONS_WRITE)
    conversation = _conversation(principal, conversation_id)
    record = store.get_message(principal.tenant_id, conversation.id, message_id, consistent=True)
    if record is None:
        raise NotFound(detail=f"message {message_id} not found")
    return message_view(requeue(record, conversation))


def keep_notification(tenant_id: str, channel_id: str, phone_number_id: str, wa_id: str, text: str, wamid: str) -> None:
    """A notification just sent from the tenant's number ``channel_id`` to ``wa_id``: queued to be kept in the
    customer's conversation and shown to its operators (a job of the conversation's queue group, after what the
    customer wrote before; nothing is written nor called in Bitrix24 here). Raises ``DependencyUnavailable``
    when the queue cannot be reached."""
    sent_at = clock.now_iso()
    jobs.queue_notification(tenant_id, channel_id, phone_number_id, wa_id, text, wamid, sent_at)


def assistant_reply(
    conversation: ConversationRecord,
    key: str,
    text: str,
    interactive: dict[str, Any] | None = None,
    outside_window: OutsideWindowTemplate | None = None,
) -> MessageRecord:
    """For the shop assistant: its reply ``key`` (unique in the conversation, e.g. the customer message's id and
    the reply's position) recorded once as an outbound message and queued in the conversation's group (after the
    customer's message being answered). A redelivered turn finds the recorded reply and queues nothing new.
    ``outside_window``: the template sent instead when the customer's 24-hour window is closed (a follow-up)."""
    now = clock.now()
    at = clock.isoformat(now)
    record = MessageRecord(
        id=store.message_id(now, f"assistant:{key}"),
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        direction="out",
        source="assistant",
        type="interactive" if interactive else "text",
        text=text,
        interactive=interactive,
        outside_window=outside_window,
        status="queued",
        sent_at=at,
        created_at=at,
        updated_at=at,
    )
    # Kept among the conversation's pending jobs like any message to send: sent in the conversation's order.
    record, _ = store.record_provider_message(record, f"assistant:{key}", [jobs.pending_send_op(conversation, record)])
    if record.status == "queued":
        jobs.queue_send(conversation, record, kept=True)
    return record


def set_assistant_state(conversation: ConversationRecord, state: AssistantState) -> None:
    """Who answers the customer now (the assistant, or a human), on a number with a shop assistant."""
    if conversation.assistant_state != state:
        store.update_conversation(conversation, set_={"assistantState": state})


def close_conversation(principal: Principal, conversation_id: str) -> Conversation:
    """A human is done with the chat: the number's shop assistant answers the customer again (it kept the cart)."""
    require(principal, Permission.CONVERSATIONS_WRITE)
    conversation = _conversation(principal, conversation_id)
    if conversation.assistant_state is None:
        raise Conflict(detail="this conversation's number has no shop assistant: there is nothing to hand back")
    set_assistant_state(conversation, "assistant")
    return conversation_view(conversation.model_copy(update={"assistant_state": "assistant"}))


def contact_conversation_ids(tenant_id: str, phone: str) -> list[str]:
    """The ids of the conversations with this number (E.164) on any of the tenant's numbers (privacy requests)."""
    return [record.id for record in store.contact_conversations(tenant_id, phone.lstrip("+"))]
