"""Shipping with Correios' contract API against its fake: connect, quote (next to MelhorEnvio, one carrier's outage
not failing the other), register the label once with its PDF (kept, linked, resumed at its step), token expiry (a
new authentication, single flight), throttling, an outage then recovery (what Correios and JadLog share, a lost
answer and tracking, is ``test_direct_carriers.py``)."""

from __future__ import annotations

from typing import Any

import httpx

from chalicelib.core.db.store import Table
from chalicelib.core.personal_data import DataSubject
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.parcels import carrier_reference
from chalicelib.integrations.store import integration_key
from chalicelib.shipping.privacy import erase_labels
from localdev.fake_correios import FakeCorreios
from localdev.fake_melhorenvio import FakeMelhorEnvio
from tests.integration.shipping.conftest import (
    buy,
    carrier_shop,
    concurrent_quotes,
    connect_correios,
    new_order,
    quote,
    ready_shop,
    sync_logs,
)
from tests.support.commerce import stocked_product
from tests.support.identity import call


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
    shop = carrier_shop(api, correios, melhorenvio)
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
    shop = carrier_shop(api, correios)
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
    shop = carrier_shop(api, correios, melhorenvio)
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
    alone = carrier_shop(api, correios)
    their_order = new_order(api, alone)
    correios.configure(failNext=1, failStatus=503)
    down = quote(api, alone, their_order["id"])
    assert down.status_code == 503


def test_the_label_is_a_pre_posting_with_its_tracking_code_registered_once(api: Any, correios: FakeCorreios) -> None:
    shop = carrier_shop(api, correios)
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
    assert registered["observacao"] == carrier_reference(shop.admin.tenant_id, order["number"])
    # The label's PDF: asked of Correios for the pre-posting, downloaded, kept; the order links it for a while.
    [asked] = [r["body"] for r in correios.accepted() if r["path"].endswith("/rotulo/assincrono/pdf")]
    assert asked["idsPrePostagem"] == [registered["id"]]
    pdf = httpx.get(shipment["labelUrl"], timeout=30)
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert registered["codigoObjeto"].encode() in pdf.content
    assert shipment.get("labelNote") is None
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
    shop = carrier_shop(api, correios)
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


def _label_requests(fake: FakeCorreios) -> int:
    return len([r for r in fake.accepted() if r["path"].endswith("/rotulo/assincrono/pdf")])


def test_a_label_pdf_not_made_yet_or_not_downloaded_resumes_at_its_step(api: Any, correios: FakeCorreios) -> None:
    shop = carrier_shop(api, correios)
    order = new_order(api, shop)
    chosen = quote(api, shop, order["id"]).json_body["items"][0]
    correios.label_pending_polls = 10  # Correios takes longer than the purchase waits
    slow = buy(api, shop, order["id"], chosen["id"])
    assert slow.status_code == 503, slow.body
    assert "still making the label PDF" in slow.json_body["detail"]
    correios.label_pending_polls = 0
    downloads = len([r for r in correios.received if "/rotulo/download/" in r["path"]])
    correios.configure(failNext=1, failStatus=502)  # the download itself fails once
    failed = buy(api, shop, order["id"], chosen["id"])
    assert failed.status_code == 503, failed.body
    done = buy(api, shop, order["id"], chosen["id"])
    assert done.status_code == 201, done.body
    # One pre-posting, one label asked for: each retry went on with the same receipt.
    assert len(correios.objects()) == 1
    assert _label_requests(correios) == 1
    assert len([r for r in correios.received if "/rotulo/download/" in r["path"]]) == downloads + 2
    assert httpx.get(done.json_body["shipment"]["labelUrl"], timeout=30).content.startswith(b"%PDF")


def test_the_label_link_is_renewed_for_the_tenant_only(api: Any, correios: FakeCorreios) -> None:
    shop = carrier_shop(api, correios)
    order = new_order(api, shop)
    path = f"/orders/{order['id']}/shipment/label"
    none_yet = call(api, "GET", path, headers=shop.admin.headers())
    assert none_yet.status_code == 404
    chosen = quote(api, shop, order["id"]).json_body["items"][0]
    assert buy(api, shop, order["id"], chosen["id"]).status_code == 201
    link = call(api, "GET", path, headers=shop.admin.headers())
    assert link.status_code == 200, link.body
    assert (link.json_body["provider"], link.json_body["expiresAt"] > order["createdAt"]) == ("correios", True)
    assert httpx.get(link.json_body["url"], timeout=30).content.startswith(b"%PDF")
    other = ready_shop(api, None)
    assert call(api, "GET", path, headers=other.admin.headers()).status_code == 404
    # Erasing the customer deletes the PDF BTRIX kept: the link stops working.
    subject = DataSubject(shop.admin.tenant_id, "customer", shop.customer["id"], "Cliente removido")
    erase_labels(subject)
    assert httpx.get(link.json_body["url"], timeout=30).status_code == 404


def test_an_expired_token_is_replaced_once_for_concurrent_calls(api: Any, correios: FakeCorreios) -> None:
    shop = carrier_shop(api, correios)
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
    shop = carrier_shop(api, correios)
    order = new_order(api, shop)
    assert quote(api, shop, order["id"]).status_code == 200
    assert quote(api, shop, order["id"]).status_code == 200
    assert correios.authentications == 2
    assert not [r for r in correios.received if r["status"] == 401]


def test_throttling_is_waited_out_then_reported(api: Any, correios: FakeCorreios) -> None:
    shop = carrier_shop(api, correios)
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
