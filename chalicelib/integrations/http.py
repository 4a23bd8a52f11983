"""Calls to providers: the shared httpx client, the URLs BTRIX agrees to call, and the one ``ProviderError`` family
with its classification, mapped once to the application's errors.

Every provider client (``integrations/<provider>/client.py``) and every notification sender raises a
``ProviderError`` (or a subclass: ``MetaApiError``, ``Bitrix24Error``) whose ``failure`` says what trying again can
do: ``retryable`` (an outage, a timeout, a rate limit: later may work), ``expired`` (the access token expired:
refresh it, then call again), ``fatal`` (the provider refuses our credentials or the account: nothing works until
someone reconnects it) or ``rejected`` (this call is refused; retrying it will not help, other calls may work).
``app_error`` is the one place a provider failure becomes an ``AppError``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.errors import AppError, DependencyUnavailable, ProviderRefused
from chalicelib.core.resources import SecretDef, secret_name
from chalicelib.core.secrets import get_secret

if TYPE_CHECKING:
    import httpx
    from pydantic import SecretStr

__all__ = [
    "Failure",
    "OAuthClient",
    "ProviderError",
    "TokenGrant",
    "app_error",
    "app_of",
    "check_provider_url",
    "client",
    "json_list",
    "json_object",
    "oauth_token_call",
    "send",
    "send_with_backoff",
    "shared_app",
]

_CONNECT_TIMEOUT_S = 3.0
# A 429 says "in a moment": waiting a little here (Retry-After, capped) keeps a person's request working through a
# short burst; beyond that the failure is retryable and the caller's queue backs off.
_MAX_429_RETRIES = 2
_MAX_429_WAIT_S = 2.0
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class Failure(StrEnum):
    """What trying again can do about a provider failure."""

    RETRYABLE = "retryable"
    EXPIRED = "expired"
    FATAL = "fatal"
    REJECTED = "rejected"


class ProviderError(Exception):
    """Raised when a provider refuses a call or cannot be reached; ``failure`` says what trying again can do
    (``response``: the provider's answer, when ``send_with_backoff`` got one, for the caller to read its body)."""

    response: httpx.Response | None = None

    def __init__(
        self,
        detail: str,
        *,
        failure: Failure,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.failure = failure
        self.status = status
        self.code = code

    @property
    def retryable(self) -> bool:
        """Trying later may work (an outage, a timeout, a rate limit)."""
        return self.failure is Failure.RETRYABLE

    @property
    def expired(self) -> bool:
        """The access token expired: refresh it and call again."""
        return self.failure is Failure.EXPIRED

    @property
    def fatal(self) -> bool:
        """The provider refuses our credentials or the account: it must be reconnected."""
        return self.failure is Failure.FATAL


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth client registered with a provider: BTRIX's, or a tenant's own."""

    client_id: str
    client_secret: str = field(repr=False)


def shared_app(secret: SecretDef, what: str) -> OAuthClient:
    """BTRIX's own OAuth app with a provider (the one tenants consent to), kept as the operator-set JSON secret
    ``{"clientId", "clientSecret"}``; ``DependencyUnavailable`` (503) when it is not JSON or lacks either."""
    try:
        app = json.loads(get_secret(secret_name(secret)))
    except ValueError as exc:
        raise DependencyUnavailable(detail=f"the {what} app secret is not JSON") from exc
    if not isinstance(app, dict) or not app.get("clientId") or not app.get("clientSecret"):
        raise DependencyUnavailable(detail=f"the {what} app secret needs clientId and clientSecret")
    return OAuthClient(str(app["clientId"]), str(app["clientSecret"]))


def app_of(client_id: str | None, client_secret: SecretStr | None, shared: Callable[[], OAuthClient]) -> OAuthClient:
    """The app a tenant's credentials belong to: its own when they name one (id and secret), else BTRIX's
    (``shared()``)."""
    if client_id and client_secret:
        return OAuthClient(client_id, client_secret.get_secret_value())
    return shared()


@dataclass(frozen=True)
class TokenGrant:
    """What an OAuth token endpoint answered: an access token until ``expires_at``, and a refresh token when the
    provider gives one (on a consent; on every refresh where refresh tokens rotate)."""

    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)


def app_error(exc: ProviderError) -> AppError:
    """The application error a provider failure is to the rest of BTRIX: ``DependencyUnavailable`` when trying
    later may work (an expired token is refreshed by the client before it ever gets here), ``ProviderRefused``
    when it will not."""
    if exc.retryable or exc.expired:
        return DependencyUnavailable(detail=exc.detail)
    return ProviderRefused(detail=exc.detail)


def check_provider_url(url: str) -> str:
    """``url`` if it is https, or plain-http loopback where ``notifications_allow_loopback`` allows the fake
    providers; else a ``rejected`` ``ProviderError``."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    loopback = parts.hostname in _LOOPBACK
    if parts.scheme == "http" and loopback and get_settings().notifications_allow_loopback:
        return url
    raise ProviderError(f"refusing to call {parts.scheme}://{parts.hostname}: only https", failure=Failure.REJECTED)


class _UrlsWithoutQuery(logging.Filter):
    """httpx logs every request's URL (``HTTP Request: POST <url> ...``, INFO): some providers take a credential in
    the query string (GA4's ``api_secret``, Bitrix24's refresh parameters), so the line keeps the URL's path only."""

    def filter(self, record: logging.LogRecord) -> bool:
        import httpx

        if isinstance(record.args, tuple) and any(isinstance(arg, httpx.URL) for arg in record.args):
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) and arg.query else arg for arg in record.args
            )
        return True


@cache
def client() -> httpx.Client:
    """The process's provider client (connection reuse across invocations; timeouts from the settings)."""
    import httpx

    logging.getLogger("httpx").addFilter(_UrlsWithoutQuery())
    limit = get_settings().provider_timeout_s
    # A provider that does not even accept the connection within a few seconds is down: fail fast on that part.
    timeout = httpx.Timeout(limit, connect=min(limit, _CONNECT_TIMEOUT_S))
    return httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": "btrix/1"})


def send(what: str, request: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
    """Run ``request`` with the shared client; a 2xx comes back, anything else is a ``ProviderError`` (401/403:
    fatal, 429/5xx and no answer: retryable, other statuses: rejected)."""
    import httpx

    try:
        response = request(client())
    except httpx.TimeoutException as exc:
        raise ProviderError(f"{what} did not answer in time", failure=Failure.RETRYABLE) from exc
    except httpx.HTTPError as exc:
        detail = f"{what} could not be reached ({type(exc).__name__})"
        raise ProviderError(detail, failure=Failure.RETRYABLE) from exc
    status = response.status_code
    if status in (401, 403):
        raise ProviderError(f"{what} refused the credentials ({status})", failure=Failure.FATAL, status=status)
    if status == 429 or status >= 500:
        raise ProviderError(f"{what} answered {status}", failure=Failure.RETRYABLE, status=status)
    if status >= 300:
        raise ProviderError(f"{what} answered {status}", failure=Failure.REJECTED, status=status)
    return response


def _retry_after(response: httpx.Response | None, attempt: int, cap: float) -> float:
    header = response.headers.get("retry-after") if response is not None else None
    try:
        wanted = float(header) if header else 0.5 * 2**attempt
    except ValueError:
        wanted = 0.5 * 2**attempt
    return min(max(wanted, 0.0), cap)


def send_with_backoff(
    what: str,
    request: Callable[[httpx.Client], httpx.Response],
    *,
    retries: int = _MAX_429_RETRIES,
    max_wait_s: float = _MAX_429_WAIT_S,
) -> httpx.Response:
    """``send``, waiting out a 429 up to ``retries`` times (its ``Retry-After``, at most ``max_wait_s``; without one
    0.5 s doubling); then the 429 is raised (retryable). A raised ``ProviderError`` carries the provider's answer in
    ``response`` when there was one."""
    answered: list[httpx.Response] = []

    def run(http: httpx.Client) -> httpx.Response:
        answered.append(request(http))
        return answered[-1]

    for attempt in range(retries + 1):
        answered.clear()
        try:
            return send(what, run)
        except ProviderError as exc:
            exc.response = answered[-1] if answered else None
            if exc.status == 429 and attempt < retries:
                time.sleep(_retry_after(exc.response, attempt, max_wait_s))
                continue
            raise
    raise ProviderError(f"{what} kept answering 429", failure=Failure.RETRYABLE, status=429)  # pragma: no cover


def _json(what: str, response: httpx.Response, kind: type, named: str) -> Any:
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError(f"{what} did not answer with JSON", failure=Failure.REJECTED) from exc
    if not isinstance(body, kind):
        raise ProviderError(f"{what} did not answer with a JSON {named}", failure=Failure.REJECTED)
    return body


def json_object(what: str, response: httpx.Response) -> dict[str, object]:
    """The response's JSON object, or a ``rejected`` ``ProviderError`` if it is not one."""
    body: dict[str, object] = _json(what, response, dict, "object")
    return body


def json_list(what: str, response: httpx.Response) -> list[Any]:
    """The response's JSON array, or a ``rejected`` ``ProviderError`` if it is not one."""
    body: list[Any] = _json(what, response, list, "array")
    return body


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    if isinstance(code, dict):  # Bling: {"error": {"type": "invalid_grant", "message", "description"}}
        code = code.get("type")
    return code if isinstance(code, str) else None


def oauth_token_call(
    what: str, url: str, form: dict[str, str], *, default_lifetime_s: int = 3600, headers: dict[str, str] | None = None
) -> TokenGrant:
    """POST an RFC 6749 token request (``form``: the grant) to ``url``. A 400/401 (``invalid_grant``: the code or
    refresh token is dead, used, revoked; ``invalid_client``) is ``fatal``: retrying cannot help, the integration
    must be reconnected. Lifetime from ``expires_in`` (seconds), else ``default_lifetime_s``."""
    answered: list[httpx.Response] = []
    sent = {"Accept": "application/json", **(headers or {})}

    def post(http: httpx.Client) -> httpx.Response:
        answered.append(http.post(url, data=form, headers=sent))
        return answered[-1]

    try:
        response = send(what, post)
    except ProviderError as exc:
        if exc.status in (400, 401):
            code = _error_code(answered[-1]) if answered else None
            detail = f"{what} refused the grant ({code or exc.status})"
            raise ProviderError(detail, failure=Failure.FATAL, status=exc.status, code=code) from exc
        raise
    body = json_object(what, response)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise ProviderError(f"{what} answered without an access token", failure=Failure.REJECTED)
    lifetime = body.get("expires_in")
    seconds = int(lifetime) if isinstance(lifetime, int) and lifetime > 0 else default_lifetime_s
    refresh = body.get("refresh_token")
    expires = clock.now() + timedelta(seconds=seconds)
    return TokenGrant(token, expires, refresh if isinstance(refresh, str) and refresh else None)
