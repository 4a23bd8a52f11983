"""iFood webhooks, where a tenant's iFood application has one configured (``…/hooks/ifood?tenant=<id>`` in iFood's
developer portal): ``X-IFood-Signature`` (hex HMAC-SHA256 of the raw body, keyed with the application's client
secret) verified with the client secret of the tenant's own iFood integration (no platform secret: a tenant that
did not connect iFood is refused; iFood sends badly signed events on purpose during homologation).

One event per request, as the polling's (``{id, code, fullCode, orderId, merchantId, createdAt, metadata?}``). An
order event of the tenant's merchant goes to the integrations queue once per tenant and event id (``ifood:event``
jobs of ``chalicelib.delivery.ifood``, applied as a polled event is); events of another merchant and merchant events
(no ``orderId``: keepalives, store status) are answered and not recorded. The poll keeps running: an event that
comes both ways ends in the one order.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import MalformedRequest
from chalicelib.core.observability import logger
from chalicelib.core.resources import QueueKind
from chalicelib.inbound.receipts import Delivery, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted, json_body
from chalicelib.inbound.signatures import verify_ifood
from chalicelib.inbound.tenants import own_credentials, verified_with
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.ifood.credentials import IFoodCredentials

__all__ = ["PROVIDER", "handle"]

PROVIDER = "ifood"


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Verify with the tenant's client secret, record once per event, enqueue to integrations."""

    def check(fresh: bool) -> tuple[str, IFoodCredentials]:
        found = own_credentials(request.query.get("tenant"), Provider.IFOOD, IFoodCredentials, fresh=fresh)
        verify_ifood(found[1].client_secret.get_secret_value(), request.body, request.header("x-ifood-signature"))
        return found

    # The credentials this container kept, then (if refused) a fresh read.
    tenant_id, credentials = verified_with(check)
    payload = json_body(request.body, "the event is not JSON")
    if not isinstance(payload, dict) or not payload.get("id"):
        raise MalformedRequest(detail="an iFood event has an id")
    merchant = payload.get("merchantId")
    if not payload.get("orderId") or (merchant and merchant != credentials.merchant_id):
        logger.info("iFood webhook event not about the store's orders", extra={"eventId": payload.get("id")})
        return accepted({"received": True, "recorded": 0})
    body = {"type": "ifood.event", "provider": PROVIDER, "tenantId": tenant_id, "topic": "event", "event": payload}
    delivery = Delivery(key=f"{tenant_id}:{payload['id']}", queue=QueueKind.INTEGRATIONS, body=body)
    receipt = deliver_once(PROVIDER, delivery, context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})
