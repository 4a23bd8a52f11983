"""iFood Merchant API calls (``https://merchant-api.ifood.com.br``): token, event polling and acknowledgment,
order details and the order's status actions.

Wire facts (iFood's developer portal; PROVIDERS.md "Brazilian commerce integrations"):

- Token: ``POST /authentication/v1.0/oauth/token``, a form with camelCase names (``grantType=client_credentials``,
  ``clientId``, ``clientSecret``) → ``{accessToken, type, expiresIn}``; ``expiresIn`` is in seconds (21600: six
  hours; PROVIDERS.md says hours, iFood's guides and answers say seconds). Client credentials have no refresh token:
  a new grant is the refresh. Credentials iFood refuses (401) are ``fatal``: the integration is disconnected.
- Events: ``GET /events/v1.0/events:polling`` with ``x-polling-merchants: <merchant ids>`` (at most 100) → 200 and
  a list of ``{id, code, fullCode, orderId, merchantId, createdAt, metadata?}``, or 204 when there is nothing.
  An event not acknowledged (``POST /events/v1.0/events/acknowledgment [{"id"}]`` → 202) comes back on a later
  poll; events can arrive out of order (sort by ``createdAt``).
- Orders: ``GET /order/v1.0/orders/{id}`` (may 404 for a few seconds after PLACED: retryable here);
  ``POST /order/v1.0/orders/{id}/confirm|startPreparation|readyToPickup|dispatch`` → 202 (the outcome arrives as
  an event); ``POST …/requestCancellation {reason, cancellationCode}`` → 202.
- Webhook (where the application has one): one event per ``POST``, the polling's shape, signed ``X-IFood-Signature``
  = hex HMAC-SHA256(client secret, raw body) (verified by ``inbound.signatures.verify_ifood``); iFood retries an
  event for up to 15 minutes, then drops it (the poll still has it).
- Merchant: ``GET /merchant/v1.0/merchants/{id}`` → ``{id, name, corporateName…}`` (the connection test).
- 429 over the rate limits (with ``Retry-After`` where given, not confirmed): ``retryable``, the queue's backoff
  spaces the next try.

Not confirmed in iFood's public docs and kept to the narrowest use: the cancellation code ``501`` ("problemas de
sistema" for a merchant-side cancellation) and the shape of ``additionalFees`` (``{type, value}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.integrations.http import Failure, ProviderError, TokenGrant, json_list, json_object, send
from chalicelib.integrations.ifood.credentials import IFoodCredentials

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MAX_MERCHANTS",
    "Action",
    "Event",
    "acknowledge",
    "event_of",
    "get_order",
    "grant",
    "order_action",
    "poll_events",
    "request_cancellation",
    "whoami",
]

_WHAT = "iFood"
MAX_MERCHANTS = 100
# A merchant-side cancellation for a system reason (iFood's list of cancellation codes; see the module's notes).
_CANCELLATION_CODE = "501"

Action = Literal["confirm", "startPreparation", "readyToPickup", "dispatch"]


@dataclass(frozen=True)
class Event:
    """One event of the polling: an order placed (PLC), confirmed (CFM), cancelled (CAN)… by its short code."""

    id: str
    code: str
    full_code: str
    order_id: str
    merchant_id: str
    created_at: str
    metadata: Mapping[str, Any]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def event_of(item: Mapping[str, Any]) -> Event:
    """An event as iFood sends it (in the polling's list, or alone in a webhook call)."""
    return Event(
        id=str(item["id"]),
        code=str(item.get("code") or ""),
        full_code=str(item.get("fullCode") or ""),
        order_id=str(item.get("orderId") or ""),
        merchant_id=str(item.get("merchantId") or ""),
        created_at=str(item.get("createdAt") or ""),
        metadata=_mapping(item.get("metadata")),
    )


def _url(path: str) -> str:
    return get_settings().ifood_api_url.rstrip("/") + path


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def grant(credentials: IFoodCredentials) -> TokenGrant:
    """A new access token for the application (``grantType=client_credentials``)."""
    form = {
        "grantType": "client_credentials",
        "clientId": credentials.client_id,
        "clientSecret": credentials.client_secret.get_secret_value(),
    }
    url = _url("/authentication/v1.0/oauth/token")
    try:
        response = send(f"{_WHAT} token", lambda c: c.post(url, data=form, headers={"Accept": "application/json"}))
    except ProviderError as exc:
        if exc.status in (400, 401):
            # Credentials iFood does not take (a revoked secret, a removed application): nothing to retry.
            detail = f"{_WHAT} refused the application's credentials"
            raise ProviderError(detail, failure=Failure.FATAL, status=401) from exc
        raise
    body = json_object(f"{_WHAT} token", response)
    token, seconds = body.get("accessToken"), body.get("expiresIn")
    if not isinstance(token, str) or not token or not isinstance(seconds, int) or seconds <= 0:
        raise ProviderError(f"{_WHAT} token answer lacks accessToken or expiresIn", failure=Failure.REJECTED)
    return TokenGrant(token, clock.now() + timedelta(seconds=seconds))


def _expired(exc: ProviderError) -> ProviderError:
    # A 401 on an API call is the token (the credentials were good a moment ago): refresh, then call again.
    if exc.status == 401:
        return ProviderError(f"{_WHAT} refused the access token", failure=Failure.EXPIRED, status=401)
    return exc


def _call(what: str, request: Any) -> httpx.Response:
    try:
        return send(f"{_WHAT} {what}", request)
    except ProviderError as exc:
        raise _expired(exc) from exc


def poll_events(token: str, merchant_ids: Sequence[str]) -> list[Event]:
    """The events not acknowledged yet of up to 100 merchants, oldest first (sorted by ``createdAt``: iFood may
    deliver them out of order)."""
    if not 0 < len(merchant_ids) <= MAX_MERCHANTS:
        raise ValueError(f"poll 1 to {MAX_MERCHANTS} merchants at a time")
    url = _url("/events/v1.0/events:polling")
    headers = {**_bearer(token), "x-polling-merchants": ",".join(merchant_ids)}
    response = _call("polling", lambda c: c.get(url, headers=headers))
    if response.status_code == 204 or not response.content:
        return []
    body = json_list(f"{_WHAT} polling", response)
    events = [event_of(item) for item in body if isinstance(item, dict) and item.get("id")]
    return sorted(events, key=lambda event: (event.created_at, event.id))


def acknowledge(token: str, event_ids: Sequence[str]) -> None:
    """Tell iFood these events were handled (they stop coming back)."""
    if not event_ids:
        return
    url = _url("/events/v1.0/events/acknowledgment")
    body = [{"id": event_id} for event_id in event_ids]
    _call("acknowledgment", lambda c: c.post(url, json=body, headers=_bearer(token)))


def get_order(token: str, order_id: str) -> dict[str, Any]:
    """The order's details. A 404 just after it was placed is iFood not having it ready yet: ``retryable``."""
    url = _url(f"/order/v1.0/orders/{order_id}")
    try:
        response = _call("order", lambda c: c.get(url, headers=_bearer(token)))
    except ProviderError as exc:
        if exc.status == 404:
            raise ProviderError(f"{_WHAT} does not have order {order_id} yet", failure=Failure.RETRYABLE) from exc
        raise
    return json_object(f"{_WHAT} order", response)


def order_action(token: str, order_id: str, action: Action) -> None:
    """Move the order on iFood (confirm, startPreparation, readyToPickup, dispatch): 202, the result as an event."""
    url = _url(f"/order/v1.0/orders/{order_id}/{action}")
    _call(action, lambda c: c.post(url, headers=_bearer(token)))


def request_cancellation(token: str, order_id: str, reason: str) -> None:
    """Ask iFood to cancel the order (the merchant cancelled it); iFood answers the outcome as an event."""
    url = _url(f"/order/v1.0/orders/{order_id}/requestCancellation")
    body = {"reason": reason[:250] or "cancelled by the store", "cancellationCode": _CANCELLATION_CODE}
    _call("requestCancellation", lambda c: c.post(url, json=body, headers=_bearer(token)))


def whoami(credentials: IFoodCredentials) -> str:
    """The merchant's name (a fresh token, then ``GET /merchant/v1.0/merchants/{id}``)."""
    token = grant(credentials).access_token
    url = _url(f"/merchant/v1.0/merchants/{credentials.merchant_id}")
    merchant = json_object(f"{_WHAT} merchant", _call("merchant", lambda c: c.get(url, headers=_bearer(token))))
    return str(merchant.get("name") or credentials.merchant_id)
