"""Bling (ERP) against the fake Bling on the local stack: connecting by consent, products, stock and paid orders pushed
(with their NF-e), the stock pulled per the source of truth, duplicates, an expired token (rotated refresh tokens,
single flight), a dead refresh token, Bling's rate limit, and an outage followed by recovery."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from chalicelib.core.db.store import Table
from chalicelib.erp.adapters import bling_of_tenant
from chalicelib.integrations import jobs, redrive
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.http import Failure, ProviderError
from chalicelib.integrations.store import access_token_key, integration_key
from chalicelib.notifications.outbox import list_messages
from localdev.fake_bling import FakeBling
from tests.integration.erp.conftest import (
    CALLBACK_PATH,
    PERSON,
    Deliver,
    connect_bling,
    erase,
    get_json,
    order_for,
    pay,
    sync_logs,
)
from tests.support.commerce import create_product, move_stock
from tests.support.identity import Account, call


def test_consent_connects_bling_with_its_settings_and_no_secret_shows(
    api: Any, admin: Account, bling: FakeBling
) -> None:
    integration = connect_bling(api, admin, sourceOfTruth="erp", issueNfe=True)
    assert integration["status"] == "connected"
    assert integration["summary"] == {"sourceOfTruth": "erp", "issueNfe": "true", "account": bling.company}
    tested = call(api, "POST", "/integrations/bling/test", headers=admin.headers())
    assert tested.status_code == 200, tested.body
    assert (tested.json_body["ok"], tested.json_body["account"]) == (True, bling.company)
    stored = str(Table().get(*integration_key(admin.tenant_id, Provider.BLING)))
    token_item = str(Table().get(*access_token_key(admin.tenant_id, Provider.BLING)))
    listed = call(api, "GET", "/integrations", headers=admin.headers()).body.decode()
    granted = [t for t in bling._tokens] + sorted(bling._refresh_tokens)
    assert granted
    for secret in granted:
        assert secret not in stored
        assert secret not in token_item
        assert secret not in listed
    # A Google state is no good at Bling's callback, and a used one is refused.
    google = call(api, "GET", f"{CALLBACK_PATH}?{urlencode({'state': 'x.y', 'code': 'c'})}")
    assert google.status_code == 422
    assert [e["field"] for e in google.json_body["errors"]] == ["query.state"]
    bling.configure(denyConsent=True)
    started = call(api, "POST", "/integrations/bling/connect", {}, admin.headers()).json_body
    refused_at = httpx.get(started["url"], follow_redirects=False).headers["location"]
    refused = call(api, "GET", f"{CALLBACK_PATH}?{urlsplit(refused_at).query}")
    assert refused.status_code == 403


def test_products_stock_and_a_paid_order_reach_bling_with_its_nfe(
    api: Any, admin: Account, bling: FakeBling, deliver: Deliver
) -> None:
    connect_bling(api, admin, sourceOfTruth="btrix", issueNfe=True)
    product = create_product(api, admin, name="Café torrado 500 g", price={"amount": "32.90", "currency": "BRL"})
    deliver(lambda: product["code"] in bling.products())
    assert bling.products()[product["code"]]["preco"] == 32.9
    assert move_stock(api, admin, product["id"], "in", 12).status_code == 201
    deliver(lambda: bling.stock_of(product["code"]) == 12)
    order = order_for(api, admin, product["id"], 2, document="52998224725", email="ana@example.com")
    pay(admin.tenant_id, order)
    deliver(lambda: get_json(api, admin, f"/orders/{order['id']}").get("fiscalDocument") is not None)
    [sales_order] = bling.sales_orders()
    assert sales_order["numeroLoja"] == f"BTRIX-{order['number']}"
    [item] = sales_order["itens"]
    assert (item["codigo"], item["quantidade"], item["valor"]) == (product["code"], 2, 32.9)
    assert item["produto"]["id"] == bling.products()[product["code"]]["id"]
    contact = bling._state.contacts[sales_order["contato"]["id"]]
    assert (contact["numeroDocumento"], contact["tipo"]) == ("52998224725", "F")
    document = get_json(api, admin, f"/orders/{order['id']}")["fiscalDocument"]
    assert document["provider"] == "bling"
    assert len(document["key"]) == 44
    assert document["number"] == "000001"
    assert document["pdfUrl"].startswith(bling.url)
    operations = {entry["operation"] for entry in sync_logs(api, admin) if entry["ok"]}
    assert {"connect", "product", "stock_push", "sales_order", "nfe"} <= operations


def test_a_repeated_payment_makes_one_sales_order(api: Any, admin: Account, bling: FakeBling, deliver: Deliver) -> None:
    connect_bling(api, admin, sourceOfTruth="btrix")
    product = create_product(api, admin, name="Queijo minas")
    assert move_stock(api, admin, product["id"], "in", 3).status_code == 201
    deliver(lambda: product["code"] in bling.products())
    order = order_for(api, admin, product["id"], 1)
    pay(admin.tenant_id, order)
    pay(admin.tenant_id, order)  # the confirmation arrived twice
    deliver(lambda: len(bling.sales_orders()) == 1)
    # The order's task is once per order, whatever events say it was paid: a redelivery does nothing.
    jobs.enqueue_task("bling.order", admin.tenant_id, {"orderId": order["id"]}, key=f"order-{order['id']}")
    jobs.enqueue_task("bling.order", admin.tenant_id, {"orderId": order["id"]}, key="another-key")
    deliver(lambda: sum(1 for e in sync_logs(api, admin) if e["operation"] == "sales_order" and e["ok"]) >= 2)
    assert len(bling.sales_orders()) == 1


def test_a_product_bling_already_has_is_linked_by_its_code(
    api: Any, admin: Account, bling: FakeBling, deliver: Deliver
) -> None:
    product = create_product(api, admin, name="Doce de leite")
    bling_id = bling.add_product(product["code"], "Doce de leite (Bling)")
    connect_bling(api, admin, sourceOfTruth="btrix")
    renamed = call(
        api, "PATCH", f"/products/{product['id']}", {"name": "Doce de leite 400 g", "version": 1}, admin.headers()
    )
    assert renamed.status_code == 200, renamed.body
    deliver(lambda: bling.products()[product["code"]]["nome"] == "Doce de leite 400 g")
    assert bling.products()[product["code"]]["id"] == bling_id
    assert len(bling.products()) == 1


def test_an_expired_token_is_refreshed_once_for_everyone_and_the_rotated_refresh_token_kept(
    api: Any, admin: Account, bling: FakeBling
) -> None:
    connect_bling(api, admin)
    names: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            names.append(bling_of_tenant(admin.tenant_id)[0].company())
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    for round_ in range(2):  # a second expiry works only if the rotated refresh token was kept
        bling.configure(expireTokens=True)
        names.clear()
        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert names == [bling.company] * 4
        assert bling.refreshes == round_ + 1


def test_a_dead_refresh_token_disconnects_bling_and_tells_the_admins(
    api: Any, admin: Account, bling: FakeBling
) -> None:
    connect_bling(api, admin)
    bling.configure(expireTokens=True, invalidGrant=True)
    with pytest.raises(ProviderError) as refused:
        bling_of_tenant(admin.tenant_id)[0].company()
    assert refused.value.failure is Failure.FATAL
    shown = next(i for i in get_json(api, admin, "/integrations")["items"] if i["provider"] == "bling")
    assert (shown["connected"], shown["status"]) == (False, "disconnected")
    assert "invalid_grant" in shown["disconnectedReason"]
    told = [m for m in list_messages(admin.tenant_id) if m.template == "integration.disconnected"]
    assert [(m.to, m.channel) for m in told] == [("role:ADMIN", "email")]


def test_blings_rate_limit_is_honoured(api: Any, admin: Account, bling: FakeBling) -> None:
    connect_bling(api, admin)
    account = bling_of_tenant(admin.tenant_id)[0]
    bling.configure(rateLimitNext=2)
    assert account.company() == bling.company  # two 429s waited out
    bling.received.clear()
    for _ in range(10):  # a burst is paced under 3 requests a second: Bling never has to refuse one
        account.company()
    assert [r["status"] for r in bling.received] == [200] * 10
    bling.configure(rateLimitNext=5)
    with pytest.raises(ProviderError) as throttled:
        account.company()
    assert (throttled.value.failure, throttled.value.status) == (Failure.RETRYABLE, 429)


def test_an_outage_is_retried_then_dead_lettered_and_recovers_after_a_redrive(
    api: Any, admin: Account, bling: FakeBling, deliver: Deliver
) -> None:
    connect_bling(api, admin, sourceOfTruth="btrix")
    bling.configure(failNext=2)
    product = create_product(api, admin, name="Farofa pronta")
    deliver(lambda: product["code"] in bling.products())  # two 503s, retried with backoff
    bling.configure(failRate=1.0)
    second = create_product(api, admin, name="Goiabada")
    failed = lambda: any(e["operation"] == "product" and not e["ok"] for e in sync_logs(api, admin))  # noqa: E731
    deliver(failed)
    assert "gave up after" in next(e["error"] for e in sync_logs(api, admin) if e["operation"] == "product")
    shown = next(i for i in get_json(api, admin, "/integrations")["items"] if i["provider"] == "bling")
    assert shown["status"] == "failing"
    bling.configure(failRate=0.0)
    # SQS moves the message to the DLQ at its next receive; an operator then redrives the DLQ.
    deliver(lambda: redrive.redrive() >= 1)
    deliver(lambda: second["code"] in bling.products())


def test_the_stock_pull_follows_the_source_of_truth_and_logs_conflicts(
    api: Any, admin: Account, bling: FakeBling, deliver: Deliver
) -> None:
    connect_bling(api, admin, sourceOfTruth="btrix")
    product = create_product(api, admin, name="Pimenta biquinho")
    assert move_stock(api, admin, product["id"], "in", 5).status_code == 201
    deliver(lambda: product["code"] in bling.products() and bling.stock_of(product["code"]) == 5)
    bling.set_stock(product["code"], 9)  # counted differently in Bling
    assert call(api, "POST", "/integrations/bling/sync", headers=admin.headers()).status_code == 202
    deliver(lambda: any(e["operation"] == "conflict" for e in sync_logs(api, admin)))
    conflict = next(e for e in sync_logs(api, admin) if e["operation"] == "conflict")
    assert f"{product['code']}: BTRIX 5, Bling 9" in conflict["error"]
    assert get_json(api, admin, f"/inventory/{product['id']}")["onHand"] == 5  # not overwritten
    assert bling.stock_of(product["code"]) == 9

    # Bling becomes the source of truth (reconnected with it): its count wins, a person's movement is a conflict.
    connect_bling(api, admin, sourceOfTruth="erp")
    jobs.enqueue_task("bling.sync", admin.tenant_id, {}, key="pull-after-reconnect")
    deliver(lambda: get_json(api, admin, f"/inventory/{product['id']}")["onHand"] == 9)
    pulled = next(e for e in sync_logs(api, admin) if e["operation"] == "stock_pull" and e["ok"])
    assert f"{product['code']} 5→9" in pulled["detail"]
    assert move_stock(api, admin, product["id"], "out", 2).status_code == 201
    deliver(lambda: sum(1 for e in sync_logs(api, admin) if e["operation"] == "conflict") == 2)
    latest = next(e for e in sync_logs(api, admin) if e["operation"] == "conflict")
    assert f"stock of {product['code']} moved in BTRIX" in latest["error"]
    assert bling.stock_of(product["code"]) == 9  # nothing pushed


def test_an_erased_customer_is_anonymised_at_bling_and_its_sales_order_kept(
    api: Any, admin: Account, bling: FakeBling, deliver: Deliver
) -> None:
    connect_bling(api, admin, sourceOfTruth="btrix")
    product = create_product(api, admin, name="Azeite extravirgem")
    assert move_stock(api, admin, product["id"], "in", 3).status_code == 201
    order = order_for(api, admin, product["id"], 1, **PERSON)
    pay(admin.tenant_id, order)
    deliver(lambda: len(bling.sales_orders()) == 1)
    pseudonym = erase(api, admin, deliver, order["customerId"], "bling")
    [contact] = bling.contacts()
    assert (contact["nome"], contact["situacao"]) == (pseudonym, "I")
    held = json.dumps(bling.contacts(), ensure_ascii=False)
    assert [value for value in PERSON.values() if value in held] == []
    assert len(bling.sales_orders()) == 1  # the sale stays, as the law keeps it


def _hooks_url(hooks: httpx.Client, tenant_id: str) -> str:
    return f"{str(hooks.base_url).rstrip('/')}/bling?tenant={tenant_id}"


def test_blings_signed_stock_webhook_is_taken_once_and_its_count_compared_when_btrix_owns_stock(
    api: Any, admin: Account, bling: FakeBling, deliver: Deliver, hooks: httpx.Client
) -> None:
    connect_bling(api, admin, sourceOfTruth="btrix")
    product = create_product(api, admin, name="Mel de laranjeira")
    assert move_stock(api, admin, product["id"], "in", 5).status_code == 201
    deliver(lambda: product["code"] in bling.products() and bling.stock_of(product["code"]) == 5)
    bling.configure(webhookUrl=_hooks_url(hooks, admin.tenant_id), webhookTwice=True)  # Bling retries: twice
    bling.set_stock(product["code"], 2)  # a person counts 2 in Bling: its webhook tells BTRIX at once

    def conflicts() -> list[dict[str, Any]]:
        return [e for e in sync_logs(api, admin) if e["operation"] == "conflict" and product["code"] in e["error"]]

    deliver(lambda: len(bling.webhooks) == 2 and bool(conflicts()))
    assert [w["status"] for w in bling.webhooks] == [200, 200]
    assert bling.webhooks[0]["event"]["eventId"] == bling.webhooks[1]["event"]["eventId"]
    [conflict] = conflicts()  # the second delivery of the same event was recorded once
    assert f"{product['code']}: BTRIX 5, Bling 2" in conflict["error"]
    assert get_json(api, admin, f"/inventory/{product['id']}")["onHand"] == 5  # not overwritten

    # Anything not signed with the tenant's Bling app's client secret is refused, and nothing is recorded.
    body = json.dumps({**bling.webhooks[0]["event"], "eventId": "forged-1"}).encode()
    path = f"/bling?tenant={admin.tenant_id}"
    for signature in (None, "sha256=" + "0" * 64, "md5=abc"):
        headers = {"X-Bling-Signature-256": signature} if signature else {}
        refused = hooks.post(path, content=body, headers=headers)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    deliver(lambda: True)
    assert len(conflicts()) == 1


def test_blings_stock_webhook_links_and_sets_btrix_count_when_bling_owns_stock(
    api: Any, admin: Account, bling: FakeBling, deliver: Deliver, hooks: httpx.Client
) -> None:
    product = create_product(api, admin, name="Goiabada cascão")
    assert move_stock(api, admin, product["id"], "in", 4).status_code == 201
    bling.add_product(product["code"], "Goiabada (Bling)")
    connect_bling(api, admin, sourceOfTruth="erp")
    bling.configure(webhookUrl=_hooks_url(hooks, admin.tenant_id))
    bling.set_stock(product["code"], 11)
    deliver(lambda: get_json(api, admin, f"/inventory/{product['id']}")["onHand"] == 11)
    taken = next(e for e in sync_logs(api, admin) if e["operation"] == "stock_webhook")
    assert f"{product['code']} 4→11" in taken["detail"]
    assert not [e for e in sync_logs(api, admin) if e["operation"] == "conflict"]
