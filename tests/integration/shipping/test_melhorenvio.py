"""Shipping with MelhorEnvio against its fake: connect, quote, buy a label, duplicates, token expiry (single-flight
refresh of a rotating refresh token), throttling, an outage then recovery, and tracking moving the order."""

from __future__ import annotations

from typing import Any

from chalicelib.core.db.store import Table
from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.parcels import carrier_reference
from chalicelib.integrations.store import integration_key
from chalicelib.notifications.outbox import list_messages
from chalicelib.shipping.tracking import TRACK_TASK
from localdev.fake_melhorenvio import FakeMelhorEnvio
from tests.integration.shipping.conftest import (
    Shop,
    buy,
    concurrent_quotes,
    connect,
    customer_told_shipped_and_delivered,
    new_order,
    quote,
    ready_shop,
)
from tests.support.commerce import stocked_product
from tests.support.identity import call, signup


def _paths(fake: FakeMelhorEnvio) -> list[str]:
    return [r["path"] for r in fake.accepted() if not r["path"].startswith("/oauth")]


def test_connect_keeps_the_tokens_encrypted_and_the_test_names_the_account(
    api: Any, melhorenvio: FakeMelhorEnvio
) -> None:
    shop = ready_shop(api, melhorenvio)
    listed = call(api, "GET", "/integrations", headers=shop.admin.headers()).json_body["items"]
    entry = next(i for i in listed if i["provider"] == "melhorenvio")
    assert entry["connected"] is True
    assert entry["summary"] == {"mode": "sandbox"}
    raw = Table().get(*integration_key(shop.admin.tenant_id, Provider.MELHORENVIO))
    assert raw is not None
    assert shop.tokens["refreshToken"] not in str(raw)
    assert shop.tokens["accessToken"] not in str(raw)
    tested = call(api, "POST", "/integrations/melhorenvio/test", None, shop.admin.headers())
    assert tested.status_code == 200, tested.body
    assert tested.json_body["ok"] is True
    assert tested.json_body["account"] == "loja@example.com"
    assert shop.tokens["accessToken"] not in str(tested.body)
    # Every call named BTRIX and the contact email MelhorEnvio requires.
    assert {r["userAgent"] for r in melhorenvio.accepted()} == {"BTRIX (tech@loja.example)"}


def test_quote_then_buy_the_label_keeps_tracking_code_and_label_on_the_order(
    api: Any, melhorenvio: FakeMelhorEnvio
) -> None:
    shop = ready_shop(api, melhorenvio)
    order = new_order(api, shop, quantity=2)
    quoted = quote(api, shop, order["id"])
    assert quoted.status_code == 200, quoted.body
    body = quoted.json_body
    assert (body["originPostalCode"], body["destinationPostalCode"], body["weightGrams"]) == (
        "01304001",
        "22010000",
        3000,
    )
    services = [(q["carrier"], q["service"]) for q in body["items"]]
    assert set(services) == {("Correios", "PAC"), ("Correios", "SEDEX"), ("Jadlog", ".Package"), ("Jadlog", ".Com")}
    prices = [float(q["price"]["amount"]) for q in body["items"]]
    assert prices == sorted(prices)
    assert all(q["deliveryDays"] > 0 and q["price"]["currency"] == "BRL" for q in body["items"])
    [sent] = [r["body"] for r in melhorenvio.accepted() if r["path"].endswith("/shipment/calculate")]
    assert sent["from"] == {"postal_code": "01304001"}
    assert sent["to"] == {"postal_code": "22010000"}
    assert sent["products"][0] | {} == {
        "id": shop.product["id"],
        "width": 20,
        "height": 25,
        "length": 30,
        "weight": 1.5,
        "insurance_value": 120.0,
        "quantity": 2,
    }

    sedex = next(q for q in body["items"] if q["service"] == "SEDEX")
    bought = buy(api, shop, order["id"], sedex["id"])
    assert bought.status_code == 201, bought.body
    shipment = bought.json_body["shipment"]
    assert (shipment["carrier"], shipment["service"], shipment["status"]) == ("Correios", "SEDEX", "purchased")
    assert shipment["price"] == sedex["price"]
    assert shipment["labelUrl"].startswith(melhorenvio.url + "/imprimir/")
    assert _paths(melhorenvio)[-4:] == [
        "/api/v2/me/cart",
        "/api/v2/me/shipment/checkout",
        "/api/v2/me/shipment/generate",
        "/api/v2/me/shipment/print",
    ]
    [label] = melhorenvio.shipments()
    assert label["id"] == shipment["labelId"]
    assert label["status"] == "released"
    assert label["to"]["postal_code"] == "22010000"
    assert label["to"]["name"] == "Maria Souza"
    assert label["tags"] == [{"tag": carrier_reference(shop.admin.tenant_id, order["number"])}]
    again = call(api, "GET", f"/orders/{order['id']}", headers=shop.admin.headers()).json_body
    assert again["shipment"]["labelId"] == shipment["labelId"]
    logs = call(api, "GET", "/integrations/melhorenvio/logs", headers=shop.admin.headers()).json_body["items"]
    assert any(entry["operation"] == "buy_label" and entry["ok"] for entry in logs)


def test_a_second_purchase_is_refused_and_a_retried_one_buys_once(api: Any, melhorenvio: FakeMelhorEnvio) -> None:
    shop = ready_shop(api, melhorenvio)
    order = new_order(api, shop)
    quotes = quote(api, shop, order["id"]).json_body["items"]
    first = buy(api, shop, order["id"], quotes[0]["id"], **{"Idempotency-Key": "label-1"})
    assert first.status_code == 201, first.body
    replay = buy(api, shop, order["id"], quotes[0]["id"], **{"Idempotency-Key": "label-1"})
    assert replay.status_code == 201
    assert replay.json_body["shipment"]["labelId"] == first.json_body["shipment"]["labelId"]
    second = buy(api, shop, order["id"], quotes[1]["id"])
    assert second.status_code == 409
    assert second.json_body["type"].endswith("label-exists")
    assert len(melhorenvio.shipments()) == 1
    assert _paths(melhorenvio).count("/api/v2/me/shipment/checkout") == 1


def test_bad_input_names_the_field(api: Any, melhorenvio: FakeMelhorEnvio) -> None:
    shop = ready_shop(api, melhorenvio)
    order = new_order(api, shop)
    unknown = buy(api, shop, order["id"], "01HZZZZZZZZZZZZZZZZZZZZZZZ")
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json_body["errors"]] == ["body.quoteId"]
    loose = stocked_product(api, shop.admin, 5, name="Sem caixa")
    unboxed = call(
        api,
        "POST",
        "/orders",
        {"customerId": shop.customer["id"], "items": [{"productId": loose["id"], "quantity": 1}]},
        shop.admin.headers(),
    ).json_body
    missing = quote(api, shop, unboxed["id"])
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json_body["errors"]] == ["order.items[0].productId"]
    no_customer = call(
        api, "POST", "/orders", {"items": [{"productId": shop.product["id"], "quantity": 1}]}, shop.admin.headers()
    ).json_body
    nowhere = quote(api, shop, no_customer["id"])
    assert nowhere.status_code == 422
    assert [e["field"] for e in nowhere.json_body["errors"]] == ["order.customerId"]
    bad_dimensions = call(
        api,
        "POST",
        "/products",
        {"kind": "product", "name": "X", "price": {"amount": "5", "currency": "BRL"}, "dimensions": {"lengthCm": 0}},
        shop.admin.headers(),
    )
    assert bad_dimensions.status_code == 422
    assert "body.dimensions.lengthCm" in [e["field"] for e in bad_dimensions.json_body["errors"]]
    # Another tenant's order does not exist for this one.
    other, _ = signup(api, businessType="retail")
    assert call(api, "POST", f"/orders/{order['id']}/shipping-quotes", None, other.headers()).status_code == 404


def test_without_an_address_or_a_carrier_the_quote_says_what_is_missing(api: Any, melhorenvio: FakeMelhorEnvio) -> None:
    shop = ready_shop(api, melhorenvio, connected=False)
    order = new_order(api, shop)
    unconnected = quote(api, shop, order["id"])
    assert unconnected.status_code == 409
    assert unconnected.json_body["type"].endswith("no-carrier")
    tenant = call(api, "GET", "/tenant", headers=shop.admin.headers()).json_body
    cleared = call(api, "PATCH", "/tenant", {"version": tenant["version"], "address": None}, shop.admin.headers())
    assert cleared.status_code == 200, cleared.body
    assert connect(api, shop.admin, melhorenvio, shop.tokens).status_code == 200
    homeless = quote(api, shop, order["id"])
    assert homeless.status_code == 422
    assert [e["field"] for e in homeless.json_body["errors"]] == ["tenant.address.postalCode"]


def test_an_expired_token_is_refreshed_once_for_concurrent_calls(api: Any, melhorenvio: FakeMelhorEnvio) -> None:
    shop = ready_shop(api, melhorenvio)
    order = new_order(api, shop)
    assert quote(api, shop, order["id"]).status_code == 200
    melhorenvio.expire_tokens()
    assert concurrent_quotes(api, shop, order["id"]) == [200, 200, 200, 200]
    # The refresh token rotates: a second concurrent refresh would have found it used up (invalid_grant).
    assert melhorenvio.refreshes == 1
    melhorenvio.expire_tokens()
    assert quote(api, shop, order["id"]).status_code == 200
    assert melhorenvio.refreshes == 2  # with the rotated refresh token the first refresh answered


def test_a_dead_refresh_token_disconnects_and_tells_the_admins(api: Any, melhorenvio: FakeMelhorEnvio) -> None:
    shop = ready_shop(api, melhorenvio)
    order = new_order(api, shop)
    melhorenvio.expire_tokens()
    with melhorenvio._lock:
        melhorenvio._refresh.clear()  # the account revoked the app
    refused = quote(api, shop, order["id"])
    assert refused.status_code == 502  # the provider refused: nothing a retry can change
    listed = call(api, "GET", "/integrations", headers=shop.admin.headers()).json_body["items"]
    entry = next(i for i in listed if i["provider"] == "melhorenvio")
    assert entry["status"] == "disconnected"
    assert "refresh token" in entry["disconnectedReason"]
    told = [m for m in list_messages(shop.admin.tenant_id) if m.template == "integration.disconnected"]
    assert len(told) == 1
    assert told[0].variables["providerName"] == "Melhor Envio"


def test_throttling_is_waited_out_then_reported(api: Any, melhorenvio: FakeMelhorEnvio) -> None:
    shop = ready_shop(api, melhorenvio)
    order = new_order(api, shop)
    melhorenvio.configure(throttleNext=1)
    assert quote(api, shop, order["id"]).status_code == 200
    throttled = [r for r in melhorenvio.received if r["status"] == 429]
    assert len(throttled) == 1
    melhorenvio.configure(throttleNext=5)
    busy = quote(api, shop, order["id"])
    assert busy.status_code == 503
    melhorenvio.configure(throttleNext=0)
    assert quote(api, shop, order["id"]).status_code == 200


def test_an_outage_mid_purchase_resumes_without_buying_twice(api: Any, melhorenvio: FakeMelhorEnvio) -> None:
    shop = ready_shop(api, melhorenvio)
    order = new_order(api, shop)
    melhorenvio.configure(failNext=1, failStatus=503)
    down = quote(api, shop, order["id"])
    assert down.status_code == 503
    logs = call(api, "GET", "/integrations/melhorenvio/logs", headers=shop.admin.headers()).json_body["items"]
    assert logs[0]["operation"] == "quote"
    assert logs[0]["ok"] is False
    chosen = quote(api, shop, order["id"]).json_body["items"][0]
    original = melhorenvio._generate

    def broken(account: Any, sent: dict[str, Any]) -> Any:
        melhorenvio.configure(failNext=1)  # the outage hits right after checkout: generate fails
        return original(account, sent)

    melhorenvio._generate = broken  # type: ignore[method-assign]
    failed = buy(api, shop, order["id"], chosen["id"])
    melhorenvio._generate = original  # type: ignore[method-assign]
    assert failed.status_code == 503, failed.body
    [paid] = melhorenvio.shipments()
    assert paid["status"] == "released"  # checked out before the outage
    resumed = buy(api, shop, order["id"], chosen["id"])
    assert resumed.status_code == 201, resumed.body
    assert resumed.json_body["shipment"]["labelId"] == paid["id"]
    assert len(melhorenvio.shipments()) == 1
    assert _paths(melhorenvio).count("/api/v2/me/shipment/checkout") == 1


def _track(shop: Shop, drain: Any, key: str, done: Any) -> None:
    jobs.enqueue_task(TRACK_TASK, shop.admin.tenant_id, {}, key=key)
    drain(done, timeout_s=60)


def test_tracking_moves_the_order_to_shipped_then_delivered_and_tells_the_customer(
    api: Any, melhorenvio: FakeMelhorEnvio, drain: Any
) -> None:
    shop = ready_shop(api, melhorenvio)
    order = new_order(api, shop)
    chosen = quote(api, shop, order["id"]).json_body["items"][0]
    label = buy(api, shop, order["id"], chosen["id"]).json_body["shipment"]["labelId"]

    def status() -> str:
        return str(call(api, "GET", f"/orders/{order['id']}", headers=shop.admin.headers()).json_body["status"])

    posted = melhorenvio.post(label)
    _track(shop, drain, "t-1", lambda: status() == "SHIPPED")
    seen = call(api, "GET", f"/orders/{order['id']}", headers=shop.admin.headers()).json_body
    assert seen["shipment"]["trackingCode"] == posted["tracking"]
    assert seen["shipment"]["status"] == "posted"
    melhorenvio.deliver(label)
    _track(shop, drain, "t-2", lambda: status() == "DELIVERED")
    history = call(api, "GET", f"/orders/{order['id']}/history", headers=shop.admin.headers()).json_body["items"]
    assert [(h["to"], h["trigger"]) for h in history][-2:] == [("SHIPPED", "shipped"), ("DELIVERED", "delivered")]
    final = call(api, "GET", f"/orders/{order['id']}", headers=shop.admin.headers()).json_body
    assert final["shipment"]["status"] == "delivered"
    assert final["shipment"]["deliveredAt"]

    drain(lambda: customer_told_shipped_and_delivered(shop.admin.tenant_id), timeout_s=60)
    # Delivered labels leave the open list: another run asks the carrier about nothing.
    before = len(_paths(melhorenvio))
    _track(shop, drain, "t-3", lambda: True)
    drain(lambda: True)
    assert _paths(melhorenvio)[before:].count("/api/v2/me/shipment/tracking") == 0
