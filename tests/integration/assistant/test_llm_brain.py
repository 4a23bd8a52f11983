"""The LLM brain against the fake OpenAI-compatible server: a well-behaved model buys with the tools, and every
misbehaviour is caught — invalid JSON arguments and an unknown tool are told to the model and never run, a price the
catalog does not have, or a real price on a product no tool returned, is replaced by the tool's result, a model that
never calls tools cannot state prices, an outage or a timeout lets the deterministic brain answer the turn, and a
spent monthly token budget turns the number deterministic (its ADMINs told once)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chalicelib.assistant.tools import TOOLS
from chalicelib.core import clock
from chalicelib.core.db.store import tenant_scope
from chalicelib.notifications.outbox import list_messages
from localdev.fake_llm import FakeLLM
from tests.integration.assistant.conftest import Shop, configure, open_shop, wa_id, write
from tests.support.environment import settings_from
from tests.support.identity import call

KEY = "sk-test-0123456789"


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLM]:
    """The fake LLM, answering only to its key; one-second completions time out."""
    fake = FakeLLM(api_key=KEY).start()
    try:
        with settings_from({"BTRIX_ASSISTANT_LLM_TIMEOUT_S": "1"}):
            yield fake
    finally:
        fake.stop()


@pytest.fixture
def shop(api: Any, providers: Any, llm: FakeLLM) -> Iterator[Shop]:
    """A shop whose number's assistant uses the fake LLM; nothing scripted is left for the next test."""
    opened = open_shop(api, providers)
    answer = configure(api, opened, llm={"baseUrl": llm.url, "model": "fake-shop", "apiKey": KEY})
    assert answer["llm"] == {"baseUrl": llm.url, "model": "fake-shop", "apiKeySet": True}
    yield opened
    assert llm.pending() == 0, "the test left scripted answers unplayed"
    llm.reset()


def _texts(shop: Shop, customer: str) -> list[str]:
    return [
        m["interactive"]["body"]["text"] if m["type"] == "interactive" else m["text"]["body"]
        for m in shop.said(customer)
    ]


def _turn(hooks: httpx.Client, shop: Shop, work: Any, customer: str, text: str) -> str:
    before = len(shop.said(customer))
    write(hooks, shop, customer, text)
    work(lambda: len(shop.said(customer)) > before)
    return _texts(shop, customer)[-1]


def _tool_messages(llm: FakeLLM, since: int) -> list[dict[str, Any]]:
    last = llm.requests()[-1]["messages"]
    assert len(llm.requests()) > since
    return [m for m in last if m.get("role") == "tool"]


def _cart_lines(shop: Shop, api: Any, customer: str) -> list[Any]:
    from chalicelib.assistant.store import get_cart

    found = call(api, "GET", f"/conversations?contact=%2B{customer}", None, shop.admin.headers()).json_body["items"]
    with tenant_scope(shop.admin.tenant_id):
        cart = get_cart(shop.admin.tenant_id, found[0]["id"])
    return [] if cart is None else list(cart.lines)


def test_a_model_that_uses_the_tools_sells_and_sends_the_payment_link(
    api: Any, hooks: httpx.Client, work: Any, shop: Shop, llm: FakeLLM
) -> None:
    customer = wa_id()
    said = _turn(hooks, shop, work, customer, "quero 2 camiseta")
    assert said == "No carrinho: 2 x Camiseta Azul. Total R$ 79,80. Escreva finalizar para pagar."
    request = llm.requests()[-1]
    assert request["model"] == "fake-shop"
    assert {t["function"]["name"] for t in request["tools"]} == set(TOOLS)  # every tool, each with its schema
    said = _turn(hooks, shop, work, customer, "finalizar")
    assert said.startswith("Pedido #1 criado, total R$ 79,80. Pague aqui: https://pay.btrix.test/pay/pay_")
    [order] = call(api, "GET", "/orders", None, shop.admin.headers()).json_body["items"]
    assert (order["createdBy"], order["channel"], order["totals"]["total"]["amount"]) == (
        "assistant",
        "whatsapp",
        "79.80",
    )


def test_invalid_json_arguments_and_an_unknown_tool_are_told_to_the_model_and_never_run(
    api: Any, hooks: httpx.Client, work: Any, shop: Shop, llm: FakeLLM
) -> None:
    customer = wa_id()
    product_id = shop.product["id"]
    llm.script(
        {"tools": [("add_to_cart", '{"productId": "' + product_id + '", "quantity": 2')]},  # no closing brace
        {"tools": [("drop_all_orders", {})]},
        {"tools": [("add_to_cart", {"productId": product_id, "quantity": 500})]},  # over the tool's limit
        {"text": "Não consegui adicionar, desculpe."},
    )
    count = len(llm.requests())
    said = _turn(hooks, shop, work, customer, "adiciona duas camisetas")
    assert said == "Não consegui adicionar, desculpe."
    errors = [json.loads(m["content"])["error"] for m in _tool_messages(llm, count)]
    assert errors[0] == "the arguments are not valid JSON"
    assert errors[1].startswith("there is no tool 'drop_all_orders'")
    assert errors[2].startswith("invalid arguments: quantity:")
    assert _cart_lines(shop, api, customer) == []
    assert call(api, "GET", "/orders", None, shop.admin.headers()).json_body["items"] == []


def test_a_price_the_catalog_does_not_have_or_on_another_product_is_answered_from_the_tool_result(
    hooks: httpx.Client, work: Any, shop: Shop, llm: FakeLLM
) -> None:
    customer = wa_id()
    llm.script(
        {"tools": [("search_products", {"query": "Camiseta"})]},
        {"text": "A Camiseta Azul custa só R$ 9,99 hoje!"},
    )
    said = _turn(hooks, shop, work, customer, "quanto custa a camiseta?")
    assert said == f"Escolha um produto:\n• Camiseta Azul ({shop.product['code']}): R$ 39,90"
    llm.script(  # the catalog's price, on a product the tools never returned
        {"tools": [("search_products", {"query": "Camiseta"})]},
        {"text": "A Camiseta Vermelha custa R$ 39,90."},
    )
    said = _turn(hooks, shop, work, customer, "tem camiseta vermelha?")
    assert said == f"Escolha um produto:\n• Camiseta Azul ({shop.product['code']}): R$ 39,90"


def test_a_model_that_never_calls_tools_cannot_state_prices(
    hooks: httpx.Client, work: Any, shop: Shop, llm: FakeLLM
) -> None:
    customer = wa_id()
    llm.script({"text": "Temos camisetas a partir de R$ 5,00."})
    said = _turn(hooks, shop, work, customer, "oi")
    assert "5,00" not in said
    assert said.startswith("Olá! Sou o assistente da loja.")  # the deterministic brain's menu instead
    llm.script({"text": "Olá! Em que posso ajudar?"})  # no price, no product: said as is
    assert _turn(hooks, shop, work, customer, "bom dia") == "Olá! Em que posso ajudar?"


@pytest.mark.parametrize("failure", [{"status": 500}, {"delay": 2.5}], ids=["5xx", "timeout"])
def test_an_llm_outage_or_timeout_lets_the_deterministic_brain_answer_the_turn(
    hooks: httpx.Client, work: Any, shop: Shop, llm: FakeLLM, failure: dict[str, Any]
) -> None:
    customer = wa_id()
    llm.script(failure)
    said = _turn(hooks, shop, work, customer, "carrinho")
    assert said == "Seu carrinho está vazio. Escreva *menu* para ver os produtos."


def test_a_spent_token_budget_turns_the_number_deterministic_and_tells_the_admins_once(
    api: Any, hooks: httpx.Client, work: Any, shop: Shop, llm: FakeLLM
) -> None:
    from chalicelib.assistant import store

    month = clock.now().strftime("%Y-%m")
    with tenant_scope(shop.admin.tenant_id):
        store.add_tokens(shop.admin.tenant_id, month, 2_000_000 - 10)
    customer = wa_id()
    llm.script({"text": "Olá!", "usage": {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35}})
    assert _turn(hooks, shop, work, customer, "bom dia") == "Olá!"
    asked = len(llm.requests())
    said = _turn(hooks, shop, work, customer, "carrinho")
    assert said == "Seu carrinho está vazio. Escreva *menu* para ver os produtos."
    assert len(llm.requests()) == asked  # the LLM was not asked
    _turn(hooks, shop, work, customer, "menu")
    told = [m for m in list_messages(shop.admin.tenant_id) if m.template == "assistant.budget_exhausted"]
    assert [(m.channel, m.to, m.variables["budget"]) for m in told] == [("email", "role:ADMIN", 2_000_000)]
