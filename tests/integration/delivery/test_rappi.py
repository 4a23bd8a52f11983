"""Rappi on the local stack against the fake Rappi: the restaurant connects its store, Rappi's signed webhooks reach
BTRIX's webhook function and become orders once (duplicates and a cancellation before its order end in one order in
its right state), the restaurant's status flow drives Rappi's calls, and failures are retried."""

from __future__ import annotations

import json
from typing import Any

import httpx

from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.rappi.client import sign
from localdev.fake_rappi import FakeRappi
from tests.integration.delivery.conftest import Deliver, platform_order
from tests.support.identity import Account, call


def _order(api: Any, admin: Account, rappi_order: str) -> dict[str, Any] | None:
    return platform_order(api, admin, Provider.RAPPI, rappi_order)


def _move(api: Any, admin: Account, order: dict[str, Any], to: str) -> dict[str, Any]:
    current = call(api, "GET", f"/orders/{order['id']}", headers=admin.headers()).json_body
    body = {"to": to, "version": current["version"]}
    moved = call(api, "POST", f"/orders/{order['id']}/transitions", body, admin.headers())
    assert moved.status_code == 200, moved.body
    return dict(moved.json_body)


def _arrived(api: Any, admin: Account, deliver: Deliver, rappi_order: str) -> dict[str, Any]:
    deliver(lambda: _order(api, admin, rappi_order) is not None)
    found = _order(api, admin, rappi_order)
    assert found is not None
    return found


def test_connect_tests_the_login_and_refuses_unsigned_webhooks(
    api: Any, admin: Account, rappi: FakeRappi, rappi_store: dict[str, str], hooks: httpx.Client
) -> None:
    tested = call(api, "POST", "/integrations/rappi/test", headers=admin.headers())
    assert tested.status_code == 200, tested.body
    assert tested.json_body["ok"] is True, tested.json_body
    listed = call(api, "GET", "/integrations", headers=admin.headers())
    for secret in (rappi_store["clientSecret"], rappi_store["webhookSecret"]):
        assert secret not in listed.body.decode()
    body = json.dumps({"event": "PING", "store_id": rappi_store["storeId"]}).encode()
    url = f"/rappi?tenant={admin.tenant_id}"
    forged = hooks.post(url, content=body, headers={"Rappi-Signature": sign("not-the-secret", body)})
    assert forged.status_code == 401
    assert hooks.post(url, content=body).status_code == 401
    assert (
        hooks.post(url, content=body, headers={"Rappi-Signature": sign(rappi_store["webhookSecret"], body)}).status_code
        == 200
    )
    stale = sign(rappi_store["webhookSecret"], body, at=1_600_000_000)
    assert hooks.post(url, content=body, headers={"Rappi-Signature": stale}).status_code == 401


def test_a_rappi_order_arrives_by_webhook_and_the_flow_drives_rappi(
    api: Any, admin: Account, rappi: FakeRappi, rappi_store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    rappi_order = rappi.place_order(
        rappi_store["storeId"],
        [
            {"sku": pizza["code"], "name": "Pizza Margherita", "quantity": 1, "price": 47.5},
            {"sku": "RP-EXTRA-9", "name": "Molho extra", "quantity": 2, "price": 3.0},
        ],
        customer_name="Ana Souza",
    )
    order = _arrived(api, admin, deliver, rappi_order)
    assert (order["channel"], order["status"], order["needsReview"]) == ("rappi", "PENDING", True)
    assert [(line["productId"], line["name"]) for line in order["items"]] == [
        (pizza["id"], pizza["name"]),
        (None, "Molho extra"),
    ]
    assert order["totals"]["total"]["amount"] == "53.50"
    assert (order["platform"]["customerName"], order["platform"]["total"]["amount"]) == ("Ana Souza", "59.00")
    for status in ("CONFIRMED", "PREPARING", "READY", "DELIVERED"):
        _move(api, admin, order, status)
    deliver(lambda: rappi.actions(rappi_order) == ["take", "ready-for-pickup"])
    deliver.settle()
    assert rappi.actions(rappi_order) == ["take", "ready-for-pickup"]


def test_duplicate_and_out_of_order_webhooks_end_in_one_cancelled_order(
    api: Any, admin: Account, rappi: FakeRappi, rappi_store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    rappi.configure(duplicates=True)
    rappi.hold()
    rappi_order = rappi.place_order(rappi_store["storeId"], [{"sku": pizza["code"], "name": "Pizza", "price": 45.0}])
    rappi.cancel_order(rappi_order, "Cliente cancelou")
    rappi.release(reverse=True)  # the cancellation first, each webhook twice
    assert [d["status"] for d in rappi.webhooks] == [200, 200, 200, 200]
    deliver(lambda: (_order(api, admin, rappi_order) or {}).get("status") == "CANCELLED")
    order = _order(api, admin, rappi_order)
    assert order is not None
    assert order["platform"]["cancelReason"] == "Cliente cancelou"
    listed = call(api, "GET", "/orders?limit=50", headers=admin.headers()).json_body["items"]
    assert [o["platform"]["orderId"] for o in listed] == [rappi_order]
    deliver.settle()
    assert rappi.actions(rappi_order) == []  # Rappi's own cancellation is not sent back


def test_the_store_cancelling_rejects_on_rappi_with_an_expired_token_and_a_rate_limit_on_the_way(
    api: Any, admin: Account, rappi: FakeRappi, rappi_store: dict[str, str], pizza: dict[str, Any], deliver: Deliver
) -> None:
    rappi_order = rappi.place_order(rappi_store["storeId"], [{"sku": pizza["code"], "name": "Pizza", "price": 45.0}])
    order = _arrived(api, admin, deliver, rappi_order)
    _move(api, admin, order, "CONFIRMED")
    deliver(lambda: rappi.actions(rappi_order) == ["take"])
    rappi.expire_tokens()  # the next call gets 401: a new login, then the call again
    rappi.configure(failNext=2, failStatus=429)  # and Rappi throttles twice first
    _move(api, admin, order, "CANCELLED")
    deliver(lambda: rappi.actions(rappi_order) == ["take", "reject"])
    statuses = [r["status"] for r in rappi.received]
    assert statuses.count(429) == 2
    assert 401 in statuses
    deliver.settle()
    assert rappi.actions(rappi_order) == ["take", "reject"]
    logs = call(api, "GET", "/integrations/rappi/logs?limit=100", headers=admin.headers()).json_body["items"]
    assert ("order_status", True) in [(e["operation"], e["ok"]) for e in logs]
