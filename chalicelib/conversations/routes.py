"""Conversation routes (module whatsapp): read with conversations:read, write with conversations:write."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.conversations import service
from chalicelib.conversations.models import (
    Conversation,
    ConversationListQuery,
    Message,
    MessageListQuery,
    SendMessageRequest,
)
from chalicelib.core.pagination import Page

blueprint = protected_blueprint(__name__, tag="conversations")


@blueprint.operation(
    "/conversations",
    query=ConversationListQuery,
    response=Page[Conversation],
    permission=Permission.CONVERSATIONS_READ,
    module=Module.WHATSAPP,
)
def list_conversations(query: ConversationListQuery, principal: Principal) -> Page[Conversation]:
    """List conversations

    WhatsApp conversations of the tenant's numbers, the most recently active first. Filter by channelId, by
    contact (the customer's number) and by the time of the last message (since, until).
    """
    return service.list_conversations(principal, query)


@blueprint.operation(
    "/conversations/{conversation_id}",
    response=Conversation,
    problems=(404,),
    permission=Permission.CONVERSATIONS_READ,
    module=Module.WHATSAPP,
)
def get_conversation(conversation_id: str, principal: Principal) -> Conversation:
    """Get a conversation

    With its Bitrix24 contact and chat, its counters and whether the 24-hour window is open.
    """
    return service.get_conversation(principal, conversation_id)


@blueprint.operation(
    "/conversations/{conversation_id}/messages",
    query=MessageListQuery,
    response=Page[Message],
    problems=(404,),
    permission=Permission.CONVERSATIONS_READ,
    module=Module.WHATSAPP,
)
def list_messages(conversation_id: str, query: MessageListQuery, principal: Principal) -> Page[Message]:
    """List a conversation's messages

    Newest first, both directions, each with its status (received, relayed, stored, queued, sent, delivered,
    read, not_sent, failed) and, when it failed, why.
    """
    return service.list_messages(principal, conversation_id, query)


@blueprint.operation(
    "/conversations/{conversation_id}/messages",
    "POST",
    body=SendMessageRequest,
    response=Message,
    status=202,
    problems=(404, 409),
    permission=Permission.CONVERSATIONS_WRITE,
    module=Module.WHATSAPP,
    idempotent=True,
)
def send_message(
    conversation_id: str, body: SendMessageRequest, principal: Principal, idempotency_key: str | None
) -> Message:
    """Write to the customer

    Queued and sent on WhatsApp in the conversation's order: free text inside the 24-hour window, else the
    number's approved template (or not_sent with the reason). Mirrored into the Bitrix24 chat as a system message.
    Send Idempotency-Key to retry safely.
    """
    return service.send_message(principal, conversation_id, body, idempotency_key)


@blueprint.operation(
    "/conversations/{conversation_id}/messages/{message_id}/retry",
    "POST",
    response=Message,
    status=202,
    problems=(404, 409),
    permission=Permission.CONVERSATIONS_WRITE,
    module=Module.WHATSAPP,
)
def retry_message(conversation_id: str, message_id: str, principal: Principal) -> Message:
    """Retry a failed message

    A failed (or not_sent) message gets a fresh set of attempts, in its conversation's order; so does an outbound
    message still queued 10 minutes after its last change (its job was lost).
    """
    return service.retry_message(principal, conversation_id, message_id)


@blueprint.operation(
    "/conversations/{conversation_id}/close",
    "POST",
    response=Conversation,
    problems=(404, 409),
    permission=Permission.CONVERSATIONS_WRITE,
    module=Module.WHATSAPP,
)
def close_conversation(conversation_id: str, principal: Principal) -> Conversation:
    """Hand a chat back to the assistant

    On a number with a shop assistant, a human (needs_human, or an agent who wrote) closes the chat: the assistant
    answers the customer's next messages again, with the cart it kept. 409 on a number without assistant.
    """
    return service.close_conversation(principal, conversation_id)
