"""DynamoDB access of conversations and their message logs.

A conversation's id is derived from (channel, customer's wa_id): finding or creating it is one conditional write.
A message's id is a ULID of the moment the gateway first recorded it, so the log lists messages in the order they
reached BTRIX, to the millisecond (providers' own timestamps are whole seconds, which would leave a customer's
message and the operator's reply of the same second in a random order). A provider's id for it (the ``wamid``,
the Bitrix24 message id) points at it through a reference item written in the same transaction, on the condition
that there is none yet: a relay that runs twice (a redelivered queue message, a twin worker) finds the first one's
message instead of making a new one. Phones never appear in keys: the contact facet uses a keyed hash.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr
from ulid import ULID

from chalicelib.conversations.models import ConversationRecord, MessageRecord, PendingJob
from chalicelib.core.crypto import lookup_hash
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind
from chalicelib.core.db.store import (
    AlreadyExists,
    QueryPage,
    Table,
    TransactionConflict,
    WriteOp,
    change_op,
    put_op,
)
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, GSI3, strip_storage

__all__ = [
    "MESSAGE_CHILD",
    "contact_conversations",
    "contact_hash",
    "conversation_id",
    "conversation_key",
    "conversation_pk",
    "count_send",
    "create_conversation",
    "create_message",
    "drop_pending",
    "find_provider_message",
    "find_wamid",
    "get_conversation",
    "get_message",
    "list_conversations",
    "list_messages",
    "message_id",
    "message_key",
    "message_of",
    "moved_to",
    "note_pending_attempt",
    "pending_item",
    "pending_jobs",
    "pending_op",
    "record_provider_message",
    "update_conversation",
    "update_message",
    "wamid_ref_op",
]

CONVERSATION_ENTITY = "Conversation"
MESSAGE_ENTITY = "ConversationMessage"
MESSAGE_CHILD = keys.Child.MESSAGE
_WAMID_CHILD = keys.Child.PROVIDER_MESSAGE
_RATE_CHILD = keys.Child.RATE
_PENDING_CHILD = keys.Child.PENDING_JOB
PENDING_ENTITY = "ConversationPendingJob"
_CHANNEL_FACET = keys.Facet.CHANNEL
_CONTACT_FACET = keys.Facet.CONTACT
_RATE_TTL_S = 120


def conversation_id(channel_id: str, wa_id: str) -> str:
    """The id of the conversation of ``channel_id`` with ``wa_id`` (always the same, 26 characters)."""
    digest = hashlib.sha256(f"conversation|{channel_id}|{wa_id}".encode()).digest()
    return str(ULID.from_bytes(digest[:16]))


def message_id(at: datetime, external_id: str) -> str:
    """A message's id: time-ordered (``at``, to the millisecond), the provider's id breaking a tie."""
    millis = int(at.timestamp() * 1000).to_bytes(6, "big")
    return str(ULID.from_bytes(millis + hashlib.sha256(external_id.encode()).digest()[:10]))


def contact_hash(wa_id: str) -> str:
    """The keyed hash standing for a customer's number in the contact facet."""
    return lookup_hash("wa_contact", wa_id)


def conversation_key(tenant_id: str, conversation: str) -> tuple[str, str]:
    """(PK, SK) of a conversation."""
    return keys.entity_pk(tenant_id, Kind.CONVERSATION, conversation), keys.META_SK


def message_key(tenant_id: str, conversation: str, message: str) -> tuple[str, str]:
    """(PK, SK) of a message: under its conversation, sorted by time."""
    return keys.entity_pk(tenant_id, Kind.CONVERSATION, conversation), keys.child_sk(MESSAGE_CHILD, message)


def _index_keys(record: ConversationRecord) -> dict[str, str]:
    sort = keys.time_sk(record.last_message_at, record.id)
    return {
        GSI1.partition_key: keys.collection_pk(record.tenant_id, Collection.CONVERSATIONS),
        GSI1.sort_key: sort,
        GSI2.partition_key: keys.facet_pk(
            record.tenant_id, Collection.CONVERSATIONS, _CHANNEL_FACET, record.channel_id
        ),
        GSI2.sort_key: sort,
        GSI3.partition_key: keys.facet_pk(
            record.tenant_id, Collection.CONVERSATIONS, _CONTACT_FACET, contact_hash(record.wa_id)
        ),
        GSI3.sort_key: sort,
    }


def _conversation(item: Mapping[str, Any]) -> ConversationRecord:
    return ConversationRecord.model_validate(strip_storage(item))


def _message(item: Mapping[str, Any]) -> MessageRecord:
    return MessageRecord.model_validate(strip_storage(item))


def get_conversation(tenant_id: str, conversation: str, *, consistent: bool = False) -> ConversationRecord | None:
    """The conversation, or None."""
    item = Table().get(*conversation_key(tenant_id, conversation), consistent=consistent)
    return _conversation(item) if item else None


def create_conversation(record: ConversationRecord) -> ConversationRecord:
    """Create ``record``; when it exists already (a twin relay made it), the stored one is returned."""
    pk, sk = conversation_key(record.tenant_id, record.id)
    item = {"PK": pk, "SK": sk, ENTITY: CONVERSATION_ENTITY, **record.model_dump(), **_index_keys(record)}
    try:
        Table().put_new(item)
    except AlreadyExists:
        found = get_conversation(record.tenant_id, record.id, consistent=True)
        if found is None:  # pragma: no cover - deleted between the two calls
            raise
        return found
    return record


def moved_to(record: ConversationRecord, last_message_at: str) -> dict[str, Any]:
    """The attributes that make ``last_message_at`` the conversation's last activity (and move it up its lists),
    or nothing when it is not later than the one it has."""
    if last_message_at <= record.last_message_at:
        return {}
    moved = record.model_copy(update={"last_message_at": last_message_at})
    return {"lastMessageAt": last_message_at, **_index_keys(moved)}


def update_conversation(
    record: ConversationRecord,
    *,
    set_: Mapping[str, Any] | None = None,
    add: Mapping[str, int] | None = None,
    last_message_at: str | None = None,
) -> None:
    """Set and add to the conversation's attributes; a ``last_message_at`` later than the one read also moves the
    conversation up its lists. (One conversation's messages are relayed one at a time: its FIFO group.)"""
    changes = {name: value for name, value in (set_ or {}).items() if value is not None}
    if last_message_at is not None:
        changes.update(moved_to(record, last_message_at))
    if not changes and not add:
        return
    op = change_op(*conversation_key(record.tenant_id, record.id), set_=changes or None, add=add)
    Table().transact([op])


def create_message(record: MessageRecord) -> MessageRecord:
    """Create ``record``; when a message with its id exists (the same provider message), the stored one."""
    pk, sk = message_key(record.tenant_id, record.conversation_id, record.id)
    try:
        Table().put_new({"PK": pk, "SK": sk, ENTITY: MESSAGE_ENTITY, **record.model_dump()})
    except AlreadyExists:
        found = get_message(record.tenant_id, record.conversation_id, record.id, consistent=True)
        if found is None:  # pragma: no cover - deleted between the two calls
            raise
        return found
    return record


def get_message(tenant_id: str, conversation: str, message: str, *, consistent: bool = False) -> MessageRecord | None:
    """The message, or None."""
    item = Table().get(*message_key(tenant_id, conversation, message), consistent=consistent)
    return _message(item) if item else None


def update_message(
    record: MessageRecord, changes: Mapping[str, Any], *, from_status: Iterable[str] | None = None
) -> MessageRecord | None:
    """Set ``changes`` on the message (only while its status is one of ``from_status``, when given); returns the
    message as written, or None when its status had moved on."""
    condition: Any = Attr("PK").exists()
    statuses = list(from_status or [])
    if statuses:
        condition = condition & Attr("status").is_in(statuses)
    pk, sk = message_key(record.tenant_id, record.conversation_id, record.id)
    set_ = {name: value for name, value in changes.items() if value is not None}
    remove = [name for name, value in changes.items() if value is None]
    try:
        Table().transact([change_op(pk, sk, set_=set_, add={"version": 1}, remove=remove, condition=condition)])
    except TransactionConflict:
        return None
    merged = {**record.model_dump(), **changes, "version": record.version + 1}
    return MessageRecord.model_validate(merged)


def _ref_key(tenant_id: str, conversation: str, provider_id: str) -> tuple[str, str]:
    pk = keys.entity_pk(tenant_id, Kind.CONVERSATION, conversation)
    return pk, keys.child_sk(_WAMID_CHILD, hashlib.sha256(provider_id.encode()).hexdigest()[:40])


def wamid_ref_op(tenant_id: str, conversation: str, wamid: str, message: str) -> WriteOp:
    """The write that finds message ``message`` from Meta's id for it (status callbacks name the wamid)."""
    pk, sk = _ref_key(tenant_id, conversation, wamid)
    return put_op({"PK": pk, "SK": sk, ENTITY: "ConversationWamid", "messageId": message}, must_not_exist=False)


def find_wamid(tenant_id: str, conversation: str, wamid: str) -> str | None:
    """The id of the message Meta (or Bitrix24) knows as ``wamid``, or None."""
    item = Table().get(*_ref_key(tenant_id, conversation, wamid), consistent=True)
    return str(item["messageId"]) if item else None


def find_provider_message(tenant_id: str, conversation: str, provider_id: str) -> MessageRecord | None:
    """The message recorded for the provider's ``provider_id``, or None."""
    found = find_wamid(tenant_id, conversation, provider_id)
    return get_message(tenant_id, conversation, found, consistent=True) if found else None


def record_provider_message(
    record: MessageRecord, provider_id: str, with_ops: Iterable[WriteOp] = ()
) -> tuple[MessageRecord, bool]:
    """Record ``record`` as the provider's message ``provider_id`` together with ``with_ops`` (one transaction),
    unless it is already recorded: (the message, whether this call recorded it)."""
    found = find_provider_message(record.tenant_id, record.conversation_id, provider_id)
    if found is not None:
        return found, False
    pk, sk = message_key(record.tenant_id, record.conversation_id, record.id)
    ref_pk, ref_sk = _ref_key(record.tenant_id, record.conversation_id, provider_id)
    try:
        Table().transact(
            [
                put_op({"PK": pk, "SK": sk, ENTITY: MESSAGE_ENTITY, **record.model_dump()}),
                put_op({"PK": ref_pk, "SK": ref_sk, ENTITY: "ConversationWamid", "messageId": record.id}),
                *with_ops,
            ]
        )
    except TransactionConflict:  # a twin recorded it first
        found = find_provider_message(record.tenant_id, record.conversation_id, provider_id)
        if found is None:
            raise
        return found, False
    return record, True


def list_conversations(
    tenant_id: str,
    *,
    channel_id: str | None,
    contact_wa_id: str | None,
    between: tuple[str, str] | None,
    limit: int,
    start_key: Mapping[str, str] | None,
) -> tuple[list[ConversationRecord], dict[str, str] | None]:
    """Conversations by last message, newest first: all of them, or one channel's, or one contact's."""
    if contact_wa_id is not None:
        index = GSI3
        partition = keys.facet_pk(tenant_id, Collection.CONVERSATIONS, _CONTACT_FACET, contact_hash(contact_wa_id))
    elif channel_id is not None:
        index = GSI2
        partition = keys.facet_pk(tenant_id, Collection.CONVERSATIONS, _CHANNEL_FACET, channel_id)
    else:
        index = GSI1
        partition = keys.collection_pk(tenant_id, Collection.CONVERSATIONS)
    page = Table().query_page(
        partition, index=index, sort_between=between, limit=limit, start_key=start_key, newest_first=True
    )
    records = [_conversation(item) for item in page.items]
    if channel_id is not None and contact_wa_id is not None:
        records = [r for r in records if r.channel_id == channel_id]
    return records, page.last_key


def list_messages(tenant_id: str, conversation: str, *, limit: int, start_key: Mapping[str, str] | None) -> QueryPage:
    """A page of the conversation's messages, newest first (raw items: convert with ``message_of``)."""
    pk = keys.entity_pk(tenant_id, Kind.CONVERSATION, conversation)
    return Table().query_page(
        pk, sort_prefix=keys.child_prefix(MESSAGE_CHILD), limit=limit, start_key=start_key, newest_first=True
    )


def message_of(item: Mapping[str, Any]) -> MessageRecord:
    """The message record of a stored item."""
    return _message(item)


def count_send(tenant_id: str, channel_id: str, second: int) -> int:
    """Count one send from the channel's number in epoch second ``second``; returns the count in that second."""
    return Table().increment(
        keys.entity_pk(tenant_id, Kind.CHANNEL, channel_id),
        keys.child_sk(_RATE_CHILD, str(second)),
        "count",
        expires_at=second + _RATE_TTL_S,
    )


def _pending_key(tenant_id: str, conversation: str, pending_id: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.CONVERSATION, conversation), keys.child_sk(_PENDING_CHILD, pending_id)


def pending_item(job: PendingJob) -> dict[str, Any]:
    """The item that keeps ``job`` in its conversation's partition, after the jobs that reached BTRIX before it."""
    pk, sk = _pending_key(job.tenant_id, job.conversation_id, job.id)
    return {"PK": pk, "SK": sk, ENTITY: PENDING_ENTITY, **job.model_dump()}


def pending_op(job: PendingJob) -> WriteOp:
    """The write of ``pending_item(job)`` (in the transaction that records its message)."""
    return put_op(pending_item(job), must_not_exist=False)


def pending_jobs(tenant_id: str, conversation: str, *, limit: int = 25) -> list[PendingJob]:
    """The conversation's first ``limit`` pending jobs, in its order (read consistently: one was just dropped)."""
    pk = keys.entity_pk(tenant_id, Kind.CONVERSATION, conversation)
    page = Table().query_page(pk, sort_prefix=keys.child_prefix(_PENDING_CHILD), limit=limit, consistent=True)
    return [PendingJob.model_validate(strip_storage(item)) for item in page.items]


def note_pending_attempt(job: PendingJob) -> int:
    """Count a failed attempt of ``job``; returns its attempts now (it is left alone when already dropped)."""
    pk, sk = _pending_key(job.tenant_id, job.conversation_id, job.id)
    with contextlib.suppress(TransactionConflict):
        Table().transact([change_op(pk, sk, add={"attempts": 1}, condition=Attr("PK").exists())])
    return job.attempts + 1


def drop_pending(job: PendingJob) -> None:
    """``job`` is done (or given up): the conversation's next one comes first now."""
    Table().delete(*_pending_key(job.tenant_id, job.conversation_id, job.id))


def conversation_pk(tenant_id: str, conversation: str) -> str:
    """The conversation's partition (the conversation, its messages, provider-id references, pending jobs, and the
    shop assistant's cart and memory of the customer)."""
    return conversation_key(tenant_id, conversation)[0]


def contact_conversations(tenant_id: str, wa_id: str) -> list[ConversationRecord]:
    """Every conversation with this WhatsApp number, on any of the tenant's numbers (for privacy requests)."""
    found: list[ConversationRecord] = []
    start: Mapping[str, str] | None = None
    while True:
        records, start = list_conversations(
            tenant_id, channel_id=None, contact_wa_id=wa_id, between=None, limit=100, start_key=start
        )
        found += records
        if start is None:
            return found
