"""MelhorEnvio's webhook, where the shop's MelhorEnvio app has one: a label's update signed with the app's secret
moves the order at once (the tracking asks MelhorEnvio, as the schedule does); a forged one is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx

from localdev.fake_melhorenvio import FakeMelhorEnvio
from tests.integration.shipping.conftest import buy, new_order, quote, ready_shop
from tests.support.identity import call


def test_the_webhook_moves_the_order_to_shipped_then_delivered_without_waiting_for_the_schedule(
    api: Any, melhorenvio: FakeMelhorEnvio, drain: Any, hooks: httpx.Client
) -> None:
    shop = ready_shop(api, melhorenvio)
    melhorenvio.set_webhook(f"{str(hooks.base_url).rstrip('/')}/melhorenvio?tenant={shop.admin.tenant_id}")
    order = new_order(api, shop)
    chosen = quote(api, shop, order["id"]).json_body["items"][0]
    label = buy(api, shop, order["id"], chosen["id"]).json_body["shipment"]["labelId"]

    def status() -> str:
        return str(call(api, "GET", f"/orders/{order['id']}", headers=shop.admin.headers()).json_body["status"])

    posted = melhorenvio.post(label)  # no tracking task is queued: the webhook's job runs it
    drain(lambda: status() == "SHIPPED", timeout_s=60)
    seen = call(api, "GET", f"/orders/{order['id']}", headers=shop.admin.headers()).json_body
    assert seen["shipment"]["trackingCode"] == posted["tracking"]
    melhorenvio.deliver(label)
    drain(lambda: status() == "DELIVERED", timeout_s=60)
    assert [(w["event"], w["status"]) for w in melhorenvio.webhooks] == [
        ("order.posted", 200),
        ("order.delivered", 200),
    ]


def test_a_webhook_not_signed_with_the_app_secret_is_refused(
    api: Any, melhorenvio: FakeMelhorEnvio, hooks: httpx.Client
) -> None:
    shop = ready_shop(api, melhorenvio)
    body = json.dumps({"event": "order.posted", "data": {"id": "label-1", "status": "posted"}}).encode()

    def signed(secret: str) -> str:
        return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()

    url = f"/melhorenvio?tenant={shop.admin.tenant_id}"
    assert hooks.post(url, content=body, headers={"X-ME-Signature": signed("not-the-app-secret")}).status_code == 401
    assert hooks.post(url, content=body).status_code == 401
    unconnected = ready_shop(api, melhorenvio, connected=False)
    elsewhere = f"/melhorenvio?tenant={unconnected.admin.tenant_id}"
    good = signed(melhorenvio.client_secret)
    assert hooks.post(elsewhere, content=body, headers={"X-ME-Signature": good}).status_code == 401
    assert hooks.post(url, content=body, headers={"X-ME-Signature": good}).status_code == 200
