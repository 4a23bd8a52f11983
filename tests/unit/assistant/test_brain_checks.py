"""The pure parts of the assistant's brains: the prices an answer states, the handover words, WhatsApp's limits on
interactive messages, and the tools' schemas the LLM gets."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.assistant.brain import named_offers_trusted, stated_prices, tool_schemas
from chalicelib.assistant.deterministic import interactive_list, reply_buttons, wants_human
from chalicelib.assistant.models import CartRecord
from chalicelib.assistant.tools import Toolbox


def test_prices_next_to_a_currency_are_found_in_every_notation() -> None:
    text = "Camiseta por R$ 39,90, duas por R$1.079,80; em dólar US$ 12.5 ou 7 EUR. São 3 unidades."
    assert stated_prices(text) == {Decimal("39.90"), Decimal("1079.80"), Decimal("12.50"), Decimal("7.00")}
    assert stated_prices("Temos 3 camisetas azuis e 2 vermelhas") == set()


def test_a_handover_is_a_default_word_or_a_numbers_keyword_in_any_case_and_accent() -> None:
    assert wants_human("Quero falar com um ATENDENTE", [])
    assert wants_human("gerente, por favor", ["gerente"])
    assert wants_human("Agente!", [])
    assert not wants_human("quero uma camiseta", ["gerente"])


def test_interactive_messages_keep_whatsapps_limits() -> None:
    rows = [(f"p:{i}", "Camiseta de algodão orgânico azul-marinho", "R$ 39,90 · " + "X" * 80) for i in range(12)]
    listed = interactive_list("Escolha", "Ver todos os produtos da loja", rows)
    shown = listed["action"]["sections"][0]["rows"]
    assert len(shown) == 10
    assert all(len(r["title"]) <= 24 and len(r["description"]) <= 72 for r in shown)
    assert len(listed["action"]["button"]) <= 20
    buttons = reply_buttons("Carrinho", [("a", "Adicionar ao carrinho agora"), ("b", "x"), ("c", "y"), ("d", "z")])
    assert [b["reply"]["id"] for b in buttons["action"]["buttons"]] == ["a", "b", "c"]
    assert all(len(b["reply"]["title"]) <= 20 for b in buttons["action"]["buttons"])


def test_the_llm_gets_every_tool_with_its_arguments_schema() -> None:
    schemas = {s["function"]["name"]: s["function"] for s in tool_schemas()}
    assert set(schemas) == {
        "search_products",
        "get_product",
        "add_to_cart",
        "remove_from_cart",
        "view_cart",
        "checkout",
        "order_status",
        "handoff_to_human",
    }
    add = schemas["add_to_cart"]["parameters"]
    assert add["required"] == ["productId"]
    assert add["properties"]["quantity"]["maximum"] == 50
    assert add["additionalProperties"] is False


def test_a_stated_price_goes_with_the_name_of_the_product_a_tool_returned_it_for() -> None:
    cart = CartRecord(tenant_id="t1", conversation_id="c1", updated_at="2026-12-06T10:00:00.000Z")
    tools = Toolbox(tenant_id="t1", conversation_id="c1", wa_id="5511", contact_name=None, language="pt-BR", cart=cart)
    tools._offer("Camiseta Azul", Decimal("39.90"))
    tools._offer("Boné Preto", Decimal("19.90"))
    tools.seen_prices.add(Decimal("59.80"))
    assert named_offers_trusted("Temos: Camiseta Azul por R$ 39,90; Boné Preto por R$ 19,90", tools)
    assert named_offers_trusted("No carrinho: Camiseta Azul e Boné Preto. Total R$ 59,80. Finalize!", tools)
    assert named_offers_trusted("Quer a camiseta azul? Posso separar uma.", tools)  # no price: nothing to pair
    assert not named_offers_trusted("A Camiseta Vermelha sai por R$ 39,90.", tools)  # a name no tool returned
    assert not named_offers_trusted("Camiseta Azul por R$ 19,90", tools)  # the cap's price on the shirt
    assert not named_offers_trusted("Temos: Camiseta Azul por R$ 39,90; Regata Azul por R$ 19,90", tools)
