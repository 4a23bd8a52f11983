"""The shop assistant end to end inside one process: the Meta webhook over loopback HTTP, the app's queue consumers,
fake Meta Graph, Bitrix24, Stripe and MercadoPago servers (and the fake LLM where a test asks for it)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.conversations.conftest import Fakes, gateway_fakes, settle, work
from tests.support.gateway import meta_message, meta_notification
from tests.support.identity import Account, call, signup
from tests.support.inbound_hooks import take_messages
from tests.support.payments import PaymentFakes, connect_stripe, running_fakes

__all__ = ["Shop", "settle", "work"]


@dataclass
class Shop:
    """The fakes, and a tenant with a WhatsApp number, a connected Stripe account and a product in stock."""

    meta: Any
    bitrix: Any
    payments: PaymentFakes
    admin: Account
    channel_id: str
    phone_number_id: str
    product: dict[str, Any]

    def said(self, wa_id: str) -> list[dict[str, Any]]:
        """What was sent to ``wa_id`` on WhatsApp (Meta's message bodies), in order."""
        return [
            r["body"]
            for r in self.meta.accepted()
            if isinstance(r["body"], dict) and r["body"].get("to") == wa_id and r["body"].get("type") != "read"
        ]


@pytest.fixture(scope="module")
def providers(stack: Any, hooks: httpx.Client) -> Iterator[tuple[Fakes, PaymentFakes]]:
    """Fake Meta, Bitrix24, Stripe and MercadoPago servers with the settings pointing at them."""
    for gateway in gateway_fakes():
        for payments in running_fakes(str(hooks.base_url).rstrip("/")):
            yield gateway, payments


def open_shop(api: Any, providers: tuple[Fakes, PaymentFakes], *, units: int = 5, price: str = "39.90") -> Shop:
    """A tenant (every module) with a WhatsApp number (mapped to no portal), Stripe, and a product in stock."""
    from tests.support.commerce import stocked_product
    from tests.support.entities import create_channel

    fakes, payments = providers
    admin, _ = signup(api)
    channel_id = create_channel(api, admin)
    phone_number_id = call(api, "GET", f"/channels/{channel_id}", None, admin.headers()).json_body["phoneNumberId"]
    connect_stripe(api, admin, payments)
    product = stocked_product(api, admin, units, name="Camiseta Azul", price={"amount": price, "currency": "BRL"})
    return Shop(fakes.meta, fakes.bitrix, payments, admin, channel_id, phone_number_id, product)


def configure(api: Any, shop: Shop, **fields: Any) -> dict[str, Any]:
    """``PUT /channels/{id}/assistant`` (mode assistant, pt-BR, deterministic unless ``fields`` say otherwise)."""
    body = {"mode": "assistant", "language": "pt-BR", **fields}
    answer = call(api, "PUT", f"/channels/{shop.channel_id}/assistant", body, shop.admin.headers())
    assert answer.status_code == 200, answer.body
    return dict(answer.json_body)


def wa_id() -> str:
    """A customer's WhatsApp id nobody else uses."""
    return f"55119{random.randint(10**7, 10**8 - 1)}"  # noqa: S311 - an id, not a secret


def write(hooks: httpx.Client, shop: Shop, customer: str, text: str | None = None, **content: Any) -> str:
    """The customer writes ``text`` (or sends ``type=...`` content) to the shop's number; returns the wamid."""
    from tests.integration.conversations.conftest import post_meta

    wamid = f"wamid.{random.randbytes(12).hex()}"  # noqa: S311 - an id, not a secret
    message = meta_message(customer, wamid, text, **content)
    answer = post_meta(hooks, meta_notification(shop.phone_number_id, messages=[message]))
    assert answer.status_code == 200, answer.text
    return wamid


def pick(hooks: httpx.Client, shop: Shop, customer: str, reply_id: str, *, button: bool = False) -> str:
    """The customer picks a row of a list (or taps a reply button) the assistant sent."""
    kind = "button_reply" if button else "list_reply"
    interactive = {"type": kind, kind: {"id": reply_id, "title": "-"}}
    return write(hooks, shop, customer, type="interactive", interactive=interactive)


def drop_queued_webhooks(tenant_id: str) -> None:
    """Take the tenant's provider webhooks off the integrations queue (a test that does not confirm them)."""
    from chalicelib.core.resources import QueueKind

    take_messages(QueueKind.INTEGRATIONS, lambda body: body.get("tenantId") == tenant_id)


@pytest.fixture(autouse=True)
def _drained(settle: Any) -> Iterator[None]:
    """After each test, the queue jobs it caused have run (nothing left for the modules after it)."""
    yield
    settle()
