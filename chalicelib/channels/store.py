"""Channel items: numbers and portals (one partition each, listed on GSI1; numbers of a portal on GSI2), the tenant's
claim on each number, and each portal's token item (listed, while connected, on the platform's expiry list)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from chalicelib.channels.models import PortalRecord, PortalTokensRecord, WhatsAppChannelRecord
from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind
from chalicelib.core.db.store import (
    QueryPage,
    Table,
    TransactionConflict,
    WriteOp,
    change_op,
    delete_op,
    put_op,
    update_op,
)
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, PARTITION_KEY, SORT_KEY, VERSION, strip_storage
from chalicelib.core.observability import logger

__all__ = [
    "PORTAL_FACET",
    "TOKENS_COLLECTION",
    "ChannelRecord",
    "all_channels",
    "channel_key",
    "delete_channel_ops",
    "due_tokens",
    "get_channel",
    "get_tokens",
    "health_op",
    "list_channels",
    "mapping_changes",
    "new_channel_op",
    "number_claim_op",
    "numbers_of_portal",
    "record_activity",
    "record_of",
    "token_change_op",
    "token_key",
    "tokens_item",
    "update_channel_op",
]

WHATSAPP_ENTITY = "WhatsAppChannel"
PORTAL_ENTITY = "BitrixPortal"
TOKENS_ENTITY = "BitrixPortalTokens"
PORTAL_FACET = keys.Facet.PORTAL
TOKENS_COLLECTION = keys.PlatformCollection.BITRIX24_TOKENS
_NUMBER_FIELD = keys.UniqueField.WHATSAPP_NUMBER
_MAX_NUMBERS_PER_PAGE = 100

ChannelRecord = WhatsAppChannelRecord | PortalRecord


def channel_key(tenant_id: str, channel_id: str) -> tuple[str, str]:
    """(PK, SK) of a channel (number or portal)."""
    return keys.entity_pk(tenant_id, Kind.CHANNEL, channel_id), keys.META_SK


def token_key(tenant_id: str, portal_id: str) -> tuple[str, str]:
    """(PK, SK) of a portal's token item."""
    return keys.entity_pk(tenant_id, Kind.CHANNEL, portal_id), keys.PORTAL_TOKEN_SK


def _number_claim_key(tenant_id: str, phone_number_id: str) -> tuple[str, str]:
    return keys.unique_pk(tenant_id, _NUMBER_FIELD, phone_number_id), keys.UNIQUE_SK


def _portal_facet(tenant_id: str, portal_id: str) -> str:
    return keys.facet_pk(tenant_id, Collection.CHANNELS, PORTAL_FACET, portal_id)


def mapping_changes(tenant_id: str, channel_id: str, created_at: str, portal_id: str | None) -> dict[str, Any]:
    """The GSI2 attributes that list a number under its portal (None values: not listed, to be removed)."""
    if portal_id is None:
        return {GSI2.partition_key: None, GSI2.sort_key: None}
    return {
        GSI2.partition_key: _portal_facet(tenant_id, portal_id),
        GSI2.sort_key: keys.time_sk(created_at, channel_id),
    }


def record_of(item: Mapping[str, Any]) -> ChannelRecord:
    """The domain record of a stored channel item."""
    plain = strip_storage(item)
    if plain.get("kind") == "bitrix24":
        return PortalRecord.model_validate(plain)
    return WhatsAppChannelRecord.model_validate(plain)


def new_channel_op(record: ChannelRecord) -> WriteOp:
    """Create the channel (a number is listed under its portal when it is mapped to one)."""
    pk, sk = channel_key(record.tenant_id, record.id)
    item: dict[str, Any] = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        GSI1.partition_key: keys.collection_pk(record.tenant_id, Collection.CHANNELS),
        GSI1.sort_key: keys.time_sk(record.created_at, record.id),
        ENTITY: PORTAL_ENTITY if isinstance(record, PortalRecord) else WHATSAPP_ENTITY,
        **record.model_dump(exclude_none=True),
    }
    if isinstance(record, WhatsAppChannelRecord):
        mapped = mapping_changes(record.tenant_id, record.id, record.created_at, record.portal_id)
        item.update({name: value for name, value in mapped.items() if value is not None})
    return put_op(item)


def number_claim_op(record: WhatsAppChannelRecord) -> WriteOp:
    """The tenant's claim on the number's phone number id, created with its channel: its condition fails when a
    channel of the tenant has the number already."""
    claim_pk, claim_sk = _number_claim_key(record.tenant_id, record.phone_number_id)
    return put_op({PARTITION_KEY: claim_pk, SORT_KEY: claim_sk, ENTITY: "Unique", "channelId": record.id})


def get_channel(tenant_id: str, channel_id: str, *, consistent: bool = False) -> ChannelRecord | None:
    """The channel, or None."""
    item = Table().get(*channel_key(tenant_id, channel_id), consistent=consistent)
    return record_of(item) if item else None


def update_channel_op(record: ChannelRecord, changes: Mapping[str, Any]) -> WriteOp:
    """Apply ``changes`` (stored names; None removes) to the version of ``record`` that was read."""
    sets = {name: value for name, value in changes.items() if value is not None}
    removed = [name for name, value in changes.items() if value is None]
    return update_op(*channel_key(record.tenant_id, record.id), sets, expected_version=record.version, remove=removed)


def health_op(
    tenant_id: str, channel_id: str, changes: Mapping[str, Any], *, condition: ConditionBase | None = None
) -> WriteOp:
    """Set health fields (last activity, last error, token expiry) whatever the version (they are not the
    client's to edit, so they do not make its next PATCH fail), only if ``condition`` holds when given."""
    return change_op(*channel_key(tenant_id, channel_id), set_=changes, condition=condition)


def record_activity(
    tenant_id: str,
    channel_id: str,
    *,
    inbound_at: str | None = None,
    outbound_at: str | None = None,
    error: str | None = None,
) -> None:
    """Note on the channel's health when it last received or sent a message (ISO times that only move forward),
    or what last went wrong."""
    writes: list[tuple[dict[str, Any], ConditionBase | None]] = []
    for name, at in (("lastInboundAt", inbound_at), ("lastOutboundAt", outbound_at)):
        if at is not None:
            writes.append(({name: at}, Attr(name).not_exists() | Attr(name).lt(at)))
    if error:
        writes.append(({"lastError": {"at": clock.now_iso(), "message": error[:500]}}, None))
    for changes, condition in writes:  # one write each: an older time must not hold back the other fields
        try:
            Table().transact([health_op(tenant_id, channel_id, changes, condition=condition)])
        except TransactionConflict:
            logger.debug("channel activity not newer, or channel deleted", extra={"channelId": channel_id})


def delete_channel_ops(record: ChannelRecord) -> list[WriteOp]:
    """Delete the channel (as read) with what belongs to it: a number's claim, a portal's tokens."""
    ops = [delete_op(*channel_key(record.tenant_id, record.id), condition=Attr(VERSION).eq(record.version))]
    if isinstance(record, WhatsAppChannelRecord):
        ops.append(delete_op(*_number_claim_key(record.tenant_id, record.phone_number_id)))
    else:
        ops.append(delete_op(*token_key(record.tenant_id, record.id)))
    return ops


def list_channels(tenant_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage:
    """One page of the tenant's channels, newest first."""
    partition = keys.collection_pk(tenant_id, Collection.CHANNELS)
    return Table().query_page(partition, index=GSI1, limit=limit, start_key=start_key, newest_first=True)


def all_channels(tenant_id: str) -> Iterator[ChannelRecord]:
    """Every channel of the tenant, newest first (an account has a handful)."""
    start: dict[str, str] | None = None
    while True:
        page = list_channels(tenant_id, 100, start)
        yield from (record_of(item) for item in page.items)
        if page.last_key is None:
            return
        start = dict(page.last_key)


def numbers_of_portal(tenant_id: str, portal_id: str) -> list[WhatsAppChannelRecord]:
    """Every WhatsApp number mapped to the portal."""
    found: list[WhatsAppChannelRecord] = []
    start: dict[str, str] | None = None
    while True:
        page = Table().query_page(
            _portal_facet(tenant_id, portal_id), index=GSI2, limit=_MAX_NUMBERS_PER_PAGE, start_key=start
        )
        found.extend(WhatsAppChannelRecord.model_validate(strip_storage(item)) for item in page.items)
        if page.last_key is None:
            return found
        start = page.last_key


def _listed(record: PortalTokensRecord) -> dict[str, str]:
    return {
        GSI1.partition_key: keys.platform_collection_pk(TOKENS_COLLECTION),
        GSI1.sort_key: keys.expiry_sk(record.token_expires_at, record.tenant_id, record.portal_id),
    }


def tokens_item(record: PortalTokensRecord) -> dict[str, Any]:
    """The token item of a connected portal, listed on the platform's expiry list (for the refresh schedule)."""
    pk, sk = token_key(record.tenant_id, record.portal_id)
    return {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: TOKENS_ENTITY,
        **_listed(record),
        **record.model_dump(exclude_none=True),
    }


def get_tokens(tenant_id: str, portal_id: str, *, consistent: bool = True) -> PortalTokensRecord | None:
    """The portal's tokens (read consistently by default: a refresh must see the latest pair)."""
    item = Table().get(*token_key(tenant_id, portal_id), consistent=consistent)
    return PortalTokensRecord.model_validate(strip_storage(item)) if item else None


def token_change_op(
    tenant_id: str,
    portal_id: str,
    *,
    set_: Mapping[str, Any] | None = None,
    remove: Iterable[str] = (),
    condition: Any = None,
    relist: PortalTokensRecord | None = None,
    unlist: bool = False,
) -> WriteOp:
    """A change to the token item when ``condition`` holds; ``relist`` moves it on the expiry list, ``unlist``
    takes it off (a disconnected portal is not refreshed)."""
    changes = dict(set_ or {})
    removed = list(remove)
    if relist is not None:
        changes.update(_listed(relist))
    if unlist:
        removed += [GSI1.partition_key, GSI1.sort_key]
    return change_op(*token_key(tenant_id, portal_id), set_=changes or None, remove=removed, condition=condition)


def due_tokens(before: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage:
    """Connected portals whose access token expires before ``before`` (ISO), soonest first (platform list)."""
    return Table().query_page(
        keys.platform_collection_pk(TOKENS_COLLECTION),
        index=GSI1,
        sort_between=("0", before),
        limit=limit,
        start_key=start_key,
    )
