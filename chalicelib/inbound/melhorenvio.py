"""MelhorEnvio webhooks (its labels' status updates): ``X-ME-Signature`` (HMAC-SHA256 of the raw body) verified
with the secret of the app that sent them.

- A tenant's own MelhorEnvio app has its webhook set to ``…/hooks/melhorenvio?tenant=<id>``: verified with the secret
  of the app the tenant's account is connected through (its own, or BTRIX's); a tenant without MelhorEnvio is refused.
- BTRIX's shared app has one webhook URL for every account that consented to it, ``…/hooks/melhorenvio``: verified
  with BTRIX's app secret and routed by the label's ``data.user_id`` (the account, learnt at consent from ``GET
  /api/v2/me``) to the tenant that connected it (``integrations/accounts``). A label of an account no tenant has (any
  more) is answered 200, logged and counted (``InboundWebhooksUnrouted``), so MelhorEnvio does not retry it.

Each ``{event: "order.<status>", data: {id, user_id, …}}`` goes to the integrations queue once per tenant, label and
event (``melhorenvio:<event>`` jobs of ``chalicelib.shipping.tracking``). The job does not take the body's word for
where a label is: it runs the tenant's tracking now (MelhorEnvio is asked, as the 30-minute schedule does).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import MalformedRequest
from chalicelib.core.resources import QueueKind
from chalicelib.inbound.receipts import Delivery, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted, json_body
from chalicelib.inbound.signatures import verify_melhorenvio
from chalicelib.inbound.tenants import own_credentials, shared_app_tenant, verified_with
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.melhorenvio.client import app_secret, btrix_app
from chalicelib.integrations.melhorenvio.credentials import MelhorEnvioCredentials

__all__ = ["PROVIDER", "handle"]

PROVIDER = "melhorenvio"


def _verified_tenant(request: HookRequest) -> str | None:
    """The URL's tenant once the body verifies with its app's secret; None when the URL names none and the body
    verifies with BTRIX's shared app's (the tenant is then the account's)."""
    if "tenant" not in request.query:
        verify_melhorenvio(btrix_app().client_secret, request.body, request.header("x-me-signature"))
        return None

    def check(fresh: bool) -> str:
        tenant_id, credentials = own_credentials(
            request.query.get("tenant"), Provider.MELHORENVIO, MelhorEnvioCredentials, fresh=fresh
        )
        verify_melhorenvio(app_secret(credentials), request.body, request.header("x-me-signature"))
        return tenant_id

    # The credentials this container kept, then (if refused) a fresh read.
    return verified_with(check)


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Verify with the app's secret, find the tenant, record once per label and event, enqueue to integrations."""
    tenant_id = _verified_tenant(request)
    payload = json_body(request.body, "the webhook is not JSON")
    data = payload.get("data") if isinstance(payload, dict) else None
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, str) or not event or not isinstance(data, dict) or not data.get("id"):
        raise MalformedRequest(detail="a MelhorEnvio webhook has an event and data.id")
    if tenant_id is None:
        tenant_id = shared_app_tenant(Provider.MELHORENVIO, data.get("user_id"))
        if tenant_id is None:
            return accepted({"received": True, "recorded": 0})
    label = str(data["id"])
    body = {
        "type": "melhorenvio.webhook",
        "provider": PROVIDER,
        "tenantId": tenant_id,
        "topic": event,
        "labelId": label,
        "status": str(data.get("status") or ""),
    }
    delivery = Delivery(key=f"{tenant_id}:{label}:{event}", queue=QueueKind.INTEGRATIONS, body=body)
    receipt = deliver_once(PROVIDER, delivery, context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})
