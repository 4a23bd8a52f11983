"""Bitrix24 REST calls: ``POST <portal>/rest/<method>`` with the portal's access token."""

from __future__ import annotations

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import ProviderError, json_object, send
from chalicelib.integrations.models import Bitrix24Credentials

__all__ = ["rest_url", "whoami"]


def rest_url(credentials: Bitrix24Credentials, method: str) -> str:
    """The URL of REST ``method`` on the credentials' portal."""
    return get_settings().bitrix24_rest_url.format(domain=credentials.domain).rstrip("/") + f"/{method}"


def whoami(credentials: Bitrix24Credentials) -> str:
    """The portal user the token acts as (``profile``)."""
    what = f"Bitrix24 ({credentials.domain})"
    response = send(
        what,
        lambda http: http.post(
            rest_url(credentials, "profile"), data={"auth": credentials.access_token.get_secret_value()}
        ),
    )
    result = json_object(what, response).get("result")
    if not isinstance(result, dict):
        raise ProviderError("error", f"{what} answered without a profile")
    name = " ".join(str(result.get(k) or "") for k in ("NAME", "LAST_NAME")).strip() or f"user {result.get('ID')}"
    return f"{name} on {credentials.domain}"
