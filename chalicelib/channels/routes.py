"""Channel routes: WhatsApp numbers and Bitrix24 portals of the gateway (ADMIN: channels:manage; reads also for
whoever may read conversations)."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.channels import service
from chalicelib.channels.models import (
    Channel,
    ChannelListQuery,
    ConnectPortalRequest,
    ConnectWhatsAppRequest,
    PortalConnect,
    UpdateChannelRequest,
)
from chalicelib.core.pagination import Page

blueprint = protected_blueprint(__name__, tag="channels")

MANAGE = Permission.CHANNELS_MANAGE
# Everyone who may read conversations may see the channels they come through (ADMINs have both permissions).
READ = Permission.CONVERSATIONS_READ
M = Module.WHATSAPP


@blueprint.operation("/channels", query=ChannelListQuery, response=Page[Channel], permission=READ, module=M)
def list_channels(query: ChannelListQuery, principal: Principal) -> Page[Channel]:
    """List channels

    WhatsApp numbers and Bitrix24 portals, newest first, each with its health: last message in and out, last
    error, status (a portal: pending, connected or disconnected with the reason) and the portal's token expiry.
    """
    return service.list_channels(principal, query)


@blueprint.operation(
    "/channels/whatsapp",
    "POST",
    body=ConnectWhatsAppRequest,
    response=Channel,
    status=201,
    permission=MANAGE,
    module=M,
    idempotent=True,
    problems=(409, 422),
)
def connect_whatsapp(body: ConnectWhatsAppRequest, principal: Principal, idempotency_key: str | None) -> Channel:
    """Connect a WhatsApp number

    From the Meta app that owns it: phone number id, WABA id, a permanent access token, the app secret and the
    webhook verify token (all stored encrypted, never shown). Optionally mapped to a Bitrix24 portal channel and
    Open Line (`portalId` + `line`) and with the approved template sent outside the 24-hour window. 409 when the
    number is connected to another account. Point the app's webhook at BTRIX's Meta webhook URL; if the app is
    your own (not BTRIX's), add `?channel=<tenantId>.<channelId>` to the callback URL so the subscription check
    uses this number's verify token.
    """
    return service.connect_whatsapp(principal, body, idempotency_key)


@blueprint.operation(
    "/channels/bitrix24",
    "POST",
    body=ConnectPortalRequest,
    response=PortalConnect,
    status=201,
    permission=MANAGE,
    module=Module.BITRIX24,
    idempotent=True,
    problems=(422, 503),
)
def connect_portal(body: ConnectPortalRequest, principal: Principal, idempotency_key: str | None) -> PortalConnect:
    """Connect a Bitrix24 portal

    Creates a pending portal channel and answers the handler URL to install the app from (valid 24 hours, used
    once). When the portal installs the app, BTRIX stores its tokens, registers the WhatsApp connector and
    activates the Open Lines of the numbers mapped to it. `app` is the OAuth app of a local app of the portal;
    without it the portal installs BTRIX's app.
    """
    return service.connect_portal(principal, body, idempotency_key)


@blueprint.operation("/channels/{channel_id}", response=Channel, permission=READ, module=M, problems=(404,))
def get_channel(channel_id: str, principal: Principal) -> Channel:
    """Get a channel

    With its health.
    """
    return service.get_channel(principal, channel_id)


@blueprint.operation(
    "/channels/{channel_id}",
    "PATCH",
    body=UpdateChannelRequest,
    response=Channel,
    permission=MANAGE,
    module=M,
    problems=(404, 409, 422),
)
def update_channel(channel_id: str, body: UpdateChannelRequest, principal: Principal) -> Channel:
    """Change a channel

    A number: name, its portal and Open Line (`portalId` + `line`, both null to unmap; the line is activated
    when the portal is connected), its template (null: none). A portal: its name. Send the version you read.
    """
    return service.update_channel(principal, channel_id, body)


@blueprint.operation("/channels/{channel_id}", "DELETE", status=204, permission=MANAGE, module=M, problems=(404, 409))
def delete_channel(channel_id: str, principal: Principal) -> None:
    """Delete a channel

    A number stops being routed to this account (its Open Line is turned off unless another number uses it); a
    portal's events stop being accepted and the connector leaves its Open Lines (unmap its numbers first).
    """
    service.delete_channel(principal, channel_id)


@blueprint.operation(
    "/channels/{channel_id}/connect",
    "POST",
    response=PortalConnect,
    permission=MANAGE,
    module=Module.BITRIX24,
    problems=(404, 422, 503),
)
def reconnect_portal(channel_id: str, principal: Principal) -> PortalConnect:
    """Get a new install link for a portal

    A new handler URL (valid 24 hours, used once): installing the app from it (again) connects the portal, after
    an uninstall or when Bitrix24 refused the app's tokens.
    """
    return service.reconnect_portal(principal, channel_id)
