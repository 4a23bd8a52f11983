"""The global lookup of the messages providers accepted from us: a provider's message id (a Twilio SID, a Meta
``wamid``) → the notification that sent it, its channel, and the provider account that sent it
(``ROUTE#PROVIDERMSG#<hash>``, outside every tenant, written with ``sent``). A provider's status report names only its
message id; this is how it finds the message, and whether the account that vouched for it may change it
(``notifications.status``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chalicelib.core.db import keys
from chalicelib.core.db.keys import RouteKind
from chalicelib.core.db.store import Table, WriteOp, put_op
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY
from chalicelib.notifications.models import NotificationRecord

__all__ = ["SentMessage", "find_sent_message", "provider_message_key", "provider_route_op"]


@dataclass(frozen=True)
class SentMessage:
    """What the lookup of a provider's message id holds: the notification that sent it, its channel, and the
    provider account that sent it (``sent_by``: a Twilio AccountSid, a Meta phone number id). ``channel`` and
    ``sent_by`` are None on items written before they were recorded (2026-12-07); ``sent_by`` also where the
    provider has no account to name (email, push)."""

    tenant_id: str
    notification_id: str
    channel: str | None = None
    sent_by: str | None = None


def provider_message_key(provider: str, provider_message_id: str) -> tuple[str, str]:
    """(PK, SK) of the global lookup of ``provider``'s message id (a digest: no provider id in the key string)."""
    digest = hashlib.sha256(f"{provider}:{provider_message_id}".encode()).hexdigest()
    return keys.route_pk(RouteKind.PROVIDER_MESSAGE, digest), keys.ROUTE_SK


def provider_route_op(
    record: NotificationRecord, provider: str, provider_message_id: str, sent_by: str | None
) -> WriteOp:
    """The global lookup a provider's status report (which names only its message id) finds the message by, with
    what applying the report needs (no read of the notification) and the account that sent it (``sent_by``: only a
    report that account vouched for may change the message)."""
    pk, sk = provider_message_key(provider, provider_message_id)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: "ProviderMessageRoute",
        "tenantId": record.tenant_id,
        "notificationId": record.id,
        "channel": record.channel,
        "sentBy": sent_by,
    }
    return put_op(item, must_not_exist=False)


def find_sent_message(provider: str, provider_message_id: str) -> SentMessage | None:
    """The message a provider knows as ``provider_message_id`` (see ``SentMessage``), or None."""
    item = Table().get(*provider_message_key(provider, provider_message_id))
    if item is None:
        return None
    channel, sent_by = item.get("channel"), item.get("sentBy")
    return SentMessage(
        tenant_id=str(item["tenantId"]),
        notification_id=str(item["notificationId"]),
        channel=None if channel is None else str(channel),
        sent_by=None if sent_by is None else str(sent_by),
    )
