"""Payments against the fake Stripe, MercadoPago and Pagar.me: the settings pointing BTRIX at them, tenants
connecting their accounts (webhook endpoints and secrets included) as an ADMIN would, and orders to pay."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.core.ids import new_id
from localdev.fake_mercadopago import FakeMercadoPago
from localdev.fake_pagarme import FakePagarme
from localdev.fake_stripe import FakeStripe
from tests.support.commerce import create_customer, create_product
from tests.support.environment import settings_from
from tests.support.identity import Account, call

PAY_BASE = "https://pay.btrix.test/pay"


@dataclass
class PaymentFakes:
    """The two fakes and where BTRIX's webhook functions listen."""

    stripe: FakeStripe
    mercadopago: FakeMercadoPago
    hooks: str


def running_fakes(hooks: str) -> Iterator[PaymentFakes]:
    """Start both fakes and point the settings at them (for a module's fixture)."""
    stripe, mercadopago = FakeStripe().start(), FakeMercadoPago().start()
    values = {
        "BTRIX_STRIPE_API_URL": stripe.url,
        "BTRIX_MERCADOPAGO_API_URL": mercadopago.url,
        "BTRIX_MERCADOPAGO_NOTIFICATION_URL": f"{hooks}/mercadopago",
        "BTRIX_PAYMENT_LINK_BASE_URL": PAY_BASE,
        "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true",
    }
    try:
        with settings_from(values):
            yield PaymentFakes(stripe, mercadopago, hooks)
    finally:
        stripe.stop()
        mercadopago.stop()


def connect_stripe(api: Any, admin: Account, fakes: PaymentFakes) -> str:
    """The tenant connects a Stripe account of its own: a key, and the secret of the webhook endpoint it made at
    Stripe for BTRIX's URL (``?tenant=``). Returns the key."""
    key = f"sk_test_{new_id()}"
    secret = fakes.stripe.add_endpoint(key, f"{fakes.hooks}/stripe?tenant={admin.tenant_id}")
    body = {"credentials": {"secretKey": key, "webhookSecret": secret}}
    response = call(api, "PUT", "/integrations/stripe", body, admin.headers())
    assert response.status_code == 200, response.body
    return key


def connect_mercadopago(api: Any, admin: Account, fakes: PaymentFakes) -> str:
    """The tenant connects its MercadoPago application (token and notification secret). Returns the token."""
    token = f"APP_USR-{new_id()}"
    secret = f"mp-secret-{new_id()}"
    fakes.mercadopago.set_secret(token, secret)
    body = {"credentials": {"accessToken": token, "webhookSecret": secret}}
    response = call(api, "PUT", "/integrations/mercadopago", body, admin.headers())
    assert response.status_code == 200, response.body
    return token


def running_pagarme() -> Iterator[FakePagarme]:
    """The fake Pagar.me, the settings pointing at it (inside ``running_fakes``' settings)."""
    from localdev.stack import free_port

    fake = FakePagarme(free_port()).start()
    try:
        with settings_from({"BTRIX_PAGARME_API_URL": fake.api_url}):
            yield fake
    finally:
        fake.stop()


def connect_pagarme(api: Any, admin: Account, fake: FakePagarme, hooks: str, *, own_login: bool = True) -> str:
    """The tenant connects its Pagar.me account: a secret key, and the webhook it set up in Pagar.me's dashboard for
    BTRIX's URL (``?tenant=``) with a Basic login of its own (``own_login``) or BTRIX's (user ``btrix``, the platform
    secret). Returns the key."""
    from tests.support.inbound_hooks import SECRETS

    key = f"sk_test_{new_id()}"
    password = f"pagarme-hook-{new_id()}" if own_login else SECRETS["pagarme-webhook-secret"]
    user = "loja" if own_login else "btrix"
    fake.add_webhook(key, f"{hooks}/pagarme?tenant={admin.tenant_id}", user, password)
    credentials = {"secretKey": key, **({"webhookUser": user, "webhookSecret": password} if own_login else {})}
    response = call(api, "PUT", "/integrations/pagarme", {"credentials": credentials}, admin.headers())
    assert response.status_code == 200, response.body
    return key


def create_order(
    api: Any,
    admin: Account,
    price: str = "52.30",
    *,
    channel: str = "whatsapp",
    by: Account | None = None,
    **customer: Any,
) -> dict[str, Any]:
    """An order of one service (no stock involved) for a new customer with a phone and an email, placed by ``by``
    (default: the ADMIN)."""
    product = create_product(api, admin, kind="service", name="Rodízio", price={"amount": price, "currency": "BRL"})
    buyer = create_customer(api, admin, **{"phone": "+5511987650001", "email": "maria@example.com", **customer})
    body = {"items": [{"productId": product["id"], "quantity": 1}], "customerId": buyer["id"], "channel": channel}
    response = call(api, "POST", "/orders", body, (by or admin).headers())
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def payments_of(api: Any, admin: Account, order_id: str) -> list[dict[str, Any]]:
    """``GET /payments?orderId=``: the order's payments, newest first."""
    answer = call(api, "GET", f"/payments?orderId={order_id}", None, admin.headers())
    assert answer.status_code == 200, answer.body
    return list(answer.json_body["items"])


def order_of(api: Any, admin: Account, order_id: str) -> dict[str, Any]:
    """``GET /orders/{id}``."""
    return dict(call(api, "GET", f"/orders/{order_id}", None, admin.headers()).json_body)


def create_link(api: Any, account: Account, order_id: str, **fields: Any) -> Any:
    """``POST /payment-links``; returns the raw response."""
    return call(api, "POST", "/payment-links", {"orderId": order_id, **fields}, account.headers())


def token_of(link: dict[str, Any]) -> str:
    """The token of a link's URL."""
    url = str(link["url"])
    assert url.startswith(PAY_BASE + "/"), url
    return url.rsplit("/", 1)[1]


def queued_webhooks(tenant_id: str) -> list[dict[str, Any]]:
    """The provider webhooks of ``tenant_id`` the webhook functions put on the integrations queue (taken off it)."""
    from chalicelib.core.resources import QueueKind
    from tests.support.inbound_hooks import take_messages

    found = take_messages(
        QueueKind.INTEGRATIONS,
        lambda body: body.get("tenantId") == tenant_id and body.get("provider") in ("stripe", "mercadopago", "pagarme"),
    )
    return [body for body, _ in found]


def confirm(tenant_id: str, *, times: int = 1, bodies: list[dict[str, Any]] | None = None) -> list[str]:
    """Run the confirmation of every queued webhook of the tenant (or of ``bodies``, in their order), each ``times``
    at once (as redeliveries on concurrent workers would); webhooks that arrived before what they are about are run
    again after the others, as the queue's retry would. Returns the sync-log lines."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.core.db.store import tenant_scope
    from chalicelib.payments.recording import ArrivedEarly
    from chalicelib.payments.service import handle_provider_message

    def run(body: dict[str, Any]) -> str | None:
        with tenant_scope(tenant_id):
            return handle_provider_message(body["provider"], tenant_id, body)

    lines: list[str] = []
    pending = queued_webhooks(tenant_id) if bodies is None else list(bodies)
    for _ in range(5):
        early: list[dict[str, Any]] = []
        for body in pending:
            with ThreadPoolExecutor(max_workers=times) as pool:
                futures = [pool.submit(run, body) for _ in range(times)]
            for future in futures:
                try:
                    line = future.result()
                except ArrivedEarly:
                    if body not in early:
                        early.append(body)
                    continue
                if line:
                    lines.append(line)
        if not early:
            return lines
        pending = early
    raise AssertionError(f"webhooks never found what they are about: {pending}")
