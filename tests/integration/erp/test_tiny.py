"""Tiny ERP (API 2.0) against the fake Tiny on the local stack: connecting with the company's API token, products,
stock and paid orders pushed (with their NF-e), the stock pulled, duplicates, a revoked token, Tiny's quota (an error
in an HTTP 200 answer), and an outage followed by recovery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.integrations.http import Failure, ProviderError
from chalicelib.integrations.tiny.client import Tiny
from chalicelib.notifications.outbox import list_messages
from localdev.fake_tiny import FakeTiny
from tests.integration.erp.conftest import PERSON, Deliver, erase, get_json, order_for, pay
from tests.support.commerce import create_product, move_stock
from tests.support.environment import settings_from
from tests.support.identity import Account, call


@pytest.fixture
def tiny(stack: Any) -> Iterator[FakeTiny]:
    """The fake Tiny, with ``tiny_api_url`` pointed at it and integration jobs retried at once."""
    fake = FakeTiny(seed=11).start()
    plain_http = {"BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true"}  # the fake speaks plain http on 127.0.0.1
    try:
        with settings_from({**fake.settings_env(), **plain_http, "BTRIX_INTEGRATION_RETRY_BASE_S": "0"}):
            yield fake
    finally:
        fake.stop()


def _connect(api: Any, admin: Account, tiny: FakeTiny, **settings: Any) -> dict[str, Any]:
    body = {"credentials": {"apiToken": tiny.token, **settings}}
    answer = call(api, "PUT", "/integrations/tiny", body, admin.headers())
    assert answer.status_code == 200, answer.body
    return dict(answer.json_body)


def _logs(api: Any, admin: Account) -> list[dict[str, Any]]:
    return list(get_json(api, admin, "/integrations/tiny/logs?limit=100")["items"])


def test_connecting_tiny_tests_the_token_and_never_shows_it(api: Any, admin: Account, tiny: FakeTiny) -> None:
    integration = _connect(api, admin, tiny, sourceOfTruth="erp", issueNfe=True)
    assert integration["summary"] == {"sourceOfTruth": "erp", "issueNfe": "true"}
    tested = call(api, "POST", "/integrations/tiny/test", headers=admin.headers()).json_body
    assert (tested["ok"], tested["account"]) == (True, tiny.company)
    assert tiny.token not in str(integration) + str(tested) + str(get_json(api, admin, "/integrations"))


def test_products_stock_and_a_paid_order_reach_tiny_with_its_nfe(
    api: Any, admin: Account, tiny: FakeTiny, deliver: Deliver
) -> None:
    _connect(api, admin, tiny, issueNfe=True)
    product = create_product(api, admin, name="Arroz agulhinha 5 kg", price={"amount": "27.45", "currency": "BRL"})
    assert move_stock(api, admin, product["id"], "in", 4).status_code == 201
    deliver(lambda: product["code"] in tiny.products() and tiny.stock_of(product["code"]) == 4)
    assert tiny.products()[product["code"]]["preco"] == "27.45"
    order = order_for(api, admin, product["id"], 3, document="52998224725")
    pay(admin.tenant_id, order)
    pay(admin.tenant_id, order)  # the confirmation arrived twice: one sales order
    deliver(lambda: get_json(api, admin, f"/orders/{order['id']}").get("fiscalDocument") is not None)
    [sales_order] = tiny.sales_orders()
    assert sales_order["numero_ecommerce"] == f"BTRIX-{order['number']}"
    assert sales_order["cliente"]["cpf_cnpj"] == "52998224725"
    [item] = sales_order["itens"]
    assert (item["item"]["codigo"], item["item"]["quantidade"], item["item"]["valor_unitario"]) == (
        product["code"],
        "3",
        "27.45",
    )
    document = get_json(api, admin, f"/orders/{order['id']}")["fiscalDocument"]
    assert document["provider"] == "tiny"
    assert len(document["key"]) == 44
    assert document["pdfUrl"].startswith(tiny.url)


def test_a_product_tiny_already_has_is_linked_and_the_erp_count_pulled(
    api: Any, admin: Account, tiny: FakeTiny, deliver: Deliver
) -> None:
    product = create_product(api, admin, name="Feijão carioca 1 kg")
    tiny.add_product(product["code"], "Feijão carioca (Tiny)")
    tiny.set_stock(product["code"], 15)
    _connect(api, admin, tiny, sourceOfTruth="erp")
    assert call(api, "POST", "/integrations/tiny/sync", headers=admin.headers()).status_code == 202
    deliver(lambda: get_json(api, admin, f"/inventory/{product['id']}")["onHand"] == 15)
    assert len(tiny.products()) == 1
    pulled = next(e for e in _logs(api, admin) if e["operation"] == "stock_pull")
    assert "1 linked by code" in pulled["detail"]


def test_tinys_quota_answered_in_an_http_200_is_retried(api: Any, admin: Account, tiny: FakeTiny) -> None:
    client = Tiny(tiny.token)
    tiny.configure(quotaNext=1)
    with pytest.raises(ProviderError) as quota:
        client.company()
    assert (quota.value.failure, quota.value.code) == (Failure.RETRYABLE, "6")
    assert [r["status"] for r in tiny.received] == [200]  # HTTP 200 all the same
    assert client.company() == tiny.company


def test_quota_and_outage_are_retried_until_tiny_takes_the_product(
    api: Any, admin: Account, tiny: FakeTiny, deliver: Deliver
) -> None:
    _connect(api, admin, tiny)
    tiny.configure(quotaNext=2, failNext=1)
    product = create_product(api, admin, name="Óleo de soja")
    deliver(lambda: product["code"] in tiny.products())
    codes = [r["codigoErro"] for r in tiny.received if r["method"] == "produtos.pesquisa"]
    assert codes.count(6) == 2


def test_a_revoked_token_disconnects_tiny_and_tells_the_admins(
    api: Any, admin: Account, tiny: FakeTiny, deliver: Deliver
) -> None:
    _connect(api, admin, tiny)
    tiny.configure(revokeToken=True)
    create_product(api, admin, name="Sal refinado")
    deliver(lambda: any(e["operation"] == "product" and not e["ok"] for e in _logs(api, admin)))
    failed = next(e for e in _logs(api, admin) if e["operation"] == "product")
    assert "error 2" in failed["error"]
    assert "gave up" not in failed["error"]  # refused: not retried
    shown = next(i for i in get_json(api, admin, "/integrations")["items"] if i["provider"] == "tiny")
    assert (shown["connected"], shown["status"]) == (False, "disconnected")
    told = [m for m in list_messages(admin.tenant_id) if m.template == "integration.disconnected"]
    assert [(m.to, m.channel) for m in told] == [("role:ADMIN", "email")]
    assert len(tiny.received) == 1  # one refused call, nothing retried against it


def test_an_erased_customer_is_anonymised_at_tiny(api: Any, admin: Account, tiny: FakeTiny, deliver: Deliver) -> None:
    _connect(api, admin, tiny)
    product = create_product(api, admin, name="Farinha de mandioca")
    assert move_stock(api, admin, product["id"], "in", 3).status_code == 201
    order = order_for(api, admin, product["id"], 1, **PERSON)
    pay(admin.tenant_id, order)
    deliver(lambda: len(tiny.sales_orders()) == 1)
    assert tiny.contacts()[0]["cpf_cnpj"] == PERSON["document"]
    pseudonym = erase(api, admin, deliver, order["customerId"], "tiny")
    [contact] = tiny.contacts()
    assert contact["nome"] == pseudonym
    held = json.dumps(tiny.contacts(), ensure_ascii=False)
    assert [value for value in PERSON.values() if value in held] == []
