"""Global routing items that find the tenant of an incoming webhook (``ROUTE#…``, outside every tenant).

- A WhatsApp phone-number id → the tenant (and channel) that connected it (``ROUTE#WAPHONE#<id>``).
- A Bitrix24 portal's ``member_id`` → the tenant, the portal domain and a keyed hash of the portal's
  ``application_token`` (``ROUTE#B24MEMBER#<member id>``): every event of the portal must carry that token.
- A one-time Bitrix24 connect token → the tenant (and its portal channel) that asked to connect a portal
  (``ROUTE#B24CONNECT#<hash>``, 24 h): it goes in the app's handler URL (``?connect=<token>``) and pairs the portal
  on ``ONAPPINSTALL``; the member route then carries that portal channel's id.

The ``*_op`` functions return transaction writes for the capability that owns the connection (the channel of
a number), so the route and the channel are written together. Called from a request, run them inside
``core.db.scope.unscoped()``: these keys are not the tenant's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from time import monotonic
from typing import Any, TypeVar

from boto3.dynamodb.conditions import Attr

from chalicelib.core import clock
from chalicelib.core.crypto import lookup_hash
from chalicelib.core.db import keys
from chalicelib.core.db.keys import RouteKind
from chalicelib.core.db.store import Table, WriteOp, delete_op, put_op
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from chalicelib.core.errors import Unauthorized
from chalicelib.core.kept import kept

__all__ = [
    "BITRIX_CONNECT_TTL",
    "ROUTE_TTL_S",
    "WHATSAPP_ROUTE_TTL_S",
    "BitrixPortalRoute",
    "WhatsAppRoute",
    "bind_bitrix_portal",
    "bitrix_connect_op",
    "bitrix_token_matches",
    "find_bitrix_portal",
    "find_whatsapp_route",
    "new_bitrix_connect_token",
    "remove_bitrix_portal_op",
    "remove_whatsapp_route_op",
    "whatsapp_route_op",
]

ROUTE_ENTITY = "Route"
BITRIX_CONNECT_TTL = timedelta(hours=24)
# How long a container trusts a route it read (the Meta and Bitrix24 webhooks look one up per delivery): a number
# or portal connected, moved or disconnected elsewhere is seen by every container within this many seconds; in the
# process that wrote it, at once. A Bitrix24 event whose token does not match the kept route reads it again.
ROUTE_TTL_S = WHATSAPP_ROUTE_TTL_S = 30.0
_whatsapp_routes: dict[str, tuple[float, WhatsAppRoute | None]] = {}
_bitrix_portals: dict[str, tuple[float, BitrixPortalRoute | None]] = {}
R = TypeVar("R")
_TOKEN_HASH_KIND = "b24_application_token"


@dataclass(frozen=True)
class WhatsAppRoute:
    """A connected WhatsApp number: which tenant (and which of its channels) receives its messages."""

    phone_number_id: str
    tenant_id: str
    channel_id: str | None = None


@dataclass(frozen=True)
class BitrixPortalRoute:
    """A connected Bitrix24 portal: its tenant, its domain, the hash of its application token, and the tenant's
    portal channel it belongs to (None for portals paired without one)."""

    member_id: str
    tenant_id: str
    domain: str
    token_hash: str
    portal_id: str | None = None


def _same_tenant_or_free(tenant_id: str) -> Any:
    # A number or portal belongs to one tenant: another tenant cannot take it over by connecting it too.
    return Attr(PARTITION_KEY).not_exists() | Attr("tenantId").eq(tenant_id)


def whatsapp_route_op(tenant_id: str, phone_number_id: str, channel_id: str | None = None) -> WriteOp:
    """The write that routes ``phone_number_id`` to the tenant; fails if another tenant has the number."""
    _whatsapp_routes.pop(phone_number_id, None)
    item = {
        PARTITION_KEY: keys.route_pk(RouteKind.WHATSAPP_PHONE_ID, phone_number_id),
        SORT_KEY: keys.ROUTE_SK,
        ENTITY: ROUTE_ENTITY,
        "tenantId": tenant_id,
        "phoneNumberId": phone_number_id,
        "channelId": channel_id,
        "createdAt": clock.now_iso(),
    }
    return put_op(item, condition=_same_tenant_or_free(tenant_id))


def remove_whatsapp_route_op(tenant_id: str, phone_number_id: str) -> WriteOp:
    """The write that stops routing ``phone_number_id`` (only the tenant that has it may remove it)."""
    _whatsapp_routes.pop(phone_number_id, None)
    pk = keys.route_pk(RouteKind.WHATSAPP_PHONE_ID, phone_number_id)
    return delete_op(pk, keys.ROUTE_SK, condition=Attr("tenantId").eq(tenant_id))


def _kept(cache: dict[str, tuple[float, R | None]], key: str, read: Callable[[], R | None], fresh: bool) -> R | None:
    """``cache[key]`` if read at most ``ROUTE_TTL_S`` ago (and not ``fresh``), else ``read()``, kept."""
    return kept(cache, key, read, ttl_s=ROUTE_TTL_S, now=monotonic(), fresh=fresh)


def find_whatsapp_route(phone_number_id: str) -> WhatsAppRoute | None:
    """The tenant a phone-number id is routed to, or None (as read at most ``WHATSAPP_ROUTE_TTL_S`` ago)."""

    def read() -> WhatsAppRoute | None:
        item = Table().get(keys.route_pk(RouteKind.WHATSAPP_PHONE_ID, phone_number_id), keys.ROUTE_SK)
        return None if item is None else WhatsAppRoute(phone_number_id, str(item["tenantId"]), item.get("channelId"))

    return _kept(_whatsapp_routes, phone_number_id, read, fresh=False)


def _token_hash(application_token: str) -> str:
    return lookup_hash(_TOKEN_HASH_KIND, application_token)


def bitrix_token_matches(route: BitrixPortalRoute, application_token: str) -> bool:
    """Whether ``application_token`` is the portal's (compared as keyed hashes, in constant time)."""
    return hmac.compare_digest(_token_hash(application_token), route.token_hash)


def find_bitrix_portal(member_id: str, *, kept: bool = False) -> BitrixPortalRoute | None:
    """The connected portal with ``member_id``, or None; with ``kept``, as this container read it at most
    ``ROUTE_TTL_S`` ago (the webhook's per-event lookup: a portal that reinstalled elsewhere has a new application
    token, so a mismatch is read again)."""

    def read() -> BitrixPortalRoute | None:
        item = Table().get(keys.route_pk(RouteKind.BITRIX_MEMBER, member_id), keys.ROUTE_SK)
        if item is None:
            return None
        return BitrixPortalRoute(
            member_id, str(item["tenantId"]), str(item["domain"]), str(item["tokenHash"]), item.get("portalId")
        )

    return _kept(_bitrix_portals, member_id, read, fresh=not kept)


def remove_bitrix_portal_op(tenant_id: str, member_id: str) -> WriteOp:
    """The write that disconnects portal ``member_id`` (only its tenant may)."""
    _bitrix_portals.pop(member_id, None)
    pk = keys.route_pk(RouteKind.BITRIX_MEMBER, member_id)
    return delete_op(pk, keys.ROUTE_SK, condition=Attr("tenantId").eq(tenant_id))


def _connect_pk(token: str) -> str:
    # Only the token's hash is stored: a read of the table does not give out a usable connect link.
    return keys.route_pk(RouteKind.BITRIX_CONNECT, hashlib.sha256(token.encode()).hexdigest())


def bitrix_connect_op(tenant_id: str, portal_id: str | None = None) -> tuple[str, WriteOp]:
    """A new one-time connect token (valid 24 h) for the tenant's portal channel ``portal_id``, and the transaction
    write that records it (with the portal channel, so both exist or neither)."""
    token = secrets.token_urlsafe(32)
    moment = clock.now()
    item = {
        PARTITION_KEY: _connect_pk(token),
        SORT_KEY: keys.ROUTE_SK,
        ENTITY: ROUTE_ENTITY,
        TTL_ATTRIBUTE: clock.to_epoch(moment + BITRIX_CONNECT_TTL),
        "tenantId": tenant_id,
        "portalId": portal_id,
        "createdAt": clock.isoformat(moment),
    }
    return token, put_op(item)


def new_bitrix_connect_token(tenant_id: str, portal_id: str | None = None) -> str:
    """A one-time token, valid 24 h, that lets a Bitrix24 portal installing our app connect to the tenant.

    Put it in the app's event handler URL (``…/hooks/bitrix24?connect=<token>``): the portal's ``ONAPPINSTALL``
    then pairs its ``member_id`` and ``application_token`` with the tenant (``bind_bitrix_portal``) and, when
    given, with the tenant's portal channel ``portal_id``.
    """
    token, op = bitrix_connect_op(tenant_id, portal_id)
    Table().transact([op])
    return token


def bind_bitrix_portal(connect_token: str, member_id: str, domain: str, application_token: str) -> BitrixPortalRoute:
    """Pair a portal with the tenant of ``connect_token`` (used up here) and remember its application token.

    Raises ``Unauthorized`` when the token is unknown, used or expired, or the portal belongs to another tenant.
    """
    connect_pk = _connect_pk(connect_token)
    found = Table().get(connect_pk, keys.ROUTE_SK, consistent=True)
    now = clock.to_epoch(clock.now())
    if found is None or int(found.get(TTL_ATTRIBUTE, 0)) <= now:
        raise Unauthorized(detail="the connect token is unknown, used or expired", code="invalid-signature")
    route = BitrixPortalRoute(
        member_id, str(found["tenantId"]), domain, _token_hash(application_token), found.get("portalId")
    )
    item = {
        PARTITION_KEY: keys.route_pk(RouteKind.BITRIX_MEMBER, member_id),
        SORT_KEY: keys.ROUTE_SK,
        ENTITY: ROUTE_ENTITY,
        "tenantId": route.tenant_id,
        "memberId": member_id,
        "domain": domain,
        "tokenHash": route.token_hash,
        "portalId": route.portal_id,
        "connectedAt": clock.now_iso(),
    }
    refused = Unauthorized(
        detail="the connect token was used meanwhile, or the portal is connected to another tenant",
        code="invalid-signature",
    )
    Table().transact(
        [
            delete_op(connect_pk, keys.ROUTE_SK, condition=Attr(TTL_ATTRIBUTE).gt(now)).on_conflict(refused),
            put_op(item, condition=_same_tenant_or_free(route.tenant_id)).on_conflict(refused),
        ]
    )
    _bitrix_portals.pop(member_id, None)
    return route
