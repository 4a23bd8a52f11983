"""Handover in both modes: a keyword (or the tool, or repeated failures) hands the chat to a human, the assistant is
silent while a human holds it, and closing the chat hands it back with the cart kept.

- ``assistant``: the conversation shows ``needs_human`` in ``GET /conversations``; an Agent answers through the
  conversations API (then a human holds it: ``human``); ``POST /conversations/{id}/close`` hands it back.
- ``assistant_then_gateway``: the message goes to the Bitrix24 Open Lines chat with a system message carrying the
  summary and the cart; an operator's reply there holds the chat; later messages are relayed, not answered; the
  operator finishing the Open Lines dialog (``ONIMCONNECTORDIALOGFINISH``) hands it back.
"""

from __future__ import annotations

from typing import Any

import httpx

from chalicelib.access.permissions import Role
from chalicelib.core import clock
from chalicelib.integrations.bitrix24.client import CONNECTOR_ID
from tests.integration.assistant.conftest import Shop, configure, open_shop, wa_id, write
from tests.integration.conversations.conftest import connect, post_bitrix, post_meta
from tests.support.commerce import stocked_product
from tests.support.gateway import meta_message, meta_notification
from tests.support.identity import add_user, call

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _texts(shop: Shop, customer: str) -> list[str]:
    return [
        m["interactive"]["body"]["text"] if m["type"] == "interactive" else m["text"]["body"]
        for m in shop.said(customer)
    ]


def _conversation(api: Any, admin: Any, customer: str) -> dict[str, Any]:
    [found] = call(api, "GET", f"/conversations?contact=%2B{customer}", None, admin.headers()).json_body["items"]
    return dict(found)


def test_assistant_mode_hands_over_to_an_agent_stays_silent_and_takes_the_chat_back_with_the_cart(
    api: Any, hooks: httpx.Client, providers: Any, work: Any, settle: Any
) -> None:
    shop = open_shop(api, providers)
    tomorrow = _DAYS[(clock.now().weekday() + 1) % 7]
    hours = {"timeZone": "UTC", "weekly": [{"day": tomorrow, "opens": "00:00", "closes": "23:59"}]}
    configure(api, shop, handoverKeywords=["Gerente"], businessHours=hours)
    customer = wa_id()
    write(hooks, shop, customer, f"1 {shop.product['code']}")
    work(lambda: len(shop.said(customer)) == 1)
    assert _conversation(api, shop.admin, customer)["assistantState"] == "assistant"

    write(hooks, shop, customer, "quero falar com o gerente")  # the number's own keyword
    work(lambda: len(shop.said(customer)) == 2)
    told = _texts(shop, customer)[-1]
    day_name = ("seg.", "ter.", "qua.", "qui.", "sex.", "sáb.", "dom.")[_DAYS.index(tomorrow)]  # in the shop's pt-BR
    assert told.startswith(f"Nossa equipe atende {day_name} 00:00-23:59 (UTC).")
    conversation = _conversation(api, shop.admin, customer)
    assert conversation["assistantState"] == "needs_human"

    write(hooks, shop, customer, "alô?")
    settle()
    assert len(shop.said(customer)) == 2  # silent while a human has the chat
    log = call(api, "GET", f"/conversations/{conversation['id']}/messages", None, shop.admin.headers()).json_body
    assert (log["items"][0]["text"], log["items"][0]["status"]) == ("alô?", "stored")

    agent = add_user(api, shop.admin, Role.AGENT)
    body = {"text": "Oi! Sou a Ana, posso ajudar."}
    sent = call(api, "POST", f"/conversations/{conversation['id']}/messages", body, agent.headers())
    assert sent.status_code == 202, sent.body
    work(lambda: len(shop.said(customer)) == 3)
    assert _texts(shop, customer)[-1] == "Oi! Sou a Ana, posso ajudar."
    assert _conversation(api, shop.admin, customer)["assistantState"] == "human"

    closed = call(api, "POST", f"/conversations/{conversation['id']}/close", None, agent.headers())
    assert (closed.status_code, closed.json_body["assistantState"]) == (200, "assistant")
    write(hooks, shop, customer, "carrinho")
    work(lambda: len(shop.said(customer)) == 4)
    assert "1 x Camiseta Azul: R$ 39,90" in _texts(shop, customer)[-1]  # the cart survived the handover


def test_assistant_then_gateway_opens_the_open_lines_chat_with_the_summary_and_the_cart(
    api: Any, hooks: httpx.Client, providers: Any, work: Any, settle: Any
) -> None:
    fakes, payments = providers
    gateway = connect(api, hooks, fakes, work)
    product = stocked_product(api, gateway.admin, 3, name="Camiseta Azul", price={"amount": "39.90", "currency": "BRL"})
    shop = Shop(fakes.meta, fakes.bitrix, payments, gateway.admin, gateway.channel_id, gateway.phone_number_id, product)
    configure(api, shop, mode="assistant_then_gateway")
    customer = wa_id()
    portal = fakes.bitrix.portal(gateway.domain)
    write(hooks, shop, customer, f"2 {product['code']}")
    work(lambda: len(shop.said(customer)) == 1)
    assert [m for m in portal.messages if m["user"]["id"] == customer] == []  # the assistant answered it

    write(hooks, shop, customer, "atendente, por favor")
    work(lambda: len(shop.said(customer)) == 2 and any(m["user"]["id"] == customer for m in portal.messages))
    [relayed] = [m for m in portal.messages if m["user"]["id"] == customer]
    assert relayed["message"]["text"] == "atendente, por favor"
    work(lambda: any("handed over" in s["MESSAGE"] for s in portal.system_messages))
    note = next(s["MESSAGE"] for s in portal.system_messages if "handed over" in s["MESSAGE"])
    assert "Customer: atendente, por favor" in note
    assert f"Cart: 2 x Camiseta Azul ({product['code']})" in note
    assert "Total: R$ 79,80" in note
    conversation = _conversation(api, gateway.admin, customer)
    assert conversation["assistantState"] == "needs_human"

    data = {
        "CONNECTOR": "btrix_whatsapp",
        "LINE": gateway.line,
        "MESSAGES": [
            {
                "im": {"chat_id": "900", "message_id": "7001"},
                "message": {"text": "Olá, aqui é o João"},
                "chat": {"id": conversation["id"]},
            }
        ],
    }
    assert post_bitrix(hooks, gateway, "ONIMCONNECTORMESSAGEADD", data).status_code == 200
    work(lambda: len(shop.said(customer)) == 3)
    assert _conversation(api, gateway.admin, customer)["assistantState"] == "human"
    write(hooks, shop, customer, "obrigado João")
    work(lambda: len([m for m in portal.messages if m["user"]["id"] == customer]) == 2)
    settle()
    assert len(shop.said(customer)) == 3  # relayed to the operator, not answered by the assistant

    # The operator closes the Open Lines dialog: the assistant takes the chat back, with the cart it kept.
    finished = fakes.bitrix.finish_dialog(gateway.domain, CONNECTOR_ID, gateway.line, conversation["id"])
    assert post_bitrix(hooks, gateway, "ONIMCONNECTORDIALOGFINISH", finished).status_code == 200
    work(lambda: _conversation(api, gateway.admin, customer)["assistantState"] == "assistant")
    write(hooks, shop, customer, "carrinho")
    work(lambda: len(shop.said(customer)) == 4)
    assert "2 x Camiseta Azul: R$ 39,90\nTotal: R$ 79,80" in _texts(shop, customer)[-1]
    assert len([m for m in portal.messages if m["user"]["id"] == customer]) == 2  # answered here, not relayed


def test_a_finished_dialog_leaves_a_chat_the_assistant_holds_and_a_number_without_assistant_alone(
    api: Any, hooks: httpx.Client, providers: Any, work: Any, settle: Any
) -> None:
    fakes, _ = providers
    gateway = connect(api, hooks, fakes, work)
    customer = wa_id()
    post_meta(hooks, meta_notification(gateway.phone_number_id, messages=[meta_message(customer, "wamid.g1", "oi")]))
    portal = fakes.bitrix.portal(gateway.domain)
    work(lambda: any(m["user"]["id"] == customer for m in portal.messages))
    conversation = _conversation(api, gateway.admin, customer)
    finished = fakes.bitrix.finish_dialog(gateway.domain, CONNECTOR_ID, gateway.line, conversation["id"])
    assert post_bitrix(hooks, gateway, "ONIMCONNECTORDIALOGFINISH", finished).status_code == 200
    settle()
    assert _conversation(api, gateway.admin, customer).get("assistantState") is None  # a relay-only number
