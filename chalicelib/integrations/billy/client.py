"""Billy API calls: ``https://api.billysbilling.com/v2`` with the company's ``X-Access-Token``."""

from __future__ import annotations

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import ProviderError, json_object, send
from chalicelib.integrations.models import BillyCredentials

__all__ = ["whoami"]


def whoami(credentials: BillyCredentials) -> str:
    """The organization the token belongs to (``GET /organization``)."""
    url = get_settings().billy_api_url.rstrip("/") + "/organization"
    headers = {"X-Access-Token": credentials.access_token.get_secret_value()}
    organization = json_object("Billy", send("Billy", lambda http: http.get(url, headers=headers))).get("organization")
    if not isinstance(organization, dict):
        raise ProviderError("error", "Billy answered without an organization")
    return str(organization.get("name") or organization.get("id"))
