"""A portal's OAuth tokens in use: REST calls with them, one refresh for everyone when they expire, the schedule
that refreshes them ahead of expiry, and a portal marked disconnected (its ADMINs told) when Bitrix24 no longer
lets the app in.

Single flight: Bitrix24 refresh tokens work once, so two workers refreshing the same pair at once would leave one
with ``invalid_grant`` (and a portal wrongly disconnected). Whoever first sees ``expired_token`` takes a lease on
the portal's token item with a conditional write (same ``tokenVersion``, no live lease); that worker refreshes and
stores the new pair with ``tokenVersion + 1``. The others poll the item with consistent reads until the version
moves (or the lease of a crashed worker lapses and one of them takes over), then retry with the new token.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from chalicelib.access.permissions import Role
from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.channels import store
from chalicelib.channels.models import PortalRecord, PortalTokensRecord
from chalicelib.core import clock
from chalicelib.core.crypto import decrypt_field, encrypt_field
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, WriteOp, change_op, delete_op
from chalicelib.core.db.table import strip_storage
from chalicelib.core.errors import AppError, DependencyUnavailable, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.observability import logger
from chalicelib.core.resources import BITRIX24_APP_CREDENTIALS, secret_name
from chalicelib.core.secrets import get_secret
from chalicelib.integrations.bitrix24 import client as rest
from chalicelib.integrations.bitrix24.client import Bitrix24Error, PortalCall

__all__ = [
    "DISCONNECTED_TEMPLATE",
    "LEASE_S",
    "SCHEDULE_AHEAD",
    "SYSTEM_ACTOR_ID",
    "AppCredentials",
    "app_credentials",
    "caller",
    "mark_disconnected",
    "portal_call",
    "refresh",
    "refresh_due_tokens",
    "store_refreshed",
    "system_actor",
]

SYSTEM_ACTOR_ID = "system"
DISCONNECTED_TEMPLATE = "channel.disconnected"
# A refresh is one HTTP call (the provider timeout bounds it): a lease this long outlives it, and a worker that
# died holding one blocks the others only this long.
LEASE_S = 30
_WAIT_S = LEASE_S + 5
_POLL_S = 0.1
_LEASE_FIELDS = ("leaseId", "leaseUntil")
# A token this close to its expiry is refreshed before the call rather than after Bitrix24 refuses it.
REFRESH_AHEAD = timedelta(minutes=5)
# Tokens that expire within this are refreshed by the schedule (every 5 minutes), so idle portals stay connected.
SCHEDULE_AHEAD = timedelta(minutes=15)
_DUE_PAGE = 100


@dataclass(frozen=True)
class AppCredentials:
    """The OAuth app a portal installed: the tenant's own local app, or BTRIX's."""

    client_id: str
    client_secret: str = field(repr=False)


def system_actor(tenant_id: str) -> Principal:
    """Who the audit log names for what the gateway does by itself (install, refresh, disconnect)."""
    return Principal(user_id=SYSTEM_ACTOR_ID, tenant_id=tenant_id, role=Role.ADMIN, email="channels@system.invalid")


def app_credentials(portal: PortalRecord) -> AppCredentials:
    """The portal's own app (stored encrypted), else BTRIX's app (secret ``BITRIX24_APP_CREDENTIALS``)."""
    if portal.app_encrypted:
        app = json.loads(decrypt_field(portal.tenant_id, portal.app_encrypted))
    else:
        try:
            app = json.loads(get_secret(secret_name(BITRIX24_APP_CREDENTIALS)))
        except ValueError as exc:
            raise DependencyUnavailable(detail="the Bitrix24 app credentials secret is not JSON") from exc
    if not isinstance(app, dict) or not app.get("clientId") or not app.get("clientSecret"):
        raise DependencyUnavailable(detail="the Bitrix24 app credentials need clientId and clientSecret")
    return AppCredentials(str(app["clientId"]), str(app["clientSecret"]))


def _portal(tenant_id: str, portal_id: str) -> PortalRecord:
    # Consistent: a portal connected a moment ago (the install's own calls) must not read as pending.
    found = store.get_channel(tenant_id, portal_id, consistent=True)
    if not isinstance(found, PortalRecord):
        raise Bitrix24Error("PORTAL_NOT_CONNECTED", f"no Bitrix24 portal channel {portal_id}")
    return found


def _tokens(portal: PortalRecord) -> PortalTokensRecord:
    tokens = store.get_tokens(portal.tenant_id, portal.id)
    if portal.status != "connected" or portal.domain is None or tokens is None:
        reason = f" ({portal.disconnected_reason})" if portal.disconnected_reason else ""
        raise Bitrix24Error("PORTAL_NOT_CONNECTED", f"the Bitrix24 portal {portal.name} is {portal.status}{reason}")
    return tokens


def _call(portal: PortalRecord, tokens: PortalTokensRecord, method: str, params: dict[str, Any]) -> Any:
    access = decrypt_field(portal.tenant_id, tokens.access_token_encrypted)
    return rest.call(rest.portal_endpoint(str(portal.domain)), access, method, params)


def _refused(exc: Bitrix24Error) -> bool:
    # An access token Bitrix24 no longer takes: expired, or (after a reinstall, a revocation) invalid.
    return exc.expired or exc.code == rest.INVALID_TOKEN


def portal_call(tenant_id: str, portal_id: str, method: str, params: dict[str, Any]) -> Any:
    """Call REST ``method`` on the tenant's portal; returns ``result``.

    A token about to expire (``REFRESH_AHEAD``) is refreshed first; an expired (or invalid) one is refreshed once,
    for every concurrent caller together, and the call retried. A fatal refusal (``invalid_grant``,
    ``PAYMENT_REQUIRED``, a token refused right after a refresh…) marks the portal disconnected and notifies the
    tenant's ADMINs; every ``Bitrix24Error`` is re-raised.
    """
    portal = _portal(tenant_id, portal_id)
    tokens = _tokens(portal)
    if tokens.token_expires_at <= clock.isoformat(clock.now() + REFRESH_AHEAD):
        tokens = refresh(portal, tokens)
    try:
        return _call(portal, tokens, method, params)
    except Bitrix24Error as exc:
        if not _refused(exc):
            if exc.fatal:
                mark_disconnected(tenant_id, portal_id, _reason(exc))
            raise
    fresh = refresh(portal, tokens)
    try:
        return _call(portal, fresh, method, params)
    except Bitrix24Error as exc:
        if exc.fatal or _refused(exc):
            mark_disconnected(tenant_id, portal_id, _reason(exc, after_refresh=True))
            raise Bitrix24Error(exc.code if exc.fatal else rest.INVALID_TOKEN, exc.description, exc.status) from exc
        raise


def caller(tenant_id: str, portal_id: str) -> PortalCall:
    """``portal_call`` bound to the tenant's portal: what the Bitrix24 client's methods call through."""
    return lambda method, params: portal_call(tenant_id, portal_id, method, params)


def _reason(exc: Bitrix24Error, *, after_refresh: bool = False) -> str:
    text = f"Bitrix24 answered {exc.code}" + (f" ({exc.description})" if exc.description else "")
    return text + (" right after a token refresh" if after_refresh else "")


def _take_lease(tokens: PortalTokensRecord) -> str | None:
    lease = new_id()
    now = clock.to_epoch(clock.now())
    free = Attr("leaseUntil").not_exists() | Attr("leaseUntil").lt(now)
    condition = Attr("tokenVersion").eq(tokens.token_version) & free
    op = store.token_change_op(
        tokens.tenant_id,
        tokens.portal_id,
        set_={"leaseId": lease, "leaseUntil": now + LEASE_S},
        condition=condition,
    )
    try:
        Table().transact([op])
    except TransactionConflict:
        return None
    return lease


def _release(tokens: PortalTokensRecord, lease: str) -> None:
    op = store.token_change_op(
        tokens.tenant_id, tokens.portal_id, remove=_LEASE_FIELDS, condition=Attr("leaseId").eq(lease)
    )
    try:
        Table().transact([op])
    except TransactionConflict:
        logger.info("token lease was gone on release", extra={"portalId": tokens.portal_id})


def _refresh_as_leader(portal: PortalRecord, tokens: PortalTokensRecord, lease: str) -> PortalTokensRecord:
    pair: rest.TokenSet | None = None
    try:
        app = app_credentials(portal)
        pair = rest.refresh_tokens(
            app.client_id, app.client_secret, decrypt_field(portal.tenant_id, tokens.refresh_token_encrypted)
        )
    except Bitrix24Error as exc:
        if exc.fatal:
            mark_disconnected(portal.tenant_id, portal.id, f"the token refresh was refused: {_reason(exc)}")
        raise
    finally:
        if pair is None:
            _release(tokens, lease)  # failed: the next worker to see the expiry may try
    return store_refreshed(portal, tokens, pair, lease)


def store_refreshed(
    portal: PortalRecord, tokens: PortalTokensRecord, pair: rest.TokenSet, lease: str | None = None
) -> PortalTokensRecord:
    """Keep the new pair (``tokenVersion + 1``) if the tokens are still at ``tokens``' version (and ``lease`` is
    still ours); mirrors the new expiry on the portal. Raises ``Bitrix24Error`` (retryable) if they moved."""
    moment = clock.now()
    fresh = tokens.model_copy(
        update={
            "access_token_encrypted": encrypt_field(portal.tenant_id, pair.access_token),
            "refresh_token_encrypted": encrypt_field(portal.tenant_id, pair.refresh_token),
            "token_expires_at": clock.isoformat(pair.expires_at),
            "token_version": tokens.token_version + 1,
            "refreshed_at": clock.isoformat(moment),
            "lease_id": None,
            "lease_until": None,
        }
    )
    condition: ConditionBase = Attr("tokenVersion").eq(tokens.token_version)
    if lease is not None:
        condition = condition & Attr("leaseId").eq(lease)
    changes = {
        "accessTokenEncrypted": fresh.access_token_encrypted,
        "refreshTokenEncrypted": fresh.refresh_token_encrypted,
        "tokenExpiresAt": fresh.token_expires_at,
        "tokenVersion": fresh.token_version,
        "refreshedAt": fresh.refreshed_at,
    }
    ops = [
        store.token_change_op(
            portal.tenant_id, portal.id, set_=changes, remove=_LEASE_FIELDS, condition=condition, relist=fresh
        ),
        store.health_op(portal.tenant_id, portal.id, {"tokenExpiresAt": fresh.token_expires_at}),
    ]
    try:
        Table().transact(ops)
    except TransactionConflict as exc:
        # Our refresh token is spent and the new pair cannot be kept: the next expiry finds out whether the pair
        # someone else stored still works.
        logger.error("refreshed tokens could not be stored", extra={"portalId": portal.id})
        raise Bitrix24Error("REFRESH_CONFLICT", "the portal's tokens changed during the refresh") from exc
    logger.info("bitrix24 tokens refreshed", extra={"portalId": portal.id, "tokenVersion": fresh.token_version})
    return fresh


def refresh(portal: PortalRecord, seen: PortalTokensRecord) -> PortalTokensRecord:
    """The tokens after the pair ``seen`` (expired): refreshed here by whoever gets the lease, or by another worker
    meanwhile. Waits at most about ``LEASE_S`` seconds; then a retryable ``Bitrix24Error``."""
    deadline = time.monotonic() + _WAIT_S
    while True:
        current = store.get_tokens(portal.tenant_id, portal.id, consistent=True)
        if current is None:
            raise Bitrix24Error("PORTAL_NOT_CONNECTED", f"the Bitrix24 portal {portal.name} has no tokens any more")
        if current.token_version != seen.token_version:
            return current
        lease = _take_lease(current)
        if lease is not None:
            return _refresh_as_leader(portal, current, lease)
        if time.monotonic() > deadline:
            raise Bitrix24Error("REFRESH_TIMEOUT", "another worker's token refresh did not finish in time")
        time.sleep(_POLL_S * (0.5 + random.random()))  # noqa: S311 - jitter, not security


def mark_disconnected(
    tenant_id: str, portal_id: str, reason: str, *, notify: bool = True, forget_tokens: bool = False
) -> bool:
    """Mark the portal disconnected with ``reason`` (once: False if it already was), take it off the refresh
    schedule (or, ``forget_tokens``, drop its tokens), emit ``channel.disconnected`` and, with ``notify``, email
    the tenant's ADMINs (template ``channel.disconnected``)."""
    from chalicelib.notifications.outbox import request_message_ops
    from chalicelib.tenants.service import load_tenant

    portal = store.get_channel(tenant_id, portal_id, consistent=True)
    if not isinstance(portal, PortalRecord) or portal.status == "disconnected":
        return False
    now = clock.now_iso()
    changes = {
        "status": "disconnected",
        "disconnectedAt": now,
        "disconnectedReason": reason[:500],
        "lastError": {"at": now, "message": reason[:500]},
        "updatedAt": now,
    }
    ops: list[WriteOp] = [
        change_op(
            *store.channel_key(tenant_id, portal_id),
            set_=changes,
            add={"version": 1},
            condition=Attr("status").ne("disconnected"),
        )
    ]
    if store.get_tokens(tenant_id, portal_id) is not None:
        ops.append(
            delete_op(*store.token_key(tenant_id, portal_id))
            if forget_tokens
            else store.token_change_op(tenant_id, portal_id, remove=_LEASE_FIELDS, unlist=True)
        )
    data = {"kind": "bitrix24", "name": portal.name, "domain": portal.domain, "reason": reason[:500]}
    ops.append(event_put_op(new_event("channel.disconnected", tenant_id, data, subject=portal_id)))
    after = {"status": "disconnected", "reason": reason[:500]}
    ops.append(
        audit_op(
            system_actor(tenant_id),
            "channel.disconnected",
            Kind.CHANNEL,
            portal_id,
            before={"status": portal.status},
            after=after,
        )
    )
    if notify:
        try:
            locale = load_tenant(tenant_id).locale
        except NotFound:
            locale = "pt-BR"
        variables = {"channelName": portal.name, "portalDomain": portal.domain or "-", "reason": reason[:500]}
        ops += request_message_ops(tenant_id, "email", "role:ADMIN", DISCONNECTED_TEMPLATE, locale, variables)
    try:
        Table().transact(ops)
    except TransactionConflict:
        return False  # disconnected meanwhile by another worker (which told the ADMINs)
    logger.warning("bitrix24 portal disconnected", extra={"portalId": portal_id, "reason": reason})
    return True


def refresh_due_tokens() -> int:
    """Refresh every connected portal's tokens that expire within ``SCHEDULE_AHEAD`` (the EventBridge schedule);
    returns how many were refreshed. A portal that fails is logged (and, if fatal, disconnected) and skipped."""
    before = clock.isoformat(clock.now() + SCHEDULE_AHEAD)
    refreshed = 0
    start: dict[str, str] | None = None
    while True:
        page = store.due_tokens(before, _DUE_PAGE, start)
        for item in page.items:
            seen = PortalTokensRecord.model_validate(strip_storage(item))
            try:
                after = refresh(_portal(seen.tenant_id, seen.portal_id), seen)
            except (Bitrix24Error, AppError) as exc:
                logger.warning("scheduled token refresh failed", extra={"portalId": seen.portal_id, "error": str(exc)})
                store.record_activity(seen.tenant_id, seen.portal_id, error=f"token refresh failed: {exc}")
                continue
            refreshed += after.token_version != seen.token_version
        if page.last_key is None:
            return refreshed
        start = page.last_key
