"""Webhooks of BTRIX's own billing accounts (``?scope=billing`` on the stripe and mercadopago functions' URLs).

BTRIX bills its tenants' plans through a Stripe account and a MercadoPago application of its own (secrets
``stripe-billing`` and ``mercadopago-billing``), never through a tenant's integration. Their webhook endpoints are
the same functions with ``?scope=billing``: such a request is verified with the billing account's ``webhookSecret``
only (the tenant's own secrets and BTRIX's payment-link secrets do not apply), so adding or removing the parameter
only makes the signature fail. Verified events go to the integrations queue as provider ``stripe_billing`` /
``mercadopago_billing`` under the platform's tenant id: the billing handlers find the tenant in the event (Stripe
metadata) or in what the event is about (MercadoPago's ``external_reference``), and check it there.
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.ids import PLATFORM_TENANT_ID
from chalicelib.core.resources import SecretDef, secret_name
from chalicelib.core.secrets import find_json_secret

__all__ = ["BILLING_SCOPE", "PLATFORM_TENANT_ID", "billing_provider", "is_billing", "webhook_secret"]

BILLING_SCOPE = "billing"


def is_billing(query: Mapping[str, str]) -> bool:
    """Whether the request came to the billing endpoint (``?scope=billing``)."""
    return query.get("scope") == BILLING_SCOPE


def billing_provider(provider: str) -> str:
    """The provider name billing messages carry on the queue (``stripe_billing``)."""
    return f"{provider}_{BILLING_SCOPE}"


def webhook_secret(credentials: SecretDef) -> str:
    """The ``webhookSecret`` of a billing account; ``DependencyUnavailable`` (503: the provider retries) while an
    operator has not set it."""
    name = secret_name(credentials)
    values = find_json_secret(name) or {}
    secret = values.get("webhookSecret")
    if not isinstance(secret, str) or not secret:
        raise DependencyUnavailable(detail=f"billing webhooks are not configured ({name} has no webhookSecret)")
    return secret
