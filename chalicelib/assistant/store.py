"""Assistant items: a number's configuration (on the channel's partition), a customer's cart, memory and pending
follow-up (on the conversation's partition, with a TTL), the turns of a conversation per minute and the tenant's LLM
tokens per month.

A conversation's messages are handled one at a time (its FIFO group), so its cart and memory are written whole; a
configuration is written under its version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.assistant.models import AssistantConfigRecord, CartRecord, FollowUpRecord, MemoryRecord
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, VersionConflict, WriteOp, change_op, put_op
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, strip_storage

__all__ = [
    "add_tokens",
    "count_turn",
    "drop_follow_up",
    "forget_customer",
    "get_cart",
    "get_config",
    "get_follow_up",
    "get_memory",
    "mark_follow_up_sent",
    "put_cart",
    "put_config",
    "put_follow_up",
    "put_memory",
    "tokens_used",
]

CONFIG_ENTITY = "AssistantConfig"
CART_ENTITY = "AssistantCart"
MEMORY_ENTITY = "AssistantMemory"
FOLLOW_UP_ENTITY = "AssistantFollowUp"
_RATE_TTL_S = 120


def _config_key(tenant_id: str, channel_id: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.CHANNEL, channel_id), keys.ASSISTANT_SK


def _conversation_key(tenant_id: str, conversation_id: str, sk: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.CONVERSATION, conversation_id), sk


def _tokens_key(tenant_id: str, month: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.TENANT, tenant_id), keys.child_sk(keys.Child.COUNTER, f"LLMTOKENS-{month}")


def get_config(tenant_id: str, channel_id: str, *, consistent: bool = False) -> AssistantConfigRecord | None:
    """The number's assistant, or None (a number without one relays to Bitrix24)."""
    item = Table().get(*_config_key(tenant_id, channel_id), consistent=consistent)
    return None if item is None else AssistantConfigRecord.model_validate(strip_storage(item))


def put_config(record: AssistantConfigRecord, expected_version: int, with_ops: Iterable[WriteOp] = ()) -> None:
    """Write the number's assistant (version ``expected_version + 1``) with ``with_ops`` (one transaction) unless
    another write moved it first."""
    pk, sk = _config_key(record.tenant_id, record.channel_id)
    item = {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: CONFIG_ENTITY, **record.model_dump(exclude_none=True)}
    guard = Attr("version").not_exists() if expected_version == 0 else Attr("version").eq(expected_version)
    conflict = VersionConflict(detail="the assistant changed meanwhile; read it again and retry")
    Table().transact([put_op(item, condition=guard, conflict=conflict), *with_ops])


def _get(tenant_id: str, conversation_id: str, sk: str) -> Mapping[str, Any] | None:
    return Table().get(*_conversation_key(tenant_id, conversation_id, sk), consistent=True)


def _put(tenant_id: str, conversation_id: str, sk: str, entity: str, fields: dict[str, Any], ttl: int) -> None:
    pk, key = _conversation_key(tenant_id, conversation_id, sk)
    Table().put({PARTITION_KEY: pk, SORT_KEY: key, ENTITY: entity, TTL_ATTRIBUTE: ttl, **fields})


def get_cart(tenant_id: str, conversation_id: str) -> CartRecord | None:
    """The customer's cart in the conversation (None: none, or expired)."""
    item = _get(tenant_id, conversation_id, keys.CART_SK)
    return None if item is None else CartRecord.model_validate(strip_storage(item))


def put_cart(record: CartRecord, expires_at: int) -> None:
    """Write the cart whole (kept until ``expires_at``, epoch seconds)."""
    fields = record.model_dump(exclude_none=True)
    _put(record.tenant_id, record.conversation_id, keys.CART_SK, CART_ENTITY, fields, expires_at)


def get_memory(tenant_id: str, conversation_id: str) -> MemoryRecord | None:
    """What the assistant remembers of the conversation (None: nothing, or expired)."""
    item = _get(tenant_id, conversation_id, keys.MEMORY_SK)
    return None if item is None else MemoryRecord.model_validate(strip_storage(item))


def put_memory(record: MemoryRecord, expires_at: int) -> None:
    """Write the memory whole (kept until ``expires_at``, epoch seconds)."""
    fields = record.model_dump(exclude_none=True)
    _put(record.tenant_id, record.conversation_id, keys.MEMORY_SK, MEMORY_ENTITY, fields, expires_at)


def count_turn(tenant_id: str, conversation_id: str, minute: int) -> int:
    """Count one customer message of the conversation in epoch minute ``minute``; the count in that minute."""
    pk, _ = _conversation_key(tenant_id, conversation_id, keys.META_SK)
    sk = keys.child_sk(keys.Child.RATE, str(minute))
    return Table().increment(pk, sk, "count", expires_at=minute * 60 + _RATE_TTL_S)


def add_tokens(tenant_id: str, month: str, tokens: int) -> int:
    """Add ``tokens`` to the tenant's LLM tokens of ``month`` (yyyy-mm); the month's total."""
    return Table().increment(*_tokens_key(tenant_id, month), "count", by=tokens)


def tokens_used(tenant_id: str, month: str) -> int:
    """The tenant's LLM tokens of ``month`` so far."""
    item = Table().get(*_tokens_key(tenant_id, month))
    return int(item.get("count", 0)) if item else 0


def get_follow_up(tenant_id: str, conversation_id: str) -> FollowUpRecord | None:
    """The conversation's pending (or sent) reminder, or None."""
    item = _get(tenant_id, conversation_id, keys.FOLLOW_UP_SK)
    return None if item is None else FollowUpRecord.model_validate(strip_storage(item))


def put_follow_up(record: FollowUpRecord, expires_at: int) -> None:
    """Write the reminder whole (kept until ``expires_at``, epoch seconds): a new token obsoletes the old timer."""
    fields = record.model_dump(exclude_none=True)
    _put(record.tenant_id, record.conversation_id, keys.FOLLOW_UP_SK, FOLLOW_UP_ENTITY, fields, expires_at)


def drop_follow_up(tenant_id: str, conversation_id: str) -> None:
    """Call the conversation's reminder off (its timer, when it fires, finds nothing)."""
    Table().delete(*_conversation_key(tenant_id, conversation_id, keys.FOLLOW_UP_SK))


def mark_follow_up_sent(record: FollowUpRecord, at: str) -> bool:
    """Note the reminder ``record`` sent at ``at``, unless another token replaced it or it was noted already."""
    pk, sk = _conversation_key(record.tenant_id, record.conversation_id, keys.FOLLOW_UP_SK)
    guard = Attr("token").eq(record.token) & Attr("sentAt").not_exists()
    try:
        Table().transact([change_op(pk, sk, set_={"sentAt": at}, condition=guard)])
    except TransactionConflict:
        return False
    return True


def forget_customer(tenant_id: str, conversation_id: str) -> int:
    """Delete the customer's cart, the assistant's memory and pending reminder of the conversation; answers how many
    there were."""
    table = Table()
    forgotten = 0
    for sk in (keys.CART_SK, keys.MEMORY_SK, keys.FOLLOW_UP_SK):
        if _get(tenant_id, conversation_id, sk) is not None:
            table.delete(*_conversation_key(tenant_id, conversation_id, sk))
            forgotten += 1
    return forgotten
