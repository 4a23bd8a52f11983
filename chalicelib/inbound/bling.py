"""Bling (ERP) webhooks: signed by the tenant's Bling app, routed by the URL's tenant (or, on BTRIX's shared app, by
the company), recorded once per event id.

Bling posts the events of the resources an app subscribes to (``{eventId, date, version, event: "<resource>.<action>",
companyId, data}``) to the app's server URL, signed ``X-Bling-Signature-256: sha256=<hex HMAC-SHA256 of the raw
body, key = the app's client secret>``. BTRIX takes the stock events (``stock.created|updated|deleted``): the
server URL is ``…/hooks/bling?tenant=<tenantId>`` and the signature is checked with the client secret of that
tenant's Bling app (its own ``clientId``/``clientSecret``, else BTRIX's app): a tenant named by the unsigned URL is
trusted only once its app's secret verifies the body. Each event goes to the integrations queue once (Bling retries
and may deliver twice: ``eventId``); the consumer does not take the event's balance for true: it reads the
product's stock from Bling (``erp/products.py``, ``bling_stock_changed``). Other events are answered 200 and dropped.

BTRIX's shared Bling app has one server URL for every company it serves, ``…/hooks/bling`` without ``?tenant=``:
its events are verified with BTRIX's app secret and routed by their ``companyId`` to the tenant that connected that
company by consent (``integrations/accounts``: the company's id is learnt then from ``GET
/empresas/me/dados-basicos``). An event of a company no tenant has (any more) is answered 200, logged and counted
(``InboundWebhooksUnrouted``), so Bling does not retry it.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import MalformedRequest
from chalicelib.core.observability import logger
from chalicelib.core.resources import QueueKind
from chalicelib.inbound.receipts import Delivery, deliver_once
from chalicelib.inbound.request import HookRequest, HookResponse, accepted, json_body
from chalicelib.inbound.signatures import verify_bling
from chalicelib.inbound.tenants import shared_app_tenant, tenant_credentials, tenant_id_or_none, verified_with
from chalicelib.integrations.bling.credentials import BlingCredentials
from chalicelib.integrations.bling.oauth import app_client, btrix_client
from chalicelib.integrations.credentials import Provider

__all__ = ["PROVIDER", "STOCK_EVENTS", "handle"]

PROVIDER = "bling"
STOCK_EVENTS = frozenset({"stock.created", "stock.updated", "stock.deleted"})


def _client_secret(tenant_id: str | None, fresh: bool) -> str:
    # The tenant's integration as this container kept it (``inbound.tenants``: 30 s), or read now when ``fresh``.
    credentials = tenant_credentials(tenant_id, Provider.BLING, fresh=fresh) if tenant_id is not None else None
    app = app_client(credentials) if isinstance(credentials, BlingCredentials) else btrix_client()
    return app.client_secret


def handle(request: HookRequest, context: Any) -> HookResponse:
    """Check the signature with the URL's tenant's Bling app (none named: BTRIX's, the tenant then found by the
    event's ``companyId``), record a stock event once per ``eventId``, enqueue it to the integrations queue."""
    tenant_id = tenant_id_or_none(request.query.get("tenant"))
    signature = request.header("x-bling-signature-256")
    # The credentials this container kept, then (if refused) a fresh read: a tenant's new app secret works at once.
    verified_with(lambda fresh: verify_bling(_client_secret(tenant_id, fresh), request.body, signature))
    payload = json_body(request.body or b"{}", "the webhook is not JSON")
    if not isinstance(payload, dict) or not payload.get("eventId") or not isinstance(payload.get("event"), str):
        raise MalformedRequest(detail="a Bling webhook has an eventId and an event")
    if not isinstance(payload.get("data") or {}, dict):
        raise MalformedRequest(detail="a Bling webhook's data is an object")
    if tenant_id is None and payload["event"] in STOCK_EVENTS:
        tenant_id = shared_app_tenant(Provider.BLING, payload.get("companyId"))
    if tenant_id is None or payload["event"] not in STOCK_EVENTS:
        logger.info("bling webhook not taken", extra={"event": payload["event"], "routed": tenant_id is not None})
        return accepted({"received": True, "recorded": 0})
    event = {"id": str(payload["eventId"]), "type": payload["event"], "data": payload.get("data") or {}}
    body = {"type": "bling.webhook", "provider": PROVIDER, "tenantId": tenant_id, "event": event}
    delivery = Delivery(key=f"{tenant_id}:{payload['eventId']}", queue=QueueKind.INTEGRATIONS, body=body)
    receipt = deliver_once(PROVIDER, delivery, context)
    return accepted({"received": True, "recorded": int(not receipt.duplicate), "duplicates": int(receipt.duplicate)})
