"""Pagar.me (v5) webhooks: HTTP Basic authentication, routed by the URL's tenant, recorded once per hook id.

A tenant's Pagar.me account posts to ``…/hooks/pagarme?tenant=<id>`` with the Basic login set on the webhook in
Pagar.me's dashboard (Pagar.me v5 signs no body; Basic authentication is what its webhooks offer, see
docs/PAGARME.md). The login is checked against that tenant's integration (``webhookUser`` / ``webhookSecret``; user
``btrix`` with BTRIX's ``pagarme-webhook-secret`` when it has no password of its own). The body
``{id: hook_…, type, created_at, data}`` then goes to the integrations queue once per hook id; the consumer does
not take its word for a payment: it fetches the order (``payments/providers/pagarme.py``, ``PagarmeGateway.interpret``).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import MalformedRequest
from chalicelib.core.observability import logger
from chalicelib.core.resources import PAGARME_WEBHOOK_SECRET, QueueKind
from chalicelib.inbound.receipts import Delivery, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted, json_body
from chalicelib.inbound.signatures import verify_basic
from chalicelib.inbound.tenants import signing_secret, tenant_credentials, tenant_id_or_none, verified_with
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.pagarme.credentials import PagarmeCredentials

__all__ = ["DEFAULT_USER", "PROVIDER", "handle"]

PROVIDER = "pagarme"
DEFAULT_USER = "btrix"


def _check(request: HookRequest, tenant_id: str | None, fresh: bool) -> None:
    credentials = tenant_credentials(tenant_id, Provider.PAGARME, fresh=fresh) if tenant_id is not None else None
    user = credentials.webhook_user if isinstance(credentials, PagarmeCredentials) else DEFAULT_USER
    password = signing_secret(tenant_id, Provider.PAGARME, PagarmeCredentials, PAGARME_WEBHOOK_SECRET)
    verify_basic(user, password, request.header("authorization"))


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Check the Basic login of the URL's tenant, record once per hook id, enqueue to integrations."""
    tenant_id = tenant_id_or_none(request.query.get("tenant"))
    verified_with(lambda fresh: _check(request, tenant_id, fresh))
    payload = json_body(request.body or b"{}", "the webhook is not JSON")
    if not isinstance(payload, dict) or not payload.get("id") or not payload.get("type"):
        raise MalformedRequest(detail="a Pagar.me webhook has an id and a type")
    if tenant_id is None:
        logger.info("pagarme webhook without a tenant", extra={"hookId": payload.get("id")})
        return accepted({"received": True, "recorded": 0})
    event = {"id": str(payload["id"]), "type": str(payload["type"]), "data": payload.get("data") or {}}
    body = {"type": "pagarme.webhook", "provider": PROVIDER, "tenantId": tenant_id, "event": event}
    delivery = Delivery(key=f"{tenant_id}:{payload['id']}", queue=QueueKind.INTEGRATIONS, body=body)
    receipt = deliver_once(PROVIDER, delivery, context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})
