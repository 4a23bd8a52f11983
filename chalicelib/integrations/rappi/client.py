"""Rappi restaurants integrations API calls: login, the order actions, and the webhook signature.

Wire facts (PROVIDERS.md "Brazilian commerce integrations"; Rappi's partner docs are not public, so each fact below
is kept to its narrowest use and marked):

- Login: client credentials → an access token valid about a week, no refresh token (a new login is the refresh).
  Sent as ``x-authorization: Bearer <token>``. Not confirmed: the login path ``POST
  /restaurants/auth/v1/token/login/integrations`` with ``{client_id, client_secret}`` → ``{access_token,
  token_type, expires_in}`` (seconds); credentials Rappi refuses answer 401.
- Orders: ``GET /orders`` answers each new order once (BTRIX takes orders by the webhook and does not use it);
  ``GET /orders/status/sent`` lists the orders Rappi sent the store that it has not taken yet (the recovery poll's
  listing, ``sent_orders``). Not confirmed: its answer (taken here as a JSON array of orders shaped as the webhook's
  ``order``, or an object with them under ``orders``; no paging), whether an order Rappi cancelled stays listed, and
  the field saying so (taken as ``order_detail.state``, a state starting ``CANCEL``, with ``cancel_reason``).
  ``PUT /orders/{id}/take/{cookingTime}`` (minutes) accepts the order, ``PUT /orders/{id}/reject {reason}`` refuses
  (cancels) it, ``POST /orders/{id}/ready-for-pickup``. Take or reject within 4 minutes, or Rappi cancels it.
- Webhooks ``NEW_ORDER``, ``ORDER_EVENT_CANCEL``, ``PING``, signed ``Rappi-Signature: t=<ts>,sign=<hex
  HMAC-SHA256(secret, "<t>.<raw body>")>`` (``sign``; verified by ``inbound.signatures.verify_rappi``). Not
  confirmed: the body's envelope ``{"event": <type>, "store_id", "order_id"?, "order": {…}?}`` and the order's
  fields (``order_detail`` with ``order_id``, ``items[{sku, name, price, quantity, comments}]``, ``totals``,
  ``customer``, ``delivery_information``).
- 429 over the rate limits (``Retry-After`` not confirmed): each call waits a short 429 out
  (``http.send_with_backoff``), then it is ``retryable`` and the queue's backoff spaces the next try.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.integrations.http import Failure, ProviderError, TokenGrant, json_object, send, send_with_backoff
from chalicelib.integrations.rappi.credentials import RappiCredentials

if TYPE_CHECKING:
    import httpx

__all__ = [
    "COOKING_MINUTES",
    "grant",
    "ready_for_pickup",
    "reject",
    "sent_orders",
    "sign",
    "take",
    "whoami",
]

_WHAT = "Rappi"
COOKING_MINUTES = 20
_WEEK_S = 7 * 24 * 3600


def _url(path: str) -> str:
    return get_settings().rappi_api_url.rstrip("/") + path


def _headers(token: str) -> dict[str, str]:
    return {"x-authorization": f"Bearer {token}", "Accept": "application/json"}


def grant(credentials: RappiCredentials) -> TokenGrant:
    """A new access token (client-credentials login; about a week)."""
    body = {"client_id": credentials.client_id, "client_secret": credentials.client_secret.get_secret_value()}
    url = _url("/restaurants/auth/v1/token/login/integrations")
    try:
        response = send(f"{_WHAT} login", lambda c: c.post(url, json=body, headers={"Accept": "application/json"}))
    except ProviderError as exc:
        if exc.status in (400, 401, 403):
            detail = f"{_WHAT} refused the integration's credentials"
            raise ProviderError(detail, failure=Failure.FATAL, status=401) from exc
        raise
    answer = json_object(f"{_WHAT} login", response)
    token, seconds = answer.get("access_token"), answer.get("expires_in")
    if not isinstance(token, str) or not token:
        raise ProviderError(f"{_WHAT} login answer lacks access_token", failure=Failure.REJECTED)
    lifetime = seconds if isinstance(seconds, int) and seconds > 0 else _WEEK_S
    return TokenGrant(token, clock.now() + timedelta(seconds=lifetime))


def _call(what: str, request: Any) -> httpx.Response:
    try:
        return send_with_backoff(f"{_WHAT} {what}", request)
    except ProviderError as exc:
        if exc.status == 401:  # the token (the credentials were good a moment ago): log in again, then call again
            raise ProviderError(f"{_WHAT} refused the access token", failure=Failure.EXPIRED, status=401) from exc
        raise


def sent_orders(token: str) -> list[dict[str, Any]]:
    """The orders Rappi sent the store and it has not taken yet (``GET /orders/status/sent``), as Rappi gives them."""
    url = _url("/orders/status/sent")
    response = _call("sent orders", lambda c: c.get(url, headers=_headers(token)))
    if response.status_code == 204 or not response.content:
        return []
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderError(f"{_WHAT} sent orders did not answer with JSON", failure=Failure.REJECTED) from exc
    listed = body.get("orders") if isinstance(body, dict) else body
    if not isinstance(listed, list):
        raise ProviderError(f"{_WHAT} sent orders did not answer with a list of orders", failure=Failure.REJECTED)
    return [order for order in listed if isinstance(order, dict)]


def take(token: str, order_id: str, cooking_minutes: int = COOKING_MINUTES) -> None:
    """Accept the order, ready in ``cooking_minutes``."""
    url = _url(f"/orders/{order_id}/take/{cooking_minutes}")
    _call("take", lambda c: c.put(url, headers=_headers(token)))


def reject(token: str, order_id: str, reason: str) -> None:
    """Refuse (cancel) the order, with the reason."""
    url = _url(f"/orders/{order_id}/reject")
    _call("reject", lambda c: c.put(url, json={"reason": reason[:250]}, headers=_headers(token)))


def ready_for_pickup(token: str, order_id: str) -> None:
    """The order is ready for Rappi's courier."""
    url = _url(f"/orders/{order_id}/ready-for-pickup")
    _call("ready-for-pickup", lambda c: c.post(url, headers=_headers(token)))


def whoami(credentials: RappiCredentials) -> str:
    """Who the credentials are: a login Rappi accepts names the store they are connected for."""
    grant(credentials)
    return f"store {credentials.store_id}"


def sign(secret: str, body: bytes, at: int | None = None) -> str:
    """The ``Rappi-Signature`` header of ``body`` (for the fake and the tests)."""
    moment = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={moment},sign={digest}"
