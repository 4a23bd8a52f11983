"""Stripe webhooks: ``Stripe-Signature`` verified as the SDK's ``construct_event`` does (``signatures.verify_stripe``,
300 s), without loading the SDK.

The tenant is the one the endpoint's URL names (``?tenant=<id>``: a tenant's own Stripe account, whose events
are verified with its integration's ``webhookSecret``), else the one we named when creating the payment link:
``metadata.tenantId`` of the event's object (Checkout Sessions, and the PaymentIntent through
``payment_intent_data.metadata``), else the Checkout Session's ``client_reference_id``; events of no tenant's own
account are verified with BTRIX's secret. The event goes to the integrations queue once per event id.
Events of BTRIX's own billing account arrive with ``?scope=billing`` (``inbound.billing``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from chalicelib.core.errors import MalformedRequest
from chalicelib.core.observability import logger
from chalicelib.core.resources import STRIPE_BILLING_CREDENTIALS, STRIPE_WEBHOOK_SECRET, QueueKind
from chalicelib.inbound import billing
from chalicelib.inbound.receipts import Delivery, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted, json_body
from chalicelib.inbound.signatures import STRIPE_TOLERANCE_S, verify_stripe
from chalicelib.inbound.tenants import signing_secret, tenant_id_or_none, verified_with
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.stripe.credentials import StripeCredentials

__all__ = ["PROVIDER", "SIGNATURE_TOLERANCE_S", "handle", "tenant_of"]

PROVIDER = "stripe"
SIGNATURE_TOLERANCE_S = STRIPE_TOLERANCE_S


def tenant_of(event: Mapping[str, Any]) -> str | None:
    """The tenant an event belongs to, from what we put on the objects we create; None if it names none."""
    obj: Mapping[str, Any] = (event.get("data") or {}).get("object") or {}
    metadata: Mapping[str, Any] = obj.get("metadata") or {}
    return tenant_id_or_none(metadata.get("tenantId")) or tenant_id_or_none(obj.get("client_reference_id"))


def _parsed(body: bytes) -> dict[str, Any] | None:
    """The event as a dict, parsed once (None: not a JSON object; refused once the signature checks)."""
    try:
        payload = json_body(body, "not JSON")
    except MalformedRequest:  # read before the signature: what does not parse (or nests too deep) is no event
        return None
    return payload if isinstance(payload, dict) else None


def _verified(request: HookRequest, secret: str, payload: dict[str, Any] | None) -> dict[str, Any]:
    verify_stripe(secret, request.header("stripe-signature"), request.body, time.time())
    if payload is None:
        raise MalformedRequest(detail="the event is not a JSON object")
    if not isinstance(payload.get("id"), str):
        raise MalformedRequest(detail="the event has no id (a string)")
    return payload


def _billing(request: HookRequest, context: Any) -> HookResponse:
    payload = _verified(request, billing.webhook_secret(STRIPE_BILLING_CREDENTIALS), _parsed(request.body))
    provider = billing.billing_provider(PROVIDER)
    body = {"type": "stripe.event", "provider": provider, "tenantId": billing.PLATFORM_TENANT_ID, "event": payload}
    receipt = deliver_once(provider, Delivery(key=str(payload["id"]), queue=QueueKind.INTEGRATIONS, body=body), context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Verify the signature, route by the URL's tenant or the metadata, record once per event id, enqueue."""
    if billing.is_billing(request.query):
        return _billing(request, context)
    parsed = _parsed(request.body)
    claimed = tenant_id_or_none(request.query.get("tenant"))
    if claimed is None and parsed is not None:
        try:
            claimed = tenant_of(parsed)
        except AttributeError:
            claimed = None  # not an event's shape: the checks below refuse it
    payload = verified_with(
        lambda fresh: _verified(
            request,
            signing_secret(claimed, Provider.STRIPE, StripeCredentials, STRIPE_WEBHOOK_SECRET, fresh=fresh),
            parsed,
        )
    )
    tenant_id = claimed or tenant_of(payload)
    if tenant_id is None:
        # Not one of ours (an event of the account that no BTRIX payment link made): nothing to do, no retry.
        logger.info(
            "stripe event without a tenant", extra={"eventId": payload.get("id"), "eventType": payload.get("type")}
        )
        return accepted({"received": True, "recorded": 0})
    body = {"type": "stripe.event", "provider": PROVIDER, "tenantId": tenant_id, "event": payload}
    # Once per tenant and event: a tenant signing with its own secret cannot claim another tenant's event id first.
    delivery = Delivery(key=f"{tenant_id}:{payload['id']}", queue=QueueKind.INTEGRATIONS, body=body)
    receipt = deliver_once(PROVIDER, delivery, context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})
