"""Channel use cases (``/channels``): connect WhatsApp numbers and Bitrix24 portals, map numbers to a portal's Open
Line, list them with their health; and, for the other capabilities (the gateway's relay, notifications, the Meta
webhook), a channel's records, its Meta credentials and its activity.

A number is routed to its tenant by a global ``ROUTE#WAPHONE`` item written with the channel (one tenant per
number); a portal is paired when it installs the app from the handler URL the tenant got (``?connect=<token>``,
``channels.install``), and its OAuth tokens live on their own item (``channels.tokens``). BTRIX's connector on the
portal's Open Lines follows the mappings (``channels.connector``).

One responsibility: the channels' use cases (the relay's reads are a few lines each).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic.alias_generators import to_camel, to_snake

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.channels import connector, store
from chalicelib.channels.models import (
    Channel,
    ChannelListQuery,
    ConnectPortalRequest,
    ConnectWhatsAppRequest,
    PortalConnect,
    PortalRecord,
    UpdateChannelRequest,
    WhatsAppChannelRecord,
)
from chalicelib.core import clock, idempotency
from chalicelib.core.config import get_settings
from chalicelib.core.crypto import decrypt_field, encrypt_field
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict, unscoped
from chalicelib.core.errors import Conflict, DependencyUnavailable, FieldError, InvalidInput, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import Page, paginate
from chalicelib.inbound import routing
from chalicelib.integrations.meta.client import MetaNumber

__all__ = [
    "connect_portal",
    "connect_whatsapp",
    "delete_channel",
    "get_channel",
    "get_portal",
    "get_whatsapp_channel",
    "list_channels",
    "meta_number",
    "notification_number",
    "reconnect_portal",
    "record_activity",
    "update_channel",
    "whatsapp_secrets",
]


class _PortalCreated(ApiModel):
    """What an idempotent portal create records: the answer with its handler URL encrypted."""

    portal: Channel
    handler_url_encrypted: str


def _now() -> str:
    return clock.now_iso()


def _iso(moment: str | datetime) -> str:
    return clock.isoformat(moment) if isinstance(moment, datetime) else moment


# --- reads for the other capabilities ------------------------------------------------------------------------------


def get_whatsapp_channel(tenant_id: str, channel_id: str) -> WhatsAppChannelRecord:
    """The tenant's WhatsApp number channel; ``NotFound`` if there is none with this id."""
    found = store.get_channel(tenant_id, channel_id)
    if not isinstance(found, WhatsAppChannelRecord):
        raise NotFound(detail=f"no WhatsApp channel {channel_id}")
    return found


def get_portal(tenant_id: str, portal_id: str) -> PortalRecord:
    """The tenant's Bitrix24 portal channel; ``NotFound`` if there is none with this id."""
    found = store.get_channel(tenant_id, portal_id)
    if not isinstance(found, PortalRecord):
        raise NotFound(detail=f"no Bitrix24 portal channel {portal_id}")
    return found


def meta_number(tenant_id: str, channel_id: str) -> MetaNumber:
    """The number's phone number id and its (decrypted) access token, to send from it."""
    channel = get_whatsapp_channel(tenant_id, channel_id)
    return MetaNumber(channel.phone_number_id, decrypt_field(tenant_id, channel.access_token_encrypted))


def notification_number(tenant_id: str) -> tuple[str, MetaNumber] | None:
    """The number the tenant's WhatsApp notifications go out from, as (channel id, number): its first connected
    WhatsApp number, so customers hear from the business's own number (None: it connected none)."""
    numbers = [c for c in store.all_channels(tenant_id) if isinstance(c, WhatsAppChannelRecord)]
    if not numbers:
        return None
    first = numbers[-1]  # newest first
    return first.id, MetaNumber(first.phone_number_id, decrypt_field(tenant_id, first.access_token_encrypted))


def whatsapp_secrets(tenant_id: str, channel_id: str) -> tuple[str, str] | None:
    """The number's Meta app secret and webhook verify token (decrypted), or None if there is no such channel.

    For ``inbound.meta``: numbers of the tenant's own Meta app are verified with that app's secret.
    """
    found = store.get_channel(tenant_id, channel_id)
    if not isinstance(found, WhatsAppChannelRecord):
        return None
    return (
        decrypt_field(tenant_id, found.app_secret_encrypted),
        decrypt_field(tenant_id, found.verify_token_encrypted),
    )


def record_activity(
    tenant_id: str,
    channel_id: str,
    *,
    inbound_at: str | datetime | None = None,
    outbound_at: str | datetime | None = None,
    error: str | None = None,
) -> None:
    """Note on the channel's health when it last received or sent a message, or what last went wrong. The times
    only move forward: a late or redriven message does not make the channel look quieter than it is."""
    store.record_activity(
        tenant_id,
        channel_id,
        inbound_at=None if inbound_at is None else _iso(inbound_at),
        outbound_at=None if outbound_at is None else _iso(outbound_at),
        error=error,
    )


# --- API --------------------------------------------------------------------------------------------------------


def _load(principal: Principal, channel_id: str, *, consistent: bool = False) -> store.ChannelRecord:
    found = store.get_channel(principal.tenant_id, channel_id, consistent=consistent)
    if found is None:
        raise NotFound(detail=f"no channel {channel_id}")
    return found


def _view(record: store.ChannelRecord) -> Channel:
    return Channel.of(record)


def list_channels(principal: Principal, query: ChannelListQuery) -> Page[Channel]:
    """One page of the tenant's channels (numbers and portals), newest first, with their health."""
    require(principal, Permission.CONVERSATIONS_READ)
    tenant = principal.tenant_id
    return paginate(
        Page[Channel],
        query,
        tenant_id=tenant,
        scope="channels",
        fetch=lambda start: store.list_channels(tenant, query.limit, start),
        convert=lambda item: _view(store.record_of(item)),
    )


def get_channel(principal: Principal, channel_id: str) -> Channel:
    """One channel with its health."""
    require(principal, Permission.CONVERSATIONS_READ)
    return _view(_load(principal, channel_id))


def _mapped_portal(principal: Principal, portal_id: str | None, field: str) -> PortalRecord | None:
    if portal_id is None:
        return None
    found = store.get_channel(principal.tenant_id, portal_id, consistent=True)
    if not isinstance(found, PortalRecord):
        raise InvalidInput(
            detail=f"no Bitrix24 portal channel {portal_id}",
            errors=(FieldError(field, "not a Bitrix24 portal channel of this account", "unknown-portal"),),
        )
    return found


def connect_whatsapp(principal: Principal, body: ConnectWhatsAppRequest, idempotency_key: str | None) -> Channel:
    """Connect a WhatsApp number: its credentials stored encrypted and the number routed to this tenant (409 if
    another account has it); mapped to a portal's Open Line, the line is activated when the portal is connected."""
    require(principal, Permission.CHANNELS_MANAGE)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "channels.whatsapp.create",
        body,
        Channel,
        lambda seal: _create_number(principal, body, seal),
    )


def _create_number(principal: Principal, body: ConnectWhatsAppRequest, seal: idempotency.Seal) -> Channel:
    tenant = principal.tenant_id
    portal = _mapped_portal(principal, body.portal_id, "body.portalId")
    now = _now()
    record = WhatsAppChannelRecord(
        id=new_id(),
        tenant_id=tenant,
        name=body.name or body.display_phone_number or f"WhatsApp {body.phone_number_id}",
        phone_number_id=body.phone_number_id,
        waba_id=body.waba_id,
        display_phone_number=body.display_phone_number,
        portal_id=body.portal_id,
        line=body.line,
        template=body.template,
        status="connected",
        access_token_encrypted=encrypt_field(tenant, body.access_token),
        app_secret_encrypted=encrypt_field(tenant, body.app_secret),
        verify_token_encrypted=encrypt_field(tenant, body.verify_token),
        created_at=now,
        updated_at=now,
    )
    view = _view(record)
    data = {"kind": "whatsapp", "name": record.name, "phoneNumberId": record.phone_number_id}
    field = "body.phoneNumberId"
    connected_here = Conflict(
        detail=f"the number {record.phone_number_id} is already connected to this account",
        errors=(FieldError(field, "already connected to this account", "number-connected"),),
    )
    taken = Conflict(
        detail=f"the number {record.phone_number_id} is connected to another account",
        errors=(FieldError(field, "connected to another account", "number-taken"),),
    )
    ops = [
        store.new_channel_op(record),
        store.number_claim_op(record).on_conflict(connected_here),
        routing.whatsapp_route_op(tenant, record.phone_number_id, record.id).on_conflict(taken),
        audit_op(principal, "channel.created", Kind.CHANNEL, record.id, after=view.model_dump()),
        event_put_op(new_event("channel.created", tenant, data, subject=record.id)),
        *seal(view),
    ]
    with unscoped():  # the number's route is global (ROUTE#WAPHONE), outside the tenant's keys
        Table().transact(ops)
    connector.activate(record, portal)
    return view


def _handler_url(token: str) -> str:
    base = get_settings().bitrix24_handler_url
    if not base:
        raise DependencyUnavailable(detail="the Bitrix24 handler URL is not configured (BTRIX_BITRIX24_HANDLER_URL)")
    return f"{base}{'&' if '?' in base else '?'}connect={quote(token)}"


def _with_link(view: Channel, handler_url: str) -> PortalConnect:
    return PortalConnect.model_validate({**view.model_dump(), "handlerUrl": handler_url})


def connect_portal(principal: Principal, body: ConnectPortalRequest, idempotency_key: str | None) -> PortalConnect:
    """Start connecting a Bitrix24 portal: a pending portal channel and the handler URL (with a one-time connect
    token, valid 24 hours) that its app install must come from. The portal is connected by its ``ONAPPINSTALL``."""
    require(principal, Permission.CHANNELS_MANAGE)
    created = idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "channels.bitrix24.create",
        body,
        _PortalCreated,
        lambda seal: _create_portal(principal, body, seal),
    )
    return _with_link(created.portal, decrypt_field(principal.tenant_id, created.handler_url_encrypted))


def _create_portal(principal: Principal, body: ConnectPortalRequest, seal: idempotency.Seal) -> _PortalCreated:
    tenant = principal.tenant_id
    portal_id = new_id()
    token, connect_op = routing.bitrix_connect_op(tenant, portal_id)
    handler_url = _handler_url(token)
    moment = clock.now()
    now = clock.isoformat(moment)
    app = None
    if body.app is not None:
        plain = {"clientId": body.app.client_id, "clientSecret": body.app.client_secret}
        app = encrypt_field(tenant, json.dumps(plain))
    record = PortalRecord(
        id=portal_id,
        tenant_id=tenant,
        name=body.name or "Bitrix24",
        status="pending",
        app_encrypted=app,
        connect_expires_at=clock.isoformat(moment + routing.BITRIX_CONNECT_TTL),
        created_at=now,
        updated_at=now,
    )
    view = _view(record)
    created = _PortalCreated(portal=view, handler_url_encrypted=encrypt_field(tenant, handler_url))
    ops = [
        store.new_channel_op(record),
        connect_op,
        audit_op(principal, "channel.created", Kind.CHANNEL, record.id, after=view.model_dump()),
        event_put_op(
            new_event("channel.created", tenant, {"kind": "bitrix24", "name": record.name}, subject=portal_id)
        ),
        *seal(created),
    ]
    with unscoped():  # the connect token is a global route (ROUTE#B24CONNECT)
        Table().transact(ops)
    return created


def reconnect_portal(principal: Principal, channel_id: str) -> PortalConnect:
    """A new handler URL (one-time, 24 hours) for an existing portal channel: installing the app from it again
    reconnects the portal (after an uninstall, or when Bitrix24 refused the app's tokens)."""
    require(principal, Permission.CHANNELS_MANAGE)
    portal = _load(principal, channel_id, consistent=True)
    if not isinstance(portal, PortalRecord):
        raise InvalidInput(
            detail="only Bitrix24 portal channels are connected from a link",
            errors=(FieldError("path.channelId", "a WhatsApp number, not a portal", "not-a-portal"),),
        )
    token, connect_op = routing.bitrix_connect_op(principal.tenant_id, portal.id)
    handler_url = _handler_url(token)
    moment = clock.now()
    expires = clock.isoformat(moment + routing.BITRIX_CONNECT_TTL)
    changes = {"connectExpiresAt": expires, "updatedAt": clock.isoformat(moment)}
    moved = VersionConflict(detail="the channel changed meanwhile; retry")
    with unscoped():
        Table().transact(
            [
                store.update_channel_op(portal, changes).on_conflict(moved),
                connect_op,
                audit_op(principal, "channel.link_created", Kind.CHANNEL, portal.id, after={"expiresAt": expires}),
            ]
        )
    updated = portal.model_copy(update={"connect_expires_at": expires, "version": portal.version + 1})
    return _with_link(_view(updated), handler_url)


def update_channel(principal: Principal, channel_id: str, body: UpdateChannelRequest) -> Channel:
    """Rename a channel; for a number, map it to a portal's Open Line (or unmap it) and set its template.
    Optimistic locking on ``version``. A new mapping activates the line when the portal is connected."""
    require(principal, Permission.CHANNELS_MANAGE)
    record = _load(principal, channel_id, consistent=True)
    if record.version != body.version:
        raise VersionConflict(detail=f"the channel is at version {record.version}; reload and retry")
    sent = body.model_fields_set - {"version"}
    changes: dict[str, Any] = {}
    if "name" in sent:
        changes["name"] = body.name
    portal: PortalRecord | None = None
    if isinstance(record, PortalRecord):
        refused = sorted(sent - {"name"})
        if refused:
            raise InvalidInput(
                detail="a Bitrix24 portal channel has only a name to change",
                errors=tuple(FieldError(f"body.{to_camel(n)}", "not a field of a portal channel") for n in refused),
            )
    else:
        if "portal_id" in sent:
            portal = _mapped_portal(principal, body.portal_id, "body.portalId")
            changes.update({"portalId": body.portal_id, "line": body.line})
            changes.update(store.mapping_changes(record.tenant_id, record.id, record.created_at, body.portal_id))
        if "template" in sent:
            changes["template"] = body.template.model_dump() if body.template else None
    changes["updatedAt"] = _now()
    shown = {k: v for k, v in changes.items() if not k.startswith("GSI")}
    renamed = {to_snake(name): value for name, value in shown.items()}
    after = record.model_validate({**record.model_dump(by_alias=False), **renamed, "version": record.version + 1})
    changed = sorted(k for k in shown if k != "updatedAt")
    moved = VersionConflict(detail="the channel changed since you read it; reload and retry")
    Table().transact(
        [
            store.update_channel_op(record, changes).on_conflict(moved),
            audit_op(
                principal,
                "channel.updated",
                Kind.CHANNEL,
                record.id,
                before=_view(record).model_dump(),
                after=_view(after).model_dump(),
            ),
            event_put_op(new_event("channel.updated", principal.tenant_id, {"changed": changed}, subject=record.id)),
        ]
    )
    if isinstance(record, WhatsAppChannelRecord) and isinstance(after, WhatsAppChannelRecord) and "portal_id" in sent:
        if (record.portal_id, record.line) != (after.portal_id, after.line):
            connector.release_line(record)
        connector.activate(after, portal)
    return _view(after)


def delete_channel(principal: Principal, channel_id: str) -> None:
    """Delete a channel and its routes: a number stops being routed to this account; a portal's events stop
    being accepted (numbers mapped to it must be unmapped first: 409)."""
    require(principal, Permission.CHANNELS_MANAGE)
    record = _load(principal, channel_id, consistent=True)
    tenant = principal.tenant_id
    changed = Conflict(detail="the channel changed while it was being deleted; retry")
    ops = [op.on_conflict(changed) for op in store.delete_channel_ops(record)]
    if isinstance(record, WhatsAppChannelRecord):
        ops.append(routing.remove_whatsapp_route_op(tenant, record.phone_number_id).on_conflict(changed))
        connector.release_line(record)
    else:
        mapped = store.numbers_of_portal(tenant, record.id)
        if mapped:
            raise Conflict(
                detail=f"{len(mapped)} WhatsApp number(s) relay to this portal: unmap them first",
                errors=tuple(
                    FieldError("path.channelId", f"number channel {n.id} is mapped to it", "portal-in-use")
                    for n in mapped
                ),
            )
        with unscoped():
            route = routing.find_bitrix_portal(record.member_id) if record.member_id else None
        if route is not None and route.tenant_id == tenant and route.portal_id == record.id:
            ops.append(routing.remove_bitrix_portal_op(tenant, route.member_id).on_conflict(changed))
        connector.unregister(record)
    ops += [
        audit_op(principal, "channel.deleted", Kind.CHANNEL, record.id, before=_view(record).model_dump()),
        event_put_op(
            new_event("channel.deleted", tenant, {"kind": record.kind, "name": record.name}, subject=record.id)
        ),
    ]
    with unscoped():
        Table().transact(ops)
