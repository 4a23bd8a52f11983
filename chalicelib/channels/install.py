"""A Bitrix24 portal's app install and uninstall, as the bitrix24-outbound queue delivers them (``inbound.bitrix24``
bodies). Install: the tokens stored encrypted, the portal connected, BTRIX's connector registered and every mapped
number's Open Line activated. Uninstall: the portal disconnected, its tokens and member route dropped. Both are
idempotent: a redelivered event changes nothing more (an install's tokens are kept only once, never over newer
ones).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from chalicelib.audit.service import audit_op
from chalicelib.channels import connector, store, tokens
from chalicelib.channels.models import PortalRecord, PortalTokensRecord
from chalicelib.core import clock
from chalicelib.core.crypto import encrypt_field
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, WriteOp, change_op, put_op, unscoped
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.observability import logger
from chalicelib.inbound import routing
from chalicelib.integrations.bitrix24.client import Bitrix24Error, checked_domain

__all__ = ["handle_portal_event"]

_INSTALL = "ONAPPINSTALL"
_UNINSTALL = "ONAPPUNINSTALL"
_DEFAULT_TOKEN_LIFETIME_S = 3600


def handle_portal_event(body: dict[str, Any]) -> None:
    """Apply an ``ONAPPINSTALL`` or ``ONAPPUNINSTALL`` from the bitrix24-outbound queue (``inbound.bitrix24``
    body). Install: tokens stored encrypted, the portal connected, the connector registered and every mapped
    number's Open Line activated. Uninstall: the portal disconnected, its tokens and route dropped. Idempotent:
    a redelivered event changes nothing more (an install's tokens are kept only once, never over newer ones).

    Raises ``Bitrix24Error`` (retryable or not) when the portal cannot be set up now.
    """
    event = str(body.get("event") or "").upper()
    tenant_id = str(body.get("tenantId") or "")
    portal_id = body.get("portalId")
    member_id = str(body.get("memberId") or "")
    if not tenant_id or not portal_id:
        logger.warning("portal event without a portal channel", extra={"event": event, "memberId": member_id})
        return
    portal = store.get_channel(tenant_id, str(portal_id), consistent=True)
    if not isinstance(portal, PortalRecord):
        logger.warning("portal event for a deleted channel", extra={"event": event, "portalId": portal_id})
        _forget_route(tenant_id, str(portal_id), member_id)
        return
    if event == _INSTALL:
        _installed(portal, body)
    elif event == _UNINSTALL:
        _uninstalled(portal, member_id)
    else:
        logger.info("portal event ignored", extra={"event": event})


def _forget_route(tenant_id: str, portal_id: str, member_id: str) -> None:
    if not member_id:
        return
    with unscoped():
        route = routing.find_bitrix_portal(member_id)
        if route is None or route.tenant_id != tenant_id or route.portal_id not in (portal_id, None):
            return
        try:
            Table().transact([routing.remove_bitrix_portal_op(tenant_id, member_id)])
        except TransactionConflict:
            return


def _install_ref(refresh_token: str) -> str:
    # Identifies the install's token pair without keeping it in clear: a redelivered install is recognised.
    return hashlib.sha256(refresh_token.encode()).hexdigest()[:32]


def _lifetime(auth: dict[str, Any]) -> int:
    value = str(auth.get("expires_in") or "")
    return int(value) if value.isdigit() else _DEFAULT_TOKEN_LIFETIME_S


def _installed(portal: PortalRecord, body: dict[str, Any]) -> None:
    tenant = portal.tenant_id
    auth = body.get("auth") or {}
    access, refresh = str(auth.get("access_token") or ""), str(auth.get("refresh_token") or "")
    member_id = str(body.get("memberId") or auth.get("member_id") or "")
    try:
        domain = checked_domain(str(body.get("domain") or auth.get("domain") or ""))
    except Bitrix24Error:
        logger.error("install with an invalid portal domain", extra={"portalId": portal.id})
        return
    if not access or not refresh:
        logger.error("install without OAuth tokens", extra={"portalId": portal.id})
        return
    moment = clock.now()
    now = clock.isoformat(moment)
    expires_at = clock.isoformat(moment + timedelta(seconds=_lifetime(auth)))
    current = store.get_tokens(tenant, portal.id)
    ref = _install_ref(refresh)
    ops: list[WriteOp] = []
    fresh_install = current is None or current.install_ref != ref
    if fresh_install:
        record = PortalTokensRecord(
            tenant_id=tenant,
            portal_id=portal.id,
            access_token_encrypted=encrypt_field(tenant, access),
            refresh_token_encrypted=encrypt_field(tenant, refresh),
            token_expires_at=expires_at,
            token_version=current.token_version + 1 if current else 1,
            install_ref=ref,
            refreshed_at=now,
        )
        ops.append(put_op(store.tokens_item(record), must_not_exist=False))
    if fresh_install or portal.status != "connected" or portal.domain != domain or portal.member_id != member_id:
        changes: dict[str, Any] = {
            "status": "connected",
            "memberId": member_id,
            "domain": domain,
            "connectedAt": now,
            "updatedAt": now,
        }
        if fresh_install:
            changes["tokenExpiresAt"] = expires_at
        ops += [
            change_op(
                *store.channel_key(tenant, portal.id),
                set_=changes,
                add={"version": 1},
                remove=("disconnectedAt", "disconnectedReason", "connectExpiresAt"),
            ),
            audit_op(
                tokens.system_actor(tenant),
                "channel.connected",
                Kind.CHANNEL,
                portal.id,
                before={"status": portal.status},
                after={"status": "connected", "domain": domain, "memberId": member_id},
            ),
            event_put_op(
                new_event(
                    "channel.connected",
                    tenant,
                    {"kind": "bitrix24", "name": portal.name, "domain": domain},
                    subject=portal.id,
                )
            ),
        ]
    if ops:
        Table().transact(ops)
    _supersede(portal, member_id, domain)
    connector.set_up(tenant, portal.id)


def _supersede(portal: PortalRecord, member_id: str, domain: str) -> None:
    """The portal was installed through ``portal``'s link while another portal channel of the account held it:
    the member route now leads here, so the older channel is disconnected (its ADMINs told why) rather than left
    looking connected with nothing behind it. Numbers mapped to it stay so until someone maps them here."""
    for other in store.all_channels(portal.tenant_id):
        if isinstance(other, PortalRecord) and other.id != portal.id and other.member_id == member_id:
            reason = f"the portal {domain} was connected again as the channel {portal.name!r}"
            tokens.mark_disconnected(other.tenant_id, other.id, reason, forget_tokens=True)


def _uninstalled(portal: PortalRecord, member_id: str) -> None:
    _forget_route(portal.tenant_id, portal.id, member_id or portal.member_id or "")
    tokens.mark_disconnected(
        portal.tenant_id, portal.id, "the app was uninstalled from the portal", notify=False, forget_tokens=True
    )
