"""Shipping with Correios' contract API against its fake: connect, quote (next to MelhorEnvio, one carrier's outage
not failing the other), register the label once, token expiry (a new authentication, single flight), throttling,
an outage then recovery, and tracking moving the order."""

from __future__ import annotations

from typing import Any

from chalicelib.core.db.store import Table
from chalicelib.integrations import jobs
from chalicelib.integrations.models import Provider
from chalicelib.integrations.store import integration_key
from chalicelib.shipping.tracking import track_labels, track_task
from localdev.fake_correios import FakeCorreios
from localdev.fake_melhorenvio import FakeMelhorEnvio
from tests.integration.shipping.conftest import (
    Shop,
    buy,
    concurrent_quotes,
    connect_correios,
    customer_told_shipped_and_delivered,
    new_order,
    quote,
    ready_shop,
    sync_logs,
)
from tests.support.commerce import stocked_product
from tests.support.identity import call


def _correios_shop(api: Any, fake: FakeCorreios, melhorenvio: FakeMelhorEnvio | None = None) -> Shop:
    shop = ready_shop(api, melhorenvio)
    assert connect_correios(api, shop.admin, fake.add_contract()).status_code == 200
    return shop


def _api_paths(fake: FakeCorreios) -> list[str]:
    return [r["path"] for r in fake.accepted() if "autentica" not in r["path"]]


def test_connect_keeps_the_access_code_encrypted_and_the_test_names_the_contract(
    api: Any, correios: FakeCorreios
) -> None:
    shop = ready_shop(api, None)
    contract = correios.add_contract()
    assert connect_correios(api, shop.admin, contract).status_code == 200
    listed = call(api, "GET", "/integrations", headers=shop.admin.headers()).json_body["items"]
    entry = next(i for i in listed if i["provider"] == "correios")
    assert entry["summary"] == {
        "contract": contract["contract"],
        "postingCard": contract["postingCard"],
        "mode": "production",
    }
    raw = Table().get(*integration_key(shop.admin.tenant_id, Provider.CORREIOS))
    assert raw is not None
    assert contract["accessCode"] not in str(raw)
    tested = call(api, "POST", "/integrations/correios/test", None, shop.admin.headers())
    assert tested.status_code == 200, tested.body
    assert tested.json_body["ok"] is True
    assert tested.json_body["account"] == f"contract {contract['contract']}, posting card {contract['postingCard']}"
    wrong = connect_correios(api, shop.admin, {**contract, "accessCode": "not-the-code"})
    assert wrong.status_code == 200
    refused = call(api, "POST", "/integrations/correios/test", None, shop.admin.headers()).json_body
    assert refused["ok"] is False
    assert "refused the user, access code or posting card" in refused["detail"]
    assert "not-the-code" not in str(refused)
    bad = connect_correios(api, shop.admin, {**contract, "postingCard": "12ab"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json_body["errors"]] == ["body.credentials.postingCard"]


def test_quote_lists_correios_services_next_to_melhorenvio_cheapest_first(
    api: Any, correios: FakeCorreios, melhorenvio: FakeMelhorEnvio
) -> None:
    shop = _correios_shop(api, correios, melhorenvio)
    order = new_order(api, shop, quantity=2)
    quoted = quote(api, shop, order["id"])
    assert quoted.status_code == 200, quoted.body
    items = quoted.json_body["items"]
    direct = [(q["carrier"], q["service"], q["serviceId"]) for q in items if q["provider"] == "correios"]
    assert sorted(direct) == [("Correios", "PAC", "03298"), ("Correios", "SEDEX", "03220")]
    assert {q["provider"] for q in items} == {"correios", "melhorenvio"}
    prices = [float(q["price"]["amount"]) for q in items]
    assert prices == sorted(prices)
    assert all(q["deliveryDays"] > 0 for q in items)
    [sent] = [r["query"] for r in correios.accepted() if r["path"] == "/preco/v1/nacional/03298"]
    # Two 1.5 kg boxes of 30 x 20 x 25 cm: 3000 g, lengths stacked; the declared value of both.
    assert (sent["cepOrigem"], sent["cepDestino"], sent["psObjeto"]) == ("01304001", "22010000", "3000")
    assert (sent["comprimento"], sent["largura"], sent["altura"], sent["vlDeclarado"]) == ("60", "20", "25", "240.00")
    # Correios' money comes with a decimal comma: the quote's amount is the same value.
    pac = next(q for q in items if q["provider"] == "correios" and q["service"] == "PAC")
    assert pac["price"]["amount"] == f"{float(pac['price']['amount']):.2f}"


def test_a_service_that_cannot_carry_the_package_is_listed_with_the_reason(api: Any, correios: FakeCorreios) -> None:
    shop = _correios_shop(api, correios)
    heavy = stocked_product(
        api,
        shop.admin,
        5,
        name="Bigorna",
        price={"amount": "900.00", "currency": "BRL"},
        weightGrams=35000,
        dimensions={"lengthCm": 40, "widthCm": 30, "heightCm": 30},
    )
    body = {"customerId": shop.customer["id"], "items": [{"productId": heavy["id"], "quantity": 1}]}
    order = call(api, "POST", "/orders", body, shop.admin.headers()).json_body
    quoted = quote(api, shop, order["id"])
    assert quoted.status_code == 200, quoted.body
    assert quoted.json_body["items"] == []
    reasons = {(u["provider"], u["service"]): u["reason"] for u in quoted.json_body["unavailable"]}
    assert set(reasons) == {("correios", "PAC"), ("correios", "SEDEX")}
    assert "Peso excede" in reasons[("correios", "PAC")]


def test_one_carrier_down_does_not_fail_the_others_and_recovers(
    api: Any, correios: FakeCorreios, melhorenvio: FakeMelhorEnvio
) -> None:
    shop = _correios_shop(api, correios, melhorenvio)
    order = new_order(api, shop)
    correios.configure(failNext=1, failStatus=503)
    partial = quote(api, shop, order["id"])
    assert partial.status_code == 200, partial.body
    assert {q["provider"] for q in partial.json_body["items"]} == {"melhorenvio"}
    [failure] = partial.json_body["failures"]
    assert failure["provider"] == "correios"
    assert "503" in failure["detail"]
    assert sync_logs(api, shop, "correios")[0]["operation"] == "quote"
    assert sync_logs(api, shop, "correios")[0]["ok"] is False
    recovered = quote(api, shop, order["id"])
    assert {q["provider"] for q in recovered.json_body["items"]} == {"correios", "melhorenvio"}
    assert recovered.json_body["failures"] == []
    # Only Correios connected and down: the request fails as the outage it is.
    alone = _correios_shop(api, correios)
    their_order = new_order(api, alone)
    correios.configure(failNext=1, failStatus=503)
    down = quote(api, alone, their_order["id"])
    assert down.status_code == 503


def test_the_label_is_a_pre_posting_with_its_tracking_code_registered_once(api: Any, correios: FakeCorreios) -> None:
    shop = _correios_shop(api, correios)
    order = new_order(api, shop)
    sedex = next(q for q in quote(api, shop, order["id"]).json_body["items"] if q["service"] == "SEDEX")
    bought = buy(api, shop, order["id"], sedex["id"], **{"Idempotency-Key": "label-c1"})
    assert bought.status_code == 201, bought.body
    shipment = bought.json_body["shipment"]
    [registered] = correios.objects()
    assert (shipment["provider"], shipment["carrier"], shipment["service"]) == ("correios", "Correios", "SEDEX")
    assert shipment["labelId"] == registered["id"]
    assert shipment["trackingCode"] == registered["codigoObjeto"]
    assert shipment["price"] == sedex["price"]
    assert registered["codigoServico"] == "03220"
    assert registered["destinatario"]["endereco"]["cep"] == "22010000"
    assert registered["observacao"] == f"BTRIX #{order['number']}"
    replay = buy(api, shop, order["id"], sedex["id"], **{"Idempotency-Key": "label-c1"})
    assert replay.status_code == 201
    assert replay.json_body["shipment"]["labelId"] == shipment["labelId"]
    other = buy(api, shop, order["id"], sedex["id"])
    assert other.status_code == 409
    assert other.json_body["type"].endswith("label-exists")
    assert len(correios.objects()) == 1
    logs = sync_logs(api, shop, "correios")
    assert any(e["operation"] == "buy_label" and e["ok"] and "SEDEX" in e["detail"] for e in logs)


def test_an_outage_at_the_pre_posting_is_retried_without_a_second_object(api: Any, correios: FakeCorreios) -> None:
    shop = _correios_shop(api, correios)
    order = new_order(api, shop)
    chosen = quote(api, shop, order["id"]).json_body["items"][0]
    correios.configure(failNext=1, failStatus=502)
    failed = buy(api, shop, order["id"], chosen["id"])
    assert failed.status_code == 503, failed.body
    assert correios.objects() == []
    assert any(e["operation"] == "buy_label" and not e["ok"] for e in sync_logs(api, shop, "correios"))
    resumed = buy(api, shop, order["id"], chosen["id"])
    assert resumed.status_code == 201, resumed.body
    assert len(correios.objects()) == 1


def test_a_pre_posting_whose_answer_was_lost_is_found_and_adopted_on_retry(api: Any, correios: FakeCorreios) -> None:
    shop = _correios_shop(api, correios)
    order = new_order(api, shop)
    chosen = quote(api, shop, order["id"]).json_body["items"][0]
    correios.configure(loseNext=1)  # Correios pre-posts the object; its answer never arrives
    lost = buy(api, shop, order["id"], chosen["id"])
    assert lost.status_code == 503, lost.body
    [made] = correios.objects()
    resumed = buy(api, shop, order["id"], chosen["id"])
    assert resumed.status_code == 201, resumed.body
    assert len(correios.objects()) == 1
    shipment = resumed.json_body["shipment"]
    assert (shipment["labelId"], shipment["trackingCode"]) == (made["id"], made["codigoObjeto"])
    searched = [r["query"] for r in correios.accepted() if r["path"] == "/prepostagem/v1/prepostagens"]
    assert [q.get("dataInicio") for q in searched] == [made["dataHora"][:10]]


def test_an_expired_token_is_replaced_once_for_concurrent_calls(api: Any, correios: FakeCorreios) -> None:
    shop = _correios_shop(api, correios)
    order = new_order(api, shop)
    assert quote(api, shop, order["id"]).status_code == 200
    assert correios.authentications == 1  # the token is kept and reused
    assert quote(api, shop, order["id"]).status_code == 200
    assert correios.authentications == 1
    correios.expire_tokens()
    assert concurrent_quotes(api, shop, order["id"]) == [200, 200, 200, 200]
    assert correios.authentications == 2
    refused = [r for r in correios.received if r["status"] == 401]
    assert refused  # the expired token was refused before the new authentication


def test_a_token_near_its_expiry_is_replaced_before_a_call_is_refused(api: Any, correios: FakeCorreios) -> None:
    correios.token_lifetime_s = 60  # expiraEm within the refresh margin: not used again
    shop = _correios_shop(api, correios)
    order = new_order(api, shop)
    assert quote(api, shop, order["id"]).status_code == 200
    assert quote(api, shop, order["id"]).status_code == 200
    assert correios.authentications == 2
    assert not [r for r in correios.received if r["status"] == 401]


def test_throttling_is_waited_out_then_reported(api: Any, correios: FakeCorreios) -> None:
    shop = _correios_shop(api, correios)
    order = new_order(api, shop)
    correios.configure(throttleNext=1)
    assert quote(api, shop, order["id"]).status_code == 200
    assert len([r for r in correios.received if r["status"] == 429]) == 1
    correios.configure(throttleNext=5)
    busy = quote(api, shop, order["id"])
    assert busy.status_code == 503
    assert "429" in busy.json_body["detail"]
    correios.configure(throttleNext=0)
    assert quote(api, shop, order["id"]).status_code == 200


def test_tracking_moves_the_order_to_shipped_then_delivered_and_tells_the_customer(
    api: Any, correios: FakeCorreios, drain: Any
) -> None:
    shop = _correios_shop(api, correios)
    order = new_order(api, shop)
    chosen = quote(api, shop, order["id"]).json_body["items"][0]
    code = buy(api, shop, order["id"], chosen["id"]).json_body["shipment"]["trackingCode"]
    tenant_id = shop.admin.tenant_id

    def seen() -> dict[str, Any]:
        return dict(call(api, "GET", f"/orders/{order['id']}", headers=shop.admin.headers()).json_body)

    # Pre-posted, not handed over yet: Correios does not know the object; the order stays where it is.
    assert track_labels(tenant_id, Provider.CORREIOS) == "tracked 1 label(s), 1 changed"
    assert seen()["status"] == "CONFIRMED"
    correios.post(code)
    # What the schedule does every 30 minutes, now.
    synced = call(api, "POST", "/integrations/correios/sync", None, shop.admin.headers())
    assert synced.status_code == 202, synced.body
    assert synced.json_body["task"] == track_task(Provider.CORREIOS)
    drain(lambda: seen()["status"] == "SHIPPED", timeout_s=60)
    assert seen()["shipment"]["status"] == "posted"
    correios.deliver(code)
    jobs.enqueue_task(track_task(Provider.CORREIOS), tenant_id, {}, key="c-2")
    drain(lambda: seen()["status"] == "DELIVERED", timeout_s=60)
    final = seen()
    assert final["shipment"]["status"] == "delivered"
    assert final["shipment"]["trackingCode"] == code

    drain(lambda: customer_told_shipped_and_delivered(tenant_id), timeout_s=60)
    assert any(e["operation"] == "track" and e["ok"] for e in sync_logs(api, shop, "correios"))
    # Delivered: off the open list, the next run asks Correios about nothing.
    before = _api_paths(correios).count("/srorastro/v1/objetos")
    assert track_labels(tenant_id, Provider.CORREIOS) is None
    assert _api_paths(correios).count("/srorastro/v1/objetos") == before
