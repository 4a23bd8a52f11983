"""MelhorEnvio webhooks (its labels' status updates), where the tenant's MelhorEnvio app has one set to
``…/hooks/melhorenvio?tenant=<id>``: ``X-ME-Signature`` (HMAC-SHA256 of the raw body) verified with the secret of
the app the tenant's account is connected through (its own, or BTRIX's); a tenant without MelhorEnvio is refused.

Each ``{event: "order.<status>", data: {id, …}}`` goes to the integrations queue once per tenant, label and event
(``melhorenvio:<event>`` jobs of ``chalicelib.shipping.tracking``). The job does not take the body's word for where a
label is: it runs the tenant's tracking now (MelhorEnvio is asked, as the 30-minute schedule does).
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core.errors import MalformedRequest
from chalicelib.core.resources import QueueKind
from chalicelib.inbound.receipts import Delivery, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted
from chalicelib.inbound.signatures import verify_melhorenvio
from chalicelib.inbound.tenants import own_credentials, verified_with
from chalicelib.integrations.melhorenvio.client import app_secret
from chalicelib.integrations.models import MelhorEnvioCredentials, Provider

__all__ = ["PROVIDER", "handle"]

PROVIDER = "melhorenvio"


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Verify with the tenant's app secret, record once per label and event, enqueue to integrations."""

    def check(fresh: bool) -> str:
        tenant_id, credentials = own_credentials(
            request.query.get("tenant"), Provider.MELHORENVIO, MelhorEnvioCredentials, fresh=fresh
        )
        verify_melhorenvio(app_secret(credentials), request.body, request.header("x-me-signature"))
        return tenant_id

    # The credentials this container kept, then (if refused) a fresh read.
    tenant_id = verified_with(check)
    try:
        payload = json.loads(request.body)
    except ValueError as exc:
        raise MalformedRequest(detail="the webhook is not JSON") from exc
    data = payload.get("data") if isinstance(payload, dict) else None
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, str) or not event or not isinstance(data, dict) or not data.get("id"):
        raise MalformedRequest(detail="a MelhorEnvio webhook has an event and data.id")
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
