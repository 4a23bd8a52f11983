"""Bitrix24 REST calls and OAuth token refresh for the gateway, with Bitrix24's errors classified.

A REST call is ``POST <portal>/rest/<method>`` with a JSON body that carries the parameters and ``auth`` (the
portal's access token); the answer is ``{"result": …}`` or ``{"error", "error_description"}`` with a 400, 401,
403, 500 or 503 status. Errors are classified by their code first, then by the status: ``expired`` (refresh the
token once and retry), ``retryable`` (later may work: limits, outages, timeouts) and ``fatal`` (the portal no
longer lets us in: a refresh token refused, the app unpaid or its access revoked).

URLs are https, or plain-http loopback where ``notifications_allow_loopback`` allows the fake providers. The
portal's REST endpoint is built from its domain and ``settings.bitrix24_rest_url``, never taken from what an
event says (``client_endpoint``), so an install cannot point our calls and its token somewhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.integrations.http import client

if TYPE_CHECKING:
    import httpx

__all__ = [
    "EXPIRED_TOKEN",
    "FATAL_CODES",
    "RETRYABLE_CODES",
    "Bitrix24Error",
    "TokenSet",
    "call",
    "checked_domain",
    "portal_endpoint",
    "refresh_tokens",
]

EXPIRED_TOKEN = "expired_token"
INVALID_TOKEN = "invalid_token"
# Later may work: the portal's request limit, or Bitrix24 (or the network) failing for a while.
RETRYABLE_CODES = frozenset(
    {"QUERY_LIMIT_EXCEEDED", "INTERNAL_SERVER_ERROR", "ERROR_SERVICE_UNAVAILABLE", "NETWORK_ERROR", "TIMEOUT"}
)
# The portal does not let the app in any more: nothing works until someone reinstalls or pays.
FATAL_CODES = frozenset(
    {
        "invalid_grant",
        "invalid_client",
        INVALID_TOKEN,
        "NO_AUTH_FOUND",
        "PAYMENT_REQUIRED",
        "ACCESS_DENIED",
        "insufficient_scope",
        "ERROR_OAUTH",
        "PORTAL_DELETED",
        "PORTAL_NOT_CONNECTED",
    }
)
_METHOD = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
# A DNS host name with an optional port: no scheme, path, user info or IP trickery in what becomes a URL.
_DOMAIN = re.compile(r"^(?=.{1,253}(:|$))([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:\d{1,5})?$")


@dataclass
class Bitrix24Error(Exception):
    """Raised when Bitrix24 answers with an error, or cannot be reached (``status`` None)."""

    code: str
    description: str = ""
    status: int | None = None

    def __post_init__(self) -> None:
        super().__init__(f"Bitrix24 {self.code}" + (f": {self.description}" if self.description else ""))

    @property
    def expired(self) -> bool:
        """The access token expired: refresh it and call again."""
        return self.code == EXPIRED_TOKEN

    @property
    def retryable(self) -> bool:
        """Trying again later may work (request limit, 5xx, 429, network failure, timeout)."""
        if self.code in FATAL_CODES or self.expired:
            return False
        return self.code in RETRYABLE_CODES or self.status is None or self.status == 429 or self.status >= 500

    @property
    def fatal(self) -> bool:
        """The portal refuses the app (refresh token, payment, access): it must be reconnected."""
        return self.code in FATAL_CODES


@dataclass(frozen=True)
class TokenSet:
    """A portal's OAuth tokens as Bitrix24's OAuth server handed them out."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    member_id: str
    domain: str
    client_endpoint: str


def _checked_url(url: str) -> str:
    from chalicelib.notifications.channels.base import ProviderError, check_provider_url

    try:
        return check_provider_url(url)
    except ProviderError as exc:
        raise Bitrix24Error("INVALID_ENDPOINT", str(exc)) from exc


def checked_domain(domain: str) -> str:
    """``domain`` (lower-cased) if it is a plain host name such as ``acme.bitrix24.com``; else ``Bitrix24Error``."""
    host = domain.strip().lower()
    if not _DOMAIN.fullmatch(host):
        raise Bitrix24Error("INVALID_DOMAIN", f"{domain!r} is not a Bitrix24 portal host name")
    return host


def portal_endpoint(domain: str) -> str:
    """The REST endpoint of the portal at ``domain`` (``settings.bitrix24_rest_url`` with the domain filled in)."""
    return get_settings().bitrix24_rest_url.format(domain=checked_domain(domain)).rstrip("/")


def _error_of(response: httpx.Response, what: str) -> Bitrix24Error:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        return Bitrix24Error(str(body["error"]), str(body.get("error_description") or ""), response.status_code)
    return Bitrix24Error(
        f"HTTP_{response.status_code}", f"{what} answered {response.status_code}", response.status_code
    )


def _send(what: str, request: Any) -> dict[str, Any]:
    import httpx

    try:
        response: httpx.Response = request(client())
    except httpx.TimeoutException as exc:
        raise Bitrix24Error("TIMEOUT", f"{what} did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise Bitrix24Error("NETWORK_ERROR", f"{what} could not be reached ({type(exc).__name__})") from exc
    if response.status_code >= 300:
        raise _error_of(response, what)
    try:
        body = response.json()
    except ValueError as exc:
        raise Bitrix24Error("INVALID_RESPONSE", f"{what} did not answer with JSON", response.status_code) from exc
    if not isinstance(body, dict):
        raise Bitrix24Error("INVALID_RESPONSE", f"{what} did not answer with a JSON object", response.status_code)
    if body.get("error"):
        # Some errors come back with a 200.
        raise Bitrix24Error(str(body["error"]), str(body.get("error_description") or ""), response.status_code)
    return body


def call(endpoint: str, access_token: str, method: str, params: dict[str, Any]) -> Any:
    """Call REST ``method`` on the portal at ``endpoint`` (``portal_endpoint``) with ``params``; returns ``result``.

    Raises ``Bitrix24Error`` (see its ``expired``, ``retryable`` and ``fatal``).
    """
    if not _METHOD.fullmatch(method):
        raise ValueError(f"not a Bitrix24 REST method name: {method!r}")
    url = f"{_checked_url(endpoint).rstrip('/')}/{method}"
    body = {**params, "auth": access_token}
    answer = _send(f"Bitrix24 {method}", lambda http: http.post(url, json=body))
    if "result" not in answer:
        raise Bitrix24Error("INVALID_RESPONSE", f"Bitrix24 {method} answered without a result", 200)
    return answer["result"]


def _host_of(endpoint: str) -> str:
    return (urlsplit(endpoint).hostname or "").lower()


def refresh_tokens(client_id: str, client_secret: str, refresh_token: str) -> TokenSet:
    """Trade ``refresh_token`` for a new pair at Bitrix24's OAuth server (``settings.bitrix24_oauth_url``).

    Each refresh token works once: keep the new one. ``invalid_grant`` (used, revoked or expired after 180 days)
    is fatal: the portal must install the app again.
    """
    url = _checked_url(get_settings().bitrix24_oauth_url)
    query = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    # Bitrix24 documents the refresh as a GET with the parameters in the query string.
    answer = _send("Bitrix24 OAuth", lambda http: http.get(url, params=query))
    access, refresh = answer.get("access_token"), answer.get("refresh_token")
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise Bitrix24Error("INVALID_RESPONSE", "Bitrix24 OAuth answered without a token pair", 200)
    expires_in = answer.get("expires_in")
    lifetime = int(expires_in) if isinstance(expires_in, int | str) and str(expires_in).isdigit() else 3600
    client_endpoint = str(answer.get("client_endpoint") or "")
    # The answer's ``domain`` is the OAuth server's; the portal is the host of its client endpoint.
    domain = _host_of(client_endpoint) or str(answer.get("domain") or "")
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=clock.now() + timedelta(seconds=lifetime),
        member_id=str(answer.get("member_id") or ""),
        domain=domain,
        client_endpoint=client_endpoint,
    )
