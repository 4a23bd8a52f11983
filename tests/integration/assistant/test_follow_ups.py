"""Follow-ups on the local stack: the reminder's timer is a Step Functions execution that moto runs (a real wait of
the configured seconds), whose task the integrations queue's consumer handles. An unpaid checkout is reminded once
inside the 24-hour window, with the link's expiry; outside it only the configured template goes; a checkout paid
meanwhile gets nothing; a customer who writes again moves the reminder, never doubles it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from chalicelib.assistant import store
from chalicelib.core import clock
from chalicelib.core.db.store import tenant_scope
from tests.integration.assistant.conftest import Shop, configure, open_shop, wa_id, write
from tests.support.identity import call
from tests.support.payments import confirm

_WAITING = "ainda aguarda o pagamento"


def _texts(shop: Shop, customer: str) -> list[str]:
    said = []
    for m in shop.said(customer):
        if m["type"] == "interactive":
            said.append(m["interactive"]["body"]["text"])
        elif m["type"] == "text":
            said.append(m["text"]["body"])
        else:
            said.append(f"[{m['type']}]")
    return said


def _conversation_id(api: Any, shop: Shop, customer: str) -> str:
    found = call(api, "GET", f"/conversations?contact=%2B{customer}", None, shop.admin.headers()).json_body["items"]
    return str(found[0]["id"])


def _follow_up(shop: Shop, conversation_id: str) -> Any:
    with tenant_scope(shop.admin.tenant_id):
        return store.get_follow_up(shop.admin.tenant_id, conversation_id)


def _checkout(hooks: httpx.Client, shop: Shop, customer: str, work: Callable[..., None]) -> str:
    """The customer adds the product and checks out; returns the link message the assistant sent."""
    write(hooks, shop, customer, f"1 {shop.product['code']}")
    work(lambda: len(shop.said(customer)) == 1)
    write(hooks, shop, customer, "finalizar")
    work(lambda: any("Pague por este link" in t for t in _texts(shop, customer)))
    return next(t for t in _texts(shop, customer) if "Pague por este link" in t)


def _fired(shop: Shop, conversation_id: str, work: Callable[..., None]) -> None:
    """Run the consumers until the reminder's timer has fired and been decided (sent, or dropped)."""
    work(lambda: (f := _follow_up(shop, conversation_id)) is None or f.sent_at is not None, timeout_s=90)


def test_an_unpaid_checkout_is_reminded_once_with_the_link_and_its_expiry(
    api: Any, hooks: httpx.Client, providers: Any, work: Any, settle: Any
) -> None:
    shop = open_shop(api, providers)
    path = f"/channels/{shop.channel_id}/assistant"
    late = {"mode": "assistant", "followUps": {"checkoutReminderSeconds": 3600}}  # the link lives an hour
    refused = call(api, "PUT", path, late, shop.admin.headers())
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json_body["errors"]] == ["body.followUps.checkoutReminderSeconds"]
    unknown = {"name": "lembrete", "language": "pt_BR", "params": ["{price}"]}
    refused = call(
        api, "PUT", path, {"mode": "assistant", "followUps": {"cartTemplate": unknown}}, shop.admin.headers()
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json_body["errors"]] == ["body.followUps.cartTemplate.params"]
    assert "{price}" in refused.json_body["errors"][0]["message"]
    defaults = call(api, "GET", path, None, shop.admin.headers()).json_body["followUps"]
    assert (defaults["checkoutReminderSeconds"], defaults["abandonedCartSeconds"]) == (1800, 3600)

    config = configure(api, shop, followUps={"checkoutReminderSeconds": 2, "abandonedCartSeconds": None})
    assert config["followUps"] == {
        "checkoutReminderSeconds": 2,
        "abandonedCartSeconds": None,
        "checkoutTemplate": None,
        "cartTemplate": None,
    }
    customer = wa_id()
    link_text = _checkout(hooks, shop, customer, work)
    url = link_text.rsplit(" ", 1)[1]
    expires = link_text.split("válido até ", 1)[1].split(")", 1)[0]

    work(lambda: any(_WAITING in t for t in _texts(shop, customer)), timeout_s=90)
    [reminder] = [t for t in _texts(shop, customer) if _WAITING in t]
    assert reminder == f"Seu pedido #1 (R$ 39,90) ainda aguarda o pagamento. O link vale até {expires}: {url}"
    conversation_id = _conversation_id(api, shop, customer)
    log = call(api, "GET", f"/conversations/{conversation_id}/messages", None, shop.admin.headers()).json_body
    assert [(m["source"], m["status"]) for m in log["items"] if _WAITING in (m["text"] or "")] == [
        ("assistant", "sent")
    ]

    time.sleep(3)  # what could still come (a second timer, a redelivered task) has had its time
    settle()
    assert len([t for t in _texts(shop, customer) if _WAITING in t]) == 1  # once


def test_a_checkout_paid_meanwhile_gets_no_reminder(
    api: Any, hooks: httpx.Client, providers: Any, work: Any, settle: Any
) -> None:
    shop = open_shop(api, providers)
    configure(api, shop, followUps={"checkoutReminderSeconds": 4, "abandonedCartSeconds": None})
    customer = wa_id()
    _checkout(hooks, shop, customer, work)
    conversation_id = _conversation_id(api, shop, customer)
    pending = _follow_up(shop, conversation_id)
    assert (pending.kind, pending.sent_at) == ("checkout", None)

    [order] = call(api, "GET", "/orders", None, shop.admin.headers()).json_body["items"]
    [link] = call(api, "GET", f"/payment-links?orderId={order['id']}", None, shop.admin.headers()).json_body["items"]
    shop.payments.stripe.pay(link["providerCheckoutId"])
    confirm(shop.admin.tenant_id)
    assert call(api, "GET", f"/orders/{order['id']}", None, shop.admin.headers()).json_body["paymentStatus"] == "paid"

    _fired(shop, conversation_id, work)
    settle()
    assert _follow_up(shop, conversation_id) is None  # the timer came, found the order paid, and called it off
    assert [t for t in _texts(shop, customer) if _WAITING in t] == []

    # The order's status in the customer's language: the workflow's label, the tenant's own over it.
    write(hooks, shop, customer, "pedido")
    work(lambda: _texts(shop, customer)[-1].startswith("Pedido #1:"))
    assert _texts(shop, customer)[-1] == "Pedido #1: Pago, pagamento pago, total R$ 39,90."
    labels = {"statusLabels": {"order": {"PAID": "Pagamento confirmado"}}}
    assert call(api, "PUT", "/translations/pt-BR", labels, shop.admin.headers()).status_code == 200
    count = len(shop.said(customer))
    write(hooks, shop, customer, "pedido")
    work(lambda: len(shop.said(customer)) > count)
    assert _texts(shop, customer)[-1] == "Pedido #1: Pagamento confirmado, pagamento pago, total R$ 39,90."


def test_outside_the_window_only_the_configured_template_goes_and_without_one_nothing(
    api: Any, hooks: httpx.Client, providers: Any, work: Any, settle: Any
) -> None:
    shop = open_shop(api, providers)
    template = {"name": "carrinho_esquecido", "language": "pt_BR", "params": ["{customer}", "{items} por {total}"]}
    configure(
        api, shop, followUps={"checkoutReminderSeconds": None, "abandonedCartSeconds": 2, "cartTemplate": template}
    )
    customer = wa_id()
    write(hooks, shop, customer, f"2 {shop.product['code']}")
    work(lambda: len(shop.said(customer)) == 1)
    conversation_id = _conversation_id(api, shop, customer)
    assert _follow_up(shop, conversation_id).kind == "cart"

    # The timer fires a day later: the customer's 24-hour window has closed.
    with clock.frozen_clock(clock.now() + timedelta(hours=25)):
        work(lambda: len(shop.said(customer)) == 2, timeout_s=90)
    sent = shop.said(customer)[-1]
    assert sent["type"] == "template"
    assert sent["template"] == {
        "name": "carrinho_esquecido",
        "language": {"code": "pt_BR"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Maria Cliente"},
                    {"type": "text", "text": "2 x Camiseta Azul por R$ 79,80"},
                ],
            }
        ],
    }
    log = call(api, "GET", f"/conversations/{conversation_id}/messages", None, shop.admin.headers()).json_body
    assert (log["items"][0]["template"], log["items"][0]["status"]) == ("carrinho_esquecido", "sent")

    # Without a template, outside the window: nothing.
    configure(api, shop, followUps={"checkoutReminderSeconds": None, "abandonedCartSeconds": 2})
    other = wa_id()
    write(hooks, shop, other, f"1 {shop.product['code']}")
    work(lambda: len(shop.said(other)) == 1)
    other_id = _conversation_id(api, shop, other)
    with clock.frozen_clock(clock.now() + timedelta(hours=25)):
        _fired(shop, other_id, work)
        settle()
    assert _follow_up(shop, other_id) is None
    assert len(shop.said(other)) == 1


def test_a_customer_who_writes_again_moves_the_cart_reminder_and_gets_it_once(
    api: Any, hooks: httpx.Client, providers: Any, work: Any, settle: Any
) -> None:
    shop = open_shop(api, providers)
    configure(api, shop, followUps={"checkoutReminderSeconds": None, "abandonedCartSeconds": 8})
    customer = wa_id()
    write(hooks, shop, customer, f"1 {shop.product['code']}")
    work(lambda: len(shop.said(customer)) == 1)
    conversation_id = _conversation_id(api, shop, customer)
    first = _follow_up(shop, conversation_id)
    time.sleep(2)
    write(hooks, shop, customer, "carrinho")  # still there: the reminder moves to 8 s from now, same timer
    work(lambda: len(shop.said(customer)) >= 2)
    moved = _follow_up(shop, conversation_id)
    assert (moved.token, moved.due_at > first.due_at) == (first.token, True)

    work(lambda: len(shop.said(customer)) >= 3, timeout_s=90)
    reminder = _texts(shop, customer)[-1]
    assert reminder.startswith("Você deixou itens no carrinho. Escreva *finalizar* para fechar o pedido.\n")
    assert "1 x Camiseta Azul: R$ 39,90" in reminder
    assert _follow_up(shop, conversation_id).sent_at is not None
    time.sleep(3)
    settle()
    assert len(shop.said(customer)) == 3  # one reminder for one silence
