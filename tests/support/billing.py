"""BTRIX's billing accounts at the fake Stripe and MercadoPago: the platform's credentials in Secrets Manager (as an
operator sets them), the webhook endpoints with ``?scope=billing``, and reading a tenant's billing over the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from chalicelib.core.ids import new_id
from tests.support.identity import Account, call
from tests.support.payments import PaymentFakes


@dataclass(frozen=True)
class BillingAccounts:
    """BTRIX's billing key (Stripe) and token (MercadoPago) at the fakes."""

    stripe_key: str
    mercadopago_token: str


@contextmanager
def billing_accounts(fakes: PaymentFakes) -> Iterator[BillingAccounts]:
    """Create the ``stripe-billing`` and ``mercadopago-billing`` secrets for the fakes (removed after the block)."""
    from chalicelib.core import aws, secrets
    from chalicelib.core.resources import MERCADOPAGO_BILLING_CREDENTIALS, STRIPE_BILLING_CREDENTIALS, secret_name

    key, token = f"sk_test_billing{new_id()}", f"APP_USR-billing-{new_id()}"
    stripe_secret = fakes.stripe.add_endpoint(key, f"{fakes.hooks}/stripe?scope=billing")
    mercadopago_secret = f"mp-billing-secret-{new_id()}"
    fakes.mercadopago.set_secret(token, mercadopago_secret)
    fakes.mercadopago.set_notification_url(token, f"{fakes.hooks}/mercadopago?scope=billing")
    values = {
        STRIPE_BILLING_CREDENTIALS: {"secretKey": key, "webhookSecret": stripe_secret},
        MERCADOPAGO_BILLING_CREDENTIALS: {"accessToken": token, "webhookSecret": mercadopago_secret},
    }
    client = aws.secrets_manager()
    for definition, value in values.items():
        client.create_secret(Name=secret_name(definition), SecretString=json.dumps(value))
    secrets.reset_secrets_cache()
    try:
        yield BillingAccounts(key, token)
    finally:
        for definition in values:
            client.delete_secret(SecretId=secret_name(definition), ForceDeleteWithoutRecovery=True)
        secrets.reset_secrets_cache()


def billing(api: Any, account: Account) -> dict[str, Any]:
    """``GET /billing`` (asserted 200)."""
    response = call(api, "GET", "/billing", headers=account.headers())
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def subscribe(api: Any, account: Account, plan: str, provider: str = "stripe", cycle: str = "monthly") -> Any:
    """``POST /billing/subscription``; the raw response."""
    body = {"planId": plan, "cycle": cycle, "provider": provider}
    return call(api, "POST", "/billing/subscription", body, account.headers())
