"""Conversations of the WhatsApp <-> Bitrix24 gateway: one per (WhatsApp number, customer), and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.pagination import PageParams
from chalicelib.core.personal_data import PERSONAL
from chalicelib.core.validation import Instant

__all__ = [
    "AssistantState",
    "Conversation",
    "ConversationListQuery",
    "ConversationRecord",
    "Direction",
    "Message",
    "MessageListQuery",
    "MessageRecord",
    "MessageSource",
    "MessageStatus",
    "OutsideWindowTemplate",
    "PendingJob",
    "SendMessageRequest",
    "StoredFile",
]

Direction = Literal["in", "out"]
# whatsapp: the customer wrote; bitrix24: an operator answered in the Open Line; btrix: an agent wrote in BTRIX;
# notification: a BTRIX notification (order confirmed, reminder…) went out from the number;
# assistant: the number's shop assistant answered (chalicelib.assistant).
MessageSource = Literal["whatsapp", "bitrix24", "btrix", "notification", "assistant"]
# in:  received → relayed (in Bitrix24) | stored (the number is not mapped to a portal, or a BTRIX agent holds the
#      chat) | answered (the shop assistant answered it) | failed
# out: queued → sent → delivered → read | not_sent (outside the 24-hour window, no template) | failed
MessageStatus = Literal[
    "received", "relayed", "stored", "answered", "queued", "sent", "delivered", "read", "not_sent", "failed"
]
# Who answers the customer on a number with a shop assistant: the assistant, or a human (asked for: needs_human;
# an operator or agent wrote: human) until the chat is closed and handed back. None: a number without assistant.
AssistantState = Literal["assistant", "needs_human", "human"]


class StoredFile(ApiModel):
    """A file of a message: media received on WhatsApp (kept in our bucket) or a file an operator attached."""

    kind: str = Field(description="image, audio, video, document or sticker")
    mime_type: str | None = None
    filename: str | None = None
    caption: str | None = None
    media_id: str | None = Field(default=None, description="Meta's media id (inbound)")
    storage_key: str | None = Field(default=None, description="Object key in the media bucket (inbound)")
    link: str | None = Field(default=None, description="Where the file can be fetched (outbound)")
    error: str | None = Field(
        default=None,
        description="Why the file could not be fetched from WhatsApp (inbound): the message was relayed without it",
    )
    url: str | None = Field(
        default=None,
        description="A link that downloads a kept file (received media), valid BTRIX_MEDIA_URL_TTL_S from the read;"
        " only in API answers",
    )


class ConversationRecord(ApiModel):
    """A conversation as stored."""

    id: str
    tenant_id: str
    channel_id: str
    phone_number_id: str
    wa_id: Annotated[str, PERSONAL]
    contact_name: Annotated[str | None, PERSONAL] = None
    portal_id: str | None = None
    bitrix_contact_id: str | None = None
    bitrix_chat_id: str | None = None
    last_message_at: str
    last_inbound_at: str | None = None
    messages_in: int = 0
    messages_out: int = 0
    assistant_state: AssistantState | None = None
    created_at: str
    version: int = 1


class Conversation(ApiModel):
    """A WhatsApp conversation of one of the tenant's numbers with one customer."""

    id: str
    channel_id: str
    phone: str = Field(description="The customer's WhatsApp number (E.164)")
    contact_name: str | None = None
    bitrix_contact_id: str | None = None
    bitrix_chat_id: str | None = None
    last_message_at: datetime
    last_inbound_at: datetime | None = None
    window_open: bool = Field(description="Whether free text may be sent (24 hours since the customer wrote)")
    window_expires_at: datetime | None = None
    messages_in: int
    messages_out: int
    assistant_state: AssistantState | None = Field(
        default=None,
        description="On a number with a shop assistant: who answers — the assistant, or a human (needs_human: handed"
        " over and waiting for one; human: an operator or agent wrote) until the chat is closed"
        " (POST /conversations/{id}/close); absent on a number without assistant",
    )
    created_at: datetime


class OutsideWindowTemplate(ApiModel):
    """An approved WhatsApp template with the values of its body's parameters."""

    name: str
    language: str
    params: list[str] = Field(default_factory=empty_list)


class MessageRecord(ApiModel):
    """A message as stored (the conversation's log)."""

    id: str
    tenant_id: str
    conversation_id: str
    direction: Direction
    source: MessageSource
    type: str = "text"
    text: Annotated[str | None, PERSONAL] = None
    files: list[StoredFile] = Field(default_factory=empty_list)
    status: MessageStatus
    wamids: list[str] = Field(default_factory=empty_list)
    external_id: str | None = None
    bitrix_chat_id: str | None = None
    bitrix_message_id: str | None = None
    author_id: str | None = None
    template: str | None = None
    # A WhatsApp interactive message (list or reply buttons, Meta's ``interactive`` object) the assistant sends;
    # ``text`` is its body.
    interactive: dict[str, Any] | None = None
    # The message's own approved template, sent instead of the text outside the 24-hour window (the assistant's
    # follow-ups), ahead of the number's: ``name``, ``language`` and the body's ``params`` in order.
    outside_window: OutsideWindowTemplate | None = None
    error: str | None = None
    attempts: int = 0
    # Whether the Open Line was told (delivery status of an operator's message; mirror of an agent's message).
    bitrix_reported: bool = False
    sent_at: str
    created_at: str
    updated_at: str
    delivered_at: str | None = None
    read_at: str | None = None
    version: int = 1


class PendingJob(ApiModel):
    """A job of a conversation not done yet (a received message to relay, a message to send), kept in the table in
    the conversation's order from the moment it reached BTRIX; the queue's messages only trigger them."""

    id: str = Field(description="Its place in the conversation's order (the id its message gets)")
    tenant_id: str
    conversation_id: str
    group: str = Field(description="The conversation's queue group")
    job: str = Field(description="The job, as JSON (what the queue message would carry)")
    attempts: int = Field(default=0, description="Attempts that failed and may be retried (not queue receives)")


class Message(ApiModel):
    """One message of a conversation, in either direction, with how its relay went."""

    id: str
    conversation_id: str
    direction: Direction
    source: MessageSource
    type: str
    text: str | None = None
    files: list[StoredFile] = Field(default_factory=empty_list)
    status: MessageStatus
    template: str | None = Field(default=None, description="The template sent instead of the text (outside the window)")
    error: str | None = None
    attempts: int
    author_id: str | None = None
    wamids: list[str] = Field(
        default_factory=empty_list,
        description="WhatsApp's ids (wamid) of this message: the one received, or one per part sent (text, each"
        " file); what Meta's webhooks and the WhatsApp Business Manager show",
    )
    bitrix_chat_id: str | None = Field(default=None, description="The Bitrix24 Open Lines chat the message is in")
    bitrix_message_id: str | None = Field(
        default=None,
        description="Bitrix24's id of the message: the operator's message (source bitrix24), or the message the"
        " relay created in the Open Line (received from WhatsApp)",
    )
    sent_at: datetime = Field(description="When it was written (the provider's time for received messages)")
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None = None
    read_at: datetime | None = None


class ConversationListQuery(PageParams):
    """Filters of ``GET /conversations``: one of channel or contact, and a range of last-message times."""

    channel_id: str | None = Field(default=None, min_length=26, max_length=26)
    contact: str | None = Field(default=None, description="The customer's number, E.164 (+5511…) or digits only")
    since: Instant | None = Field(default=None, description="Last message at or after (ISO 8601)")
    until: Instant | None = Field(default=None, description="Last message before (ISO 8601)")


class MessageListQuery(PageParams):
    """Paging of a conversation's messages, newest first."""


class SendMessageRequest(ApiModel):
    """A message an agent writes from BTRIX: sent on WhatsApp and mirrored into the Bitrix24 chat."""

    text: str = Field(min_length=1, max_length=4096)
