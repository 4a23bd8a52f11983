"""Payments in ``make run``: a fake Stripe, a fake MercadoPago and a fake Pagar.me, the demo tenants' accounts on them,
and a payment link for the restaurant's waiting order, with the shell line that pays it end to end.

When the fake providers are on and no real provider is configured (``BTRIX_STRIPE_API_URL`` /
``BTRIX_MERCADOPAGO_API_URL`` / ``BTRIX_PAGARME_API_URL`` unset), the runner starts the fakes and points the
settings at them, and at the local webhook and ``/pay`` URLs (``BTRIX_MERCADOPAGO_NOTIFICATION_URL``,
``BTRIX_PAYMENT_LINK_BASE_URL``). After seeding,
each demo tenant without a payment integration connects the fakes as its own accounts: a Stripe key with a webhook
endpoint at ``/hooks/stripe?tenant=<id>`` (its signing secret stored with the key) and a MercadoPago token whose
notification secret the fake signs with, and a Pagar.me key whose webhook (``/hooks/pagarme?tenant=<id>``) carries a
Basic login of the tenant's own. The restaurant's PENDING order gets a Stripe link; the banner prints it and
a curl that follows ``/pay/<token>`` to the fake checkout and presses its Pay button: the fake then posts the signed
``checkout.session.completed`` to ``/hooks/stripe``, the worker confirms it, the order moves to PAID and the
customer's receipt goes out on WhatsApp (the fake Meta).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal
    from localdev.fake_mercadopago import FakeMercadoPago
    from localdev.fake_pagarme import FakePagarme
    from localdev.fake_stripe import FakeStripe

__all__ = [
    "DemoPayments",
    "connect_billing_accounts",
    "connect_demo_accounts",
    "demo_link",
    "pagarme_lines",
    "pay_lines",
    "start_fakes",
    "subscribe_lines",
]


@dataclass(frozen=True)
class DemoPayments:
    """The restaurant's waiting order and its payment link."""

    tenant: str
    order_number: int
    url: str


def start_fakes(
    enabled: bool, stripe_port: int, mercadopago_port: int, pagarme_port: int, api_url: str, hooks_url: str
) -> tuple[FakeStripe | None, FakeMercadoPago | None, FakePagarme | None]:
    """Start the fakes of the providers that are not configured and point the settings at them (before the app
    reads them); the links' base and MercadoPago's notification URL default to this runner's servers."""
    os.environ.setdefault("BTRIX_PAYMENT_LINK_BASE_URL", f"{api_url}/pay")
    os.environ.setdefault("BTRIX_MERCADOPAGO_NOTIFICATION_URL", f"{hooks_url}/mercadopago")
    if not enabled:
        return None, None, None
    from localdev.fake_mercadopago import FakeMercadoPago
    from localdev.fake_pagarme import FakePagarme
    from localdev.fake_stripe import FakeStripe

    stripe = None if os.environ.get("BTRIX_STRIPE_API_URL") else FakeStripe(stripe_port).start()
    mercadopago = None if os.environ.get("BTRIX_MERCADOPAGO_API_URL") else FakeMercadoPago(mercadopago_port).start()
    pagarme = None if os.environ.get("BTRIX_PAGARME_API_URL") else FakePagarme(pagarme_port).start()
    if stripe is not None:
        os.environ["BTRIX_STRIPE_API_URL"] = stripe.url
    if mercadopago is not None:
        os.environ["BTRIX_MERCADOPAGO_API_URL"] = mercadopago.url
    if pagarme is not None:
        os.environ["BTRIX_PAGARME_API_URL"] = pagarme.api_url
    if stripe is not None or mercadopago is not None or pagarme is not None:
        os.environ["BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK"] = "true"  # the fakes speak plain http on 127.0.0.1
    return stripe, mercadopago, pagarme


def connect_demo_accounts(
    admins: list[Principal],
    stripe: FakeStripe | None,
    mercadopago: FakeMercadoPago | None,
    hooks_url: str,
    pagarme: FakePagarme | None = None,
) -> None:
    """Each demo tenant without its own payment accounts gets the fakes' (a tenant's connection is kept)."""
    from chalicelib.integrations import service as integrations
    from chalicelib.integrations.credentials import Provider
    from chalicelib.integrations.models import ConnectIntegrationRequest

    for admin in admins:
        tenant = admin.tenant_id
        if stripe is not None and integrations.find_credentials(tenant, Provider.STRIPE) is None:
            key = f"sk_test_demo{tenant}"
            secret = stripe.add_endpoint(key, f"{hooks_url}/stripe?tenant={tenant}")
            body = ConnectIntegrationRequest(credentials={"secretKey": key, "webhookSecret": secret})
            integrations.connect_integration(admin, Provider.STRIPE, body)
        if mercadopago is not None and integrations.find_credentials(tenant, Provider.MERCADOPAGO) is None:
            token, secret = f"TEST-demo-{tenant}", f"demo-notification-secret-{tenant}"
            mercadopago.set_secret(token, secret)
            body = ConnectIntegrationRequest(credentials={"accessToken": token, "webhookSecret": secret})
            integrations.connect_integration(admin, Provider.MERCADOPAGO, body)
        if pagarme is not None and integrations.find_credentials(tenant, Provider.PAGARME) is None:
            key, password = f"sk_test_demo{tenant}", f"demo-pagarme-webhook-{tenant}"
            pagarme.add_webhook(key, f"{hooks_url}/pagarme?tenant={tenant}", "demo", password)
            login = {"secretKey": key, "webhookUser": "demo", "webhookSecret": password}
            integrations.connect_integration(admin, Provider.PAGARME, ConnectIntegrationRequest(credentials=login))


def connect_billing_accounts(stripe: FakeStripe | None, mercadopago: FakeMercadoPago | None, hooks_url: str) -> None:
    """BTRIX's own billing accounts on the fakes (``stripe-billing``, ``mercadopago-billing`` in the local Secrets
    Manager, as an operator sets them), their webhooks at ``/hooks/<provider>?scope=billing``."""
    import json

    from chalicelib.core import aws, secrets
    from chalicelib.core.resources import MERCADOPAGO_BILLING_CREDENTIALS, STRIPE_BILLING_CREDENTIALS, secret_name

    values: dict[str, dict[str, str]] = {}
    if stripe is not None:
        key = "sk_test_btrixbilling0001"
        secret = stripe.add_endpoint(key, f"{hooks_url}/stripe?scope=billing")
        values[secret_name(STRIPE_BILLING_CREDENTIALS)] = {"secretKey": key, "webhookSecret": secret}
    if mercadopago is not None:
        token, secret = "TEST-btrix-billing-0001", "btrix-billing-notification-secret"
        mercadopago.set_secret(token, secret)
        mercadopago.set_notification_url(token, f"{hooks_url}/mercadopago?scope=billing")
        values[secret_name(MERCADOPAGO_BILLING_CREDENTIALS)] = {"accessToken": token, "webhookSecret": secret}
    client = aws.secrets_manager()
    for name, value in values.items():
        try:
            client.create_secret(Name=name, SecretString=json.dumps(value))
        except client.exceptions.ResourceExistsException:
            client.put_secret_value(SecretId=name, SecretString=json.dumps(value))
    secrets.reset_secrets_cache()


def subscribe_lines(api: str, plan_id: str) -> list[str]:
    """Shell lines (after the ADMIN's login lines) that subscribe the tenant to ``plan_id`` and pay at the fake
    Stripe."""
    body = json.dumps({"planId": plan_id, "cycle": "monthly", "provider": "stripe"})
    return [
        f'url=$(curl -s -X POST {api}/billing/subscription -H "Authorization: Bearer $token" \\',
        f"      -H 'Content-Type: application/json' -d '{body}' \\",
        "      | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"checkoutUrl\"])')",
        'curl -s -o /dev/null -w "paid at the fake Stripe: HTTP %{http_code}\\n" -X POST "$url"',
        f'curl -s {api}/billing -H "Authorization: Bearer $token"',
    ]


def demo_link(admin: Principal, tenant_name: str) -> DemoPayments | None:
    """A payment link for the tenant's newest PENDING order (None when it has none)."""
    from chalicelib.orders import service as orders
    from chalicelib.orders.models import OrderListQuery
    from chalicelib.payments import service as payments

    waiting = orders.list_orders(admin, OrderListQuery(status="PENDING", limit=1)).items
    if not waiting:
        return None
    link = payments.create_link_for(admin.tenant_id, waiting[0].id, actor=admin)
    return DemoPayments(tenant=tenant_name, order_number=waiting[0].number, url=str(link.url))


def pagarme_lines(api: str, pagarme: str) -> list[str]:
    """Shell lines (after the ADMIN's login lines) that pay a new order through Pagar.me: an order of the first
    product (no customer), a link with ``"provider": "pagarme"``, followed to the fake's hosted checkout and paid
    there; then the webhooks the fake sent and the order (``paymentStatus``)."""
    auth = '-H "Authorization: Bearer $token"'
    json_in = "-H 'Content-Type: application/json'"
    first_id = """python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])'"""
    its_id = """python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'"""
    its_url = """python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])'"""
    order = """'{"items": [{"productId": "'$product'", "quantity": 1}], "channel": "pos"}'"""
    link = """'{"orderId": "'$order'", "provider": "pagarme"}'"""
    return [
        f'product=$(curl -s "{api}/products?limit=1" {auth} | {first_id})',
        f"order=$(curl -s -X POST {api}/orders {auth} {json_in} -d {order} | {its_id})",
        f"link=$(curl -s -X POST {api}/payment-links {auth} {json_in} -d {link} | {its_url})",
        'curl -s -o /dev/null -w "paid at the fake Pagar.me: HTTP %{http_code}\\n" -X POST \\',
        '     "$(curl -s -o /dev/null -w "%{redirect_url}" "$link")"',
        f"curl -s {pagarme}/_webhooks   # charge.paid and order.paid, each with the tenant's Basic login",
        f"sleep 3; curl -s {api}/orders/$order {auth}   # paymentStatus: paid",
    ]


def pay_lines(demo: DemoPayments) -> list[str]:
    """The shell line that opens the link (the redirect to the fake checkout) and presses Pay there."""
    return [
        'curl -s -o /dev/null -w "paid at the fake checkout: HTTP %{http_code}\\n" -X POST \\',
        f'     "$(curl -s -o /dev/null -w "%{{redirect_url}}" {demo.url})"',
    ]
