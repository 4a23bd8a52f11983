"""MercadoPago notifications: ``x-signature`` (``ts``, ``v1``) over ``id:<data.id>;request-id:<x-request-id>;ts:<ts>;``.

The tenant is in the notification URL we give each preference (``…/hooks/mercadopago?tenant=<id>``;
MercadoPago adds ``data.id`` and ``type``). That parameter is not signed: the notification is verified with the
secret of that tenant's own MercadoPago application (its integration's ``webhookSecret``; BTRIX's when it has
none), and the consumer fetches the payment (as MercadoPago asks: the notification only says something changed)
and checks that its ``external_reference`` names the same tenant before acting. Recorded once per notification.
Notifications of BTRIX's own billing application arrive with ``?scope=billing`` (``inbound.billing``).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.core.resources import MERCADOPAGO_BILLING_CREDENTIALS, MERCADOPAGO_WEBHOOK_SECRET, QueueKind
from chalicelib.inbound import billing
from chalicelib.inbound.receipts import Delivery, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted, json_body
from chalicelib.inbound.signatures import verify_mercadopago
from chalicelib.inbound.tenants import signing_secret, tenant_id_or_none, verified_with
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.mercadopago.credentials import MercadoPagoCredentials

__all__ = ["PROVIDER", "handle"]

PROVIDER = "mercadopago"


def _body(request: HookRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    payload = json_body(request.body, "the notification is not JSON")
    return payload if isinstance(payload, dict) else {}


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Verify the signed manifest, route by the URL's tenant, record once, enqueue to integrations."""
    data_id = request.query.get("data.id")
    request_id = request.header("x-request-id")
    scoped = billing.is_billing(request.query)
    tenant_id = billing.PLATFORM_TENANT_ID if scoped else tenant_id_or_none(request.query.get("tenant"))

    def verify(fresh: bool) -> str:
        secret = (
            billing.webhook_secret(MERCADOPAGO_BILLING_CREDENTIALS)
            if scoped
            else signing_secret(
                tenant_id, Provider.MERCADOPAGO, MercadoPagoCredentials, MERCADOPAGO_WEBHOOK_SECRET, fresh=fresh
            )
        )
        now = clock.to_epoch(clock.now())
        return verify_mercadopago(secret, request.header("x-signature"), request_id, data_id, now)

    signed_at = verified_with(verify)
    payload = _body(request)
    provider = billing.billing_provider(PROVIDER) if scoped else PROVIDER
    if tenant_id is None:
        logger.info("mercadopago notification without a tenant", extra={"dataId": data_id})
        return accepted({"received": True, "recorded": 0})
    topic = request.query.get("type") or payload.get("type") or request.query.get("topic") or ""
    # The notification's own id when the body has one (retries repeat it); else what it is about and when.
    key = f"{tenant_id}:" + str(payload.get("id") or f"{topic}:{data_id}:{payload.get('action') or ''}:{signed_at}")
    body = {
        "type": "mercadopago.notification",
        "provider": provider,
        "tenantId": tenant_id,
        "topic": topic,
        "action": payload.get("action"),
        "dataId": data_id,
        "notification": payload,
    }
    receipt = deliver_once(provider, Delivery(key=key, queue=QueueKind.INTEGRATIONS, body=body), context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})
