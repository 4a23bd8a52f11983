"""Stripe API calls with the tenant's secret key (plain HTTPS; the SDK is used where it verifies webhooks)."""

from __future__ import annotations

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import json_object, send
from chalicelib.integrations.models import StripeCredentials

__all__ = ["whoami"]


def whoami(credentials: StripeCredentials) -> str:
    """The account the key belongs to (``GET /v1/account``)."""
    url = get_settings().stripe_api_url.rstrip("/") + "/v1/account"
    headers = {"Authorization": f"Bearer {credentials.secret_key.get_secret_value()}"}
    account = json_object("Stripe", send("Stripe", lambda http: http.get(url, headers=headers)))
    profile = account.get("business_profile")
    name = profile.get("name") if isinstance(profile, dict) else None
    return f"{name} ({account.get('id')})" if name else str(account.get("id"))
