"""Rappi webhooks: ``Rappi-Signature`` (``t=<ts>,sign=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``, 300 s) verified
with the webhook secret of the tenant's own Rappi integration (the URL names the tenant: ``?tenant=<id>``; there is
no platform secret: a tenant that did not connect Rappi has nothing to verify with, and the call is refused).

``NEW_ORDER`` and ``ORDER_EVENT_CANCEL`` go to the integrations queue once per tenant, event and order
(``rappi:<event>`` jobs of ``chalicelib.delivery.rappi``); ``PING`` and events of another store than the connected
one are answered and not recorded.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import clock
from chalicelib.core.errors import MalformedRequest
from chalicelib.core.resources import QueueKind
from chalicelib.inbound.receipts import Delivery, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted, json_body
from chalicelib.inbound.signatures import verify_rappi
from chalicelib.inbound.tenants import own_credentials, verified_with
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.rappi.credentials import RappiCredentials

__all__ = ["PROVIDER", "handle"]

PROVIDER = "rappi"


def _order_id(payload: dict[str, Any]) -> str:
    order = payload.get("order") or {}
    detail = order.get("order_detail") or {} if isinstance(order, dict) else {}
    return str(payload.get("order_id") or (detail.get("order_id") if isinstance(detail, dict) else "") or "")


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Verify with the tenant's secret, record once per event and order, enqueue to integrations."""

    def check(fresh: bool) -> tuple[str, RappiCredentials]:
        found = own_credentials(request.query.get("tenant"), Provider.RAPPI, RappiCredentials, fresh=fresh)
        secret = found[1].webhook_secret.get_secret_value()
        verify_rappi(secret, request.header("rappi-signature"), request.body, clock.to_epoch(clock.now()))
        return found

    # The credentials this container kept, then (if refused) a fresh read.
    tenant_id, credentials = verified_with(check)
    payload = json_body(request.body, "the event is not JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise MalformedRequest(detail="the event names no event type")
    event = str(payload["event"])
    store = str(payload.get("store_id") or credentials.store_id)
    if event == "PING" or store != credentials.store_id:
        # A ping, or a store the tenant did not connect (its secret signed it: the tenant's own business): not ours.
        return accepted({"received": True, "recorded": 0})
    order_id = _order_id(payload)
    if not order_id:
        raise MalformedRequest(detail=f"the {event} event names no order")
    body = {"type": "rappi.event", "provider": PROVIDER, "tenantId": tenant_id, "topic": event, "event": payload}
    delivery = Delivery(key=f"{tenant_id}:{event}:{order_id}", queue=QueueKind.INTEGRATIONS, body=body)
    receipt = deliver_once(PROVIDER, delivery, context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})
