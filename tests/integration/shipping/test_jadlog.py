"""Shipping with JadLog's Embarcador API against its fake: connect, quote (errors in 200 bodies, next to the other
carriers), register the shipment once (no label PDF, and why), a revoked token, throttling, an outage then recovery
(a lost answer and tracking: ``test_direct_carriers.py``)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.db.store import Table
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.parcels import carrier_reference
from chalicelib.integrations.store import integration_key
from localdev.fake_correios import FakeCorreios
from localdev.fake_jadlog import FakeJadLog
from localdev.fake_melhorenvio import FakeMelhorEnvio
from tests.integration.shipping.conftest import (
    buy,
    carrier_shop,
    connect_correios,
    connect_jadlog,
    new_order,
    quote,
    ready_shop,
    sync_logs,
)
from tests.support.commerce import stocked_product
from tests.support.identity import call


def _sent(fake: FakeJadLog, path: str) -> list[dict[str, Any]]:
    return [r["body"] for r in fake.accepted() if r["path"] == path]


def test_connect_keeps_the_token_encrypted_and_the_test_says_whether_jadlog_takes_it(
    api: Any, jadlog: FakeJadLog
) -> None:
    shop = ready_shop(api, None)
    shipper = jadlog.add_shipper()
    assert connect_jadlog(api, shop.admin, shipper).status_code == 200
    entry = next(
        i
        for i in call(api, "GET", "/integrations", headers=shop.admin.headers()).json_body["items"]
        if i["provider"] == "jadlog"
    )
    assert entry["summary"] == {"account": shipper["account"], "contract": shipper["contract"]}
    raw = Table().get(*integration_key(shop.admin.tenant_id, Provider.JADLOG))
    assert raw is not None
    assert shipper["token"] not in str(raw)
    tested = call(api, "POST", "/integrations/jadlog/test", None, shop.admin.headers()).json_body
    assert (tested["ok"], tested["account"]) == (True, f"account {shipper['account']} (CNPJ {shipper['cnpj']})")
    assert connect_jadlog(api, shop.admin, {**shipper, "token": "jl_revoked_token_0001"}).status_code == 200
    refused = call(api, "POST", "/integrations/jadlog/test", None, shop.admin.headers()).json_body
    assert refused["ok"] is False
    assert "refused the credentials (401)" in refused["detail"]
    bad = connect_jadlog(api, shop.admin, {**shipper, "cnpj": "12.345.678/0001-99"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json_body["errors"]] == ["body.credentials.cnpj"]


def test_every_connected_carrier_quotes_and_jadlog_is_asked_for_the_billable_weight(
    api: Any, jadlog: FakeJadLog, correios: FakeCorreios, melhorenvio: FakeMelhorEnvio
) -> None:
    shop = carrier_shop(api, jadlog, melhorenvio)
    assert connect_correios(api, shop.admin, correios.add_contract()).status_code == 200
    order = new_order(api, shop, quantity=2)
    quoted = quote(api, shop, order["id"])
    assert quoted.status_code == 200, quoted.body
    items = quoted.json_body["items"]
    assert {q["provider"] for q in items} == {"melhorenvio", "correios", "jadlog"}
    direct = sorted((q["service"], q["serviceId"]) for q in items if q["provider"] == "jadlog")
    assert direct == [(".COM", "9"), (".PACKAGE", "3")]
    prices = [float(q["price"]["amount"]) for q in items]
    assert prices == sorted(prices)
    [sent] = _sent(jadlog, "/frete/valor")
    by_modality = {entry["modalidade"]: entry for entry in sent["frete"]}
    # A box of 60 x 20 x 25 cm weighing 3 kg: cubed by air (.COM, /6000) 5 kg, by road (/3333) 9 kg.
    assert (by_modality[9]["peso"], by_modality[3]["peso"]) == (5.0, 9.001)
    assert (by_modality[3]["cepori"], by_modality[3]["cepdes"], by_modality[3]["vldeclarado"]) == (
        "01304001",
        "22010000",
        240.0,
    )


def test_errors_in_200_bodies_are_failures_and_unavailable_services(api: Any, jadlog: FakeJadLog) -> None:
    shop = ready_shop(api, None)
    shipper = jadlog.add_shipper()
    assert connect_jadlog(api, shop.admin, {**shipper, "account": "999999"}).status_code == 200
    order = new_order(api, shop)
    wrong = quote(api, shop, order["id"])
    # JadLog answered 200 with an error: it refused, nothing a retry changes.
    assert wrong.status_code == 502, wrong.body
    assert "Conta corrente ou CNPJ invalido" in wrong.json_body["detail"]
    assert sync_logs(api, shop, "jadlog")[0]["ok"] is False
    assert connect_jadlog(api, shop.admin, shipper).status_code == 200
    heavy = stocked_product(
        api,
        shop.admin,
        5,
        name="Motor",
        price={"amount": "1500.00", "currency": "BRL"},
        weightGrams=45000,
        dimensions={"lengthCm": 50, "widthCm": 40, "heightCm": 40},
    )
    body = {"customerId": shop.customer["id"], "items": [{"productId": heavy["id"], "quantity": 1}]}
    heavy_order = call(api, "POST", "/orders", body, shop.admin.headers()).json_body
    quoted = quote(api, shop, heavy_order["id"])
    assert quoted.status_code == 200, quoted.body
    assert [(q["service"]) for q in quoted.json_body["items"]] == [".COM"]
    [unavailable] = quoted.json_body["unavailable"]
    assert (unavailable["provider"], unavailable["service"]) == ("jadlog", ".PACKAGE")
    assert "Peso acima do limite" in unavailable["reason"]


def test_the_label_is_one_shipment_order_registered_once(api: Any, jadlog: FakeJadLog) -> None:
    shop = carrier_shop(api, jadlog)
    order = new_order(api, shop)
    chosen = next(q for q in quote(api, shop, order["id"]).json_body["items"] if q["service"] == ".PACKAGE")
    bought = buy(api, shop, order["id"], chosen["id"], **{"Idempotency-Key": "label-j1"})
    assert bought.status_code == 201, bought.body
    shipment = bought.json_body["shipment"]
    [registered] = jadlog.shipments()
    assert (shipment["provider"], shipment["carrier"], shipment["service"]) == ("jadlog", "Jadlog", ".PACKAGE")
    assert (shipment["labelId"], shipment["trackingCode"]) == (registered["codigo"], registered["shipmentId"])
    assert registered["modalidade"] == 3
    assert registered["pedido"] == [carrier_reference(shop.admin.tenant_id, order["number"])]
    assert registered["des"]["cep"] == "22010000"
    # JadLog's API has no label PDF: none is linked, and the order says why.
    assert shipment.get("labelUrl") is None
    assert f"order {registered['codigo']} in JadLog's panel" in shipment["labelNote"]
    link = call(api, "GET", f"/orders/{order['id']}/shipment/label", headers=shop.admin.headers())
    assert link.status_code == 409
    assert link.json_body["detail"] == shipment["labelNote"]
    replay = buy(api, shop, order["id"], chosen["id"], **{"Idempotency-Key": "label-j1"})
    assert replay.json_body["shipment"]["labelId"] == shipment["labelId"]
    again = buy(api, shop, order["id"], chosen["id"])
    assert again.status_code == 409
    assert len(jadlog.shipments()) == 1


def test_throttling_and_an_outage_fail_only_jadlog_and_pass(
    api: Any, jadlog: FakeJadLog, melhorenvio: FakeMelhorEnvio
) -> None:
    shop = carrier_shop(api, jadlog, melhorenvio)
    order = new_order(api, shop)
    jadlog.configure(throttleNext=1)
    waited = quote(api, shop, order["id"])
    assert {q["provider"] for q in waited.json_body["items"]} == {"melhorenvio", "jadlog"}
    assert len([r for r in jadlog.received if r["status"] == 429]) == 1
    jadlog.configure(throttleNext=5)
    busy = quote(api, shop, order["id"])
    assert busy.status_code == 200
    assert [(f["provider"], "429" in f["detail"]) for f in busy.json_body["failures"]] == [("jadlog", True)]
    jadlog.configure(throttleNext=0, failNext=1, failStatus=500)
    down = quote(api, shop, order["id"])
    assert [f["provider"] for f in down.json_body["failures"]] == ["jadlog"]
    chosen = next(q for q in quote(api, shop, order["id"]).json_body["items"] if q["provider"] == "jadlog")
    jadlog.configure(failNext=1, failStatus=503)
    failed = buy(api, shop, order["id"], chosen["id"])
    assert failed.status_code == 503
    assert jadlog.shipments() == []
    assert buy(api, shop, order["id"], chosen["id"]).status_code == 201
    assert len(jadlog.shipments()) == 1
