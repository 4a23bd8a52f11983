"""A customer buys inside WhatsApp from the deterministic assistant: the menu (a list message), a product (reply
buttons), the cart, the checkout (an order through the orders service, then a payment link through the payments
service), payment at the fake Stripe, the order paid and the receipt requested on WhatsApp. And the tools' refusals:
out of stock never added, a catalog cart (Meta ``order`` message) parsed into cart lines."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from chalicelib.core.db.store import tenant_scope
from chalicelib.notifications.outbox import list_messages
from tests.integration.assistant.conftest import Shop, configure, open_shop, pick, wa_id, write
from tests.support.identity import call
from tests.support.payments import confirm


def _last(shop: Shop, customer: str) -> dict[str, Any]:
    said = shop.said(customer)
    assert said, "the assistant said nothing"
    return said[-1]


def _body(message: dict[str, Any]) -> str:
    if message["type"] == "interactive":
        return str(message["interactive"]["body"]["text"])
    return str(message["text"]["body"])


def _conversation(api: Any, shop: Shop, customer: str) -> dict[str, Any]:
    found = call(api, "GET", f"/conversations?contact=%2B{customer}", None, shop.admin.headers()).json_body["items"]
    assert len(found) == 1
    return dict(found[0])


def _metrics(out: str, tenant_id: str) -> dict[str, float]:
    """The EMF metrics with ``tenant_id`` as their dimension, summed by name."""
    found: dict[str, float] = {}
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        emf = json.loads(line)
        if "_aws" not in emf or emf.get("tenantId") != tenant_id:
            continue
        for directive in emf["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = emf[metric["Name"]]
                found[metric["Name"]] = found.get(metric["Name"], 0) + sum(
                    value if isinstance(value, list) else [value]
                )
    return found


def test_a_customer_buys_in_whatsapp_pays_the_link_and_gets_the_receipt(
    api: Any,
    hooks: httpx.Client,
    providers: Any,
    work: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")  # the EMF lines are what this test reads at the end
    shop = open_shop(api, providers)
    config = configure(api, shop, greeting="Bem-vinda à Loja!")
    assert (config["mode"], config["language"], config["llm"]) == ("assistant", "pt-BR", None)
    customer = wa_id()

    write(hooks, shop, customer, "oi")
    work(lambda: len(shop.said(customer)) >= 1)
    menu = _last(shop, customer)
    assert menu["type"] == "interactive"
    assert menu["interactive"]["type"] == "list"
    assert menu["interactive"]["body"]["text"] == "Bem-vinda à Loja!"
    [row] = menu["interactive"]["action"]["sections"][0]["rows"]
    description = f"R$ 39,90 · {shop.product['code']}"
    assert row == {"id": f"p:{shop.product['id']}", "title": "Camiseta Azul", "description": description}

    pick(hooks, shop, customer, row["id"])
    work(lambda: len(shop.said(customer)) >= 2)
    shown = _last(shop, customer)
    assert shown["interactive"]["type"] == "button"
    assert "*Camiseta Azul*" in _body(shown)
    assert "R$ 39,90" in _body(shown)
    buttons = [b["reply"]["id"] for b in shown["interactive"]["action"]["buttons"]]
    assert buttons == [f"a:{shop.product['id']}", "checkout", "human"]

    pick(hooks, shop, customer, f"a:{shop.product['id']}", button=True)
    work(lambda: len(shop.said(customer)) >= 3)
    assert "1 x Camiseta Azul: R$ 39,90" in _body(_last(shop, customer))
    write(hooks, shop, customer, f"2 {shop.product['code']}")  # a plain-text command: two more by code
    work(lambda: len(shop.said(customer)) >= 4)
    assert "3 x Camiseta Azul" in _body(_last(shop, customer))
    assert "Total: R$ 119,70" in _body(_last(shop, customer))

    pick(hooks, shop, customer, "checkout", button=True)
    work(lambda: len(shop.said(customer)) >= 5)
    link_text = _body(_last(shop, customer))
    assert link_text.startswith("Pedido #1 criado, total R$ 119,70. Pague por este link (válido até ")
    url = link_text.rsplit(" ", 1)[1]
    assert url.startswith("https://pay.btrix.test/pay/pay_")

    orders = call(api, "GET", "/orders", None, shop.admin.headers()).json_body["items"]
    [order] = orders
    assert (order["channel"], order["status"], order["totals"]["total"]) == (
        "whatsapp",
        "PENDING",
        {"amount": "119.70", "currency": "BRL"},
    )
    assert order["createdBy"] == "assistant"
    assert order["items"][0]["quantity"] == 3
    customer_record = call(api, "GET", f"/customers/{order['customerId']}", None, shop.admin.headers()).json_body
    assert customer_record["phone"] == f"+{customer}"

    [link] = call(api, "GET", f"/payment-links?orderId={order['id']}", None, shop.admin.headers()).json_body["items"]
    shop.payments.stripe.pay(link["providerCheckoutId"])
    confirm(shop.admin.tenant_id)
    paid = call(api, "GET", f"/orders/{order['id']}", None, shop.admin.headers()).json_body
    assert (paid["status"], paid["paymentStatus"]) == ("PAID", "paid")
    stock = call(api, "GET", f"/inventory/{shop.product['id']}", None, shop.admin.headers()).json_body
    assert (stock["onHand"], stock["reserved"]) == (5, 3)  # reserved as the paid order left PENDING
    receipts = [m for m in list_messages(shop.admin.tenant_id) if m.template == "payment.receipt"]
    assert [(m.channel, m.to) for m in receipts] == [("whatsapp", f"customer:{order['customerId']}")]

    conversation = _conversation(api, shop, customer)
    assert conversation["assistantState"] == "assistant"
    log = call(api, "GET", f"/conversations/{conversation['id']}/messages?limit=100", None, shop.admin.headers())
    items = list(reversed(log.json_body["items"]))
    assert [(m["direction"], m["source"], m["status"]) for m in items[:2]] == [
        ("in", "whatsapp", "answered"),
        ("out", "assistant", "sent"),
    ]
    emitted = _metrics(capsys.readouterr().out, shop.admin.tenant_id)
    assert (emitted["AssistantTurns"], emitted["AssistantOrders"], emitted["AssistantPayments"]) == (5, 1, 1)
    assert emitted["AssistantToolCalls"] >= 5
    assert "AssistantHandovers" not in emitted
    # The assistant's last word is the link (the tenant's own order notifications may come in between).
    assert [m["text"] for m in items if m["source"] == "assistant"][-1] == link_text


def test_out_of_stock_is_never_added_and_a_catalog_cart_becomes_cart_lines(
    api: Any, hooks: httpx.Client, providers: Any, work: Any
) -> None:
    shop = open_shop(api, providers, units=2)
    configure(api, shop)
    customer = wa_id()
    write(hooks, shop, customer, f"3 {shop.product['code']}")
    work(lambda: len(shop.said(customer)) >= 1)
    assert _body(_last(shop, customer)) == "Camiseta Azul não está disponível nessa quantidade agora."

    items = [{"product_retailer_id": shop.product["code"], "quantity": "2", "item_price": 1, "currency": "BRL"}]
    write(hooks, shop, customer, type="order", order={"catalog_id": "1", "product_items": items})
    work(lambda: len(shop.said(customer)) >= 2)
    cart = _body(_last(shop, customer))
    assert "2 x Camiseta Azul: R$ 39,90" in cart
    assert "Total: R$ 79,80" in cart
    write(hooks, shop, customer, "carrinho")
    work(lambda: len(shop.said(customer)) >= 3)
    assert "Total: R$ 79,80" in _body(_last(shop, customer))
    with tenant_scope(shop.admin.tenant_id):
        from chalicelib.assistant.store import get_cart

        conversation = _conversation(api, shop, customer)
        cart_record = get_cart(shop.admin.tenant_id, conversation["id"])
    assert cart_record is not None
    assert [(line.code, line.quantity) for line in cart_record.lines] == [(shop.product["code"], 2)]


def test_a_redelivered_turn_adds_nothing_twice_and_sends_nothing_twice(
    api: Any, hooks: httpx.Client, providers: Any, work: Any, settle: Any
) -> None:
    from chalicelib.assistant.service import take_inbound
    from chalicelib.assistant.store import get_cart
    from chalicelib.conversations import service as conversations
    from chalicelib.conversations import store as messages
    from tests.support.gateway import meta_message

    shop = open_shop(api, providers)
    configure(api, shop)
    customer = wa_id()
    wamid = write(hooks, shop, customer, f"2 {shop.product['code']}")
    work(lambda: len(shop.said(customer)) == 1)
    conversation_id = _conversation(api, shop, customer)["id"]
    log = call(api, "GET", f"/conversations/{conversation_id}/messages", None, shop.admin.headers()).json_body
    [received] = [m for m in log["items"] if m["direction"] == "in"]

    # The turn's job runs again (a redelivery after the cart was saved, before the queue heard it was done).
    with tenant_scope(shop.admin.tenant_id):
        conversation = conversations.conversation_record(shop.admin.tenant_id, conversation_id)
        record = messages.get_message(shop.admin.tenant_id, conversation_id, received["id"], consistent=True)
        assert conversation is not None
        assert record is not None
        verdict = take_inbound(conversation, record, meta_message(customer, wamid, f"2 {shop.product['code']}"))
        cart = get_cart(shop.admin.tenant_id, conversation_id)
    assert verdict.status == "answered"
    assert cart is not None
    assert [(line.code, line.quantity) for line in cart.lines] == [(shop.product["code"], 2)]
    settle()
    assert len(shop.said(customer)) == 1  # its reply was recorded once: nothing sent again

    write(hooks, shop, customer, f"1 {shop.product['code']}")  # a new message still adds
    work(lambda: len(shop.said(customer)) == 2)
    assert "3 x Camiseta Azul" in _body(_last(shop, customer))
