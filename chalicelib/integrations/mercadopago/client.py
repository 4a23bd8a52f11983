"""MercadoPago API calls with the tenant's access token."""

from __future__ import annotations

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import json_object, send
from chalicelib.integrations.models import MercadoPagoCredentials

__all__ = ["whoami"]


def whoami(credentials: MercadoPagoCredentials) -> str:
    """The seller the token belongs to (``GET /users/me``)."""
    url = get_settings().mercadopago_api_url.rstrip("/") + "/users/me"
    headers = {"Authorization": f"Bearer {credentials.access_token.get_secret_value()}"}
    user = json_object("MercadoPago", send("MercadoPago", lambda http: http.get(url, headers=headers)))
    return f"{user.get('nickname') or user.get('email') or 'user'} ({user.get('id')})"
