"""Rappi webhooks: ``Rappi-Signature`` (``t=<ts>,sign=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``, 300 s) verified
with the webhook secret of the tenant's own Rappi integration (the URL names the tenant: ``?tenant=<id>``; there is
no platform secret: a tenant that did not connect Rappi has nothing to verify with, and the call is refused).

``NEW_ORDER`` and ``ORDER_EVENT_CANCEL`` go to the integrations queue once per tenant, event and order
(``rappi:<event>`` jobs of ``chalicelib.delivery.rappi``); ``PING`` is answered and not recorded.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core import clock
from chalicelib.core.errors import MalformedRequest, Unauthorized
from chalicelib.core.resources import QueueKind
from chalicelib.inbound.receipts import Delivery, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted
from chalicelib.inbound.signatures import verify_rappi
from chalicelib.inbound.tenants import tenant_credentials, tenant_id_or_none, verified_with
from chalicelib.integrations.models import Provider, RappiCredentials

__all__ = ["PROVIDER", "handle"]

PROVIDER = "rappi"


def _order_id(payload: dict[str, Any]) -> str:
    order = payload.get("order") or {}
    detail = order.get("order_detail") or {} if isinstance(order, dict) else {}
    return str(payload.get("order_id") or (detail.get("order_id") if isinstance(detail, dict) else "") or "")


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Verify with the tenant's secret, record once per event and order, enqueue to integrations."""
    tenant_id = tenant_id_or_none(request.query.get("tenant"))

    def check(fresh: bool) -> None:
        credentials = tenant_credentials(tenant_id, Provider.RAPPI, fresh=fresh) if tenant_id is not None else None
        if not isinstance(credentials, RappiCredentials):
            # Nothing to verify with (no platform secret for Rappi): refused as a bad signature is.
            raise Unauthorized(
                detail="no Rappi store is connected for this URL", title="Invalid signature", code="invalid-signature"
            )
        secret = credentials.webhook_secret.get_secret_value()
        verify_rappi(secret, request.header("rappi-signature"), request.body, clock.to_epoch(clock.now()))

    verified_with(check)  # the credentials this container kept, then (if refused) a fresh read
    try:
        payload = json.loads(request.body)
    except ValueError as exc:
        raise MalformedRequest(detail="the event is not JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise MalformedRequest(detail="the event names no event type")
    event = str(payload["event"])
    if event == "PING":
        return accepted({"received": True, "recorded": 0})
    order_id = _order_id(payload)
    if not order_id:
        raise MalformedRequest(detail=f"the {event} event names no order")
    body = {"type": "rappi.event", "provider": PROVIDER, "tenantId": tenant_id, "topic": event, "event": payload}
    delivery = Delivery(key=f"{tenant_id}:{event}:{order_id}", queue=QueueKind.INTEGRATIONS, body=body)
    receipt = deliver_once(PROVIDER, delivery, context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})
