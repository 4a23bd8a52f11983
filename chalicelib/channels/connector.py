"""BTRIX's connector on a portal's Open Lines: registered when the portal installs the app, a line activated when a
number is mapped to it and deactivated when no number relays to it any more, unregistered when the portal channel
goes. The calls themselves are the Bitrix24 client's (``integrations.bitrix24.client``)."""

from __future__ import annotations

from chalicelib.channels import store, tokens
from chalicelib.channels.models import PortalRecord, WhatsAppChannelRecord
from chalicelib.core.config import get_settings
from chalicelib.core.errors import AppError
from chalicelib.core.observability import logger
from chalicelib.integrations.bitrix24 import client as bitrix24
from chalicelib.integrations.http import ProviderError

__all__ = ["activate", "release_line", "set_up", "unregister"]

# Bitrix24 requires a placement handler (the connector's settings page in Open Lines); ours is the app's handler URL.
# Without one configured the connector still registers, with a URL that plainly leads nowhere.
_NO_HANDLER = "https://btrix.invalid/hooks/bitrix24"


def activate(number: WhatsAppChannelRecord, portal: PortalRecord | None, *, active: bool = True) -> None:
    """Turn the connector on (or off) for the number's Open Line, when its portal is connected; a failure is
    recorded on the number's health (and a fatal one disconnects the portal), not raised: the mapping stays."""
    if portal is None or number.line is None or portal.status != "connected":
        return
    try:
        bitrix24.activate_line(tokens.caller(number.tenant_id, portal.id), number.line, active=active)
    except (ProviderError, AppError) as exc:
        state = "activated" if active else "deactivated"
        logger.warning(f"open line not {state}", extra={"channelId": number.id, "error": str(exc)})
        store.record_activity(number.tenant_id, number.id, error=f"Open Line {number.line} not {state}: {exc}")


def release_line(before: WhatsAppChannelRecord) -> None:
    """Turn the number's former Open Line off, unless another number of the portal still relays to it."""
    if before.portal_id is None or before.line is None:
        return
    sharing = [n for n in store.numbers_of_portal(before.tenant_id, before.portal_id) if n.id != before.id]
    if any(n.line == before.line for n in sharing):
        return
    portal = store.get_channel(before.tenant_id, before.portal_id)
    activate(before, portal if isinstance(portal, PortalRecord) else None, active=False)


def unregister(portal: PortalRecord) -> None:
    """Take the connector off a connected portal's Open Lines before the portal channel goes (best effort: the
    portal may already be unreachable; its routes and tokens are deleted anyway)."""
    if portal.status != "connected":
        return
    try:
        bitrix24.unregister_connector(tokens.caller(portal.tenant_id, portal.id))
    except (ProviderError, AppError) as exc:
        logger.warning("connector not unregistered", extra={"channelId": portal.id, "error": str(exc)})


def set_up(tenant_id: str, portal_id: str) -> None:
    """Register the connector on a portal that just installed the app, and activate every mapped number's line.

    Raises ``Bitrix24Error`` when the portal cannot be set up now (the install is retried).
    """
    portal = tokens.caller(tenant_id, portal_id)
    bitrix24.register_connector(portal, get_settings().bitrix24_handler_url or _NO_HANDLER)
    for number in store.numbers_of_portal(tenant_id, portal_id):
        if number.line is not None:
            bitrix24.activate_line(portal, number.line)
