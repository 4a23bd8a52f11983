"""MercadoPago API calls with an access token, over the shared httpx client.

The one MercadoPago client of BTRIX: payment links (Checkout Pro preferences, a tenant's token) and BTRIX's own
subscription billing (``/preapproval`` and its authorized payments, BTRIX's token). Calls take and return
MercadoPago's own JSON (documented field names); amounts are JSON numbers on the wire and ``Decimal`` on our side
(parsed with ``parse_float=Decimal``, and a ``Decimal`` we send becomes a number). Every create carries
``X-Idempotency-Key`` (mandatory for refunds). Failures are ``ProviderError`` (``integrations.http.send``). The API
base is ``Settings.mercadopago_api_url``."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import Failure, ProviderError, send
from chalicelib.integrations.mercadopago.credentials import MercadoPagoCredentials

__all__ = [
    "create_preapproval",
    "create_preference",
    "get_authorized_payment",
    "get_payment",
    "get_preapproval",
    "refund_payment",
    "update_preapproval",
    "update_preference",
    "whoami",
]

_WHAT = "MercadoPago"


def _url(path: str) -> str:
    return get_settings().mercadopago_api_url.rstrip("/") + path


def _headers(credentials: MercadoPagoCredentials, idempotency_key: str | None = None) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {credentials.access_token.get_secret_value()}",
        "Content-Type": "application/json",
    }
    if idempotency_key is not None:
        headers["X-Idempotency-Key"] = idempotency_key
    return headers


def _number(value: Any) -> Any:
    # MercadoPago's amounts are JSON numbers; ours are Decimals, which become numbers only here, at the wire.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, default=_number, separators=(",", ":")).encode()


def _object(content: bytes) -> dict[str, Any]:
    try:
        body = json.loads(content, parse_float=Decimal)
    except ValueError as exc:
        raise ProviderError(f"{_WHAT} did not answer with JSON", failure=Failure.REJECTED) from exc
    if not isinstance(body, dict):
        raise ProviderError(f"{_WHAT} did not answer with a JSON object", failure=Failure.REJECTED)
    return body


def create_preference(
    credentials: MercadoPagoCredentials, preference: dict[str, Any], *, idempotency_key: str
) -> dict[str, Any]:
    """``POST /checkout/preferences`` → ``{id, init_point, …}`` (a Checkout Pro payment page)."""
    url, headers, body = _url("/checkout/preferences"), _headers(credentials, idempotency_key), _encode(preference)
    return _object(send(_WHAT, lambda http: http.post(url, headers=headers, content=body)).content)


def update_preference(
    credentials: MercadoPagoCredentials, preference_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """``PUT /checkout/preferences/<id>`` (e.g. ``expiration_date_to`` now: nobody can pay it any more)."""
    url, headers, body = _url(f"/checkout/preferences/{preference_id}"), _headers(credentials), _encode(changes)
    return _object(send(_WHAT, lambda http: http.put(url, headers=headers, content=body)).content)


def get_payment(credentials: MercadoPagoCredentials, payment_id: str) -> dict[str, Any]:
    """``GET /v1/payments/<id>``: the authoritative state of a payment a notification is about (``status``,
    ``status_detail``, ``external_reference``, ``transaction_amount``, ``currency_id``, ``fee_details``,
    ``refunds``)."""
    url, headers = _url(f"/v1/payments/{payment_id}"), _headers(credentials)
    return _object(send(_WHAT, lambda http: http.get(url, headers=headers)).content)


def refund_payment(
    credentials: MercadoPagoCredentials, payment_id: str, amount: Decimal | None, *, idempotency_key: str
) -> dict[str, Any]:
    """``POST /v1/payments/<id>/refunds``: ``{amount}`` for a partial refund, an empty body for all that is left.
    Returns the refund (``id``, ``amount``, ``status``)."""
    url, headers = _url(f"/v1/payments/{payment_id}/refunds"), _headers(credentials, idempotency_key)
    body = _encode({} if amount is None else {"amount": amount})
    return _object(send(_WHAT, lambda http: http.post(url, headers=headers, content=body)).content)


def whoami(credentials: MercadoPagoCredentials) -> str:
    """The seller the token belongs to (``GET /users/me``)."""
    url, headers = _url("/users/me"), _headers(credentials)
    user = _object(send(_WHAT, lambda http: http.get(url, headers=headers)).content)
    return f"{user.get('nickname') or user.get('email') or 'user'} ({user.get('id')})"


def create_preapproval(
    credentials: MercadoPagoCredentials, preapproval: dict[str, Any], *, idempotency_key: str
) -> dict[str, Any]:
    """``POST /preapproval {reason, external_reference, payer_email, back_url, auto_recurring, status: pending}`` →
    ``{id, init_point, status, next_payment_date}``: a subscription the payer authorizes at ``init_point``."""
    url, headers, body = _url("/preapproval"), _headers(credentials, idempotency_key), _encode(preapproval)
    return _object(send(_WHAT, lambda http: http.post(url, headers=headers, content=body)).content)


def get_preapproval(credentials: MercadoPagoCredentials, preapproval_id: str) -> dict[str, Any]:
    """``GET /preapproval/<id>``: ``status`` pending|authorized|paused|cancelled, ``external_reference``,
    ``next_payment_date``, ``auto_recurring``."""
    url, headers = _url(f"/preapproval/{preapproval_id}"), _headers(credentials)
    return _object(send(_WHAT, lambda http: http.get(url, headers=headers)).content)


def update_preapproval(
    credentials: MercadoPagoCredentials, preapproval_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """``PUT /preapproval/<id>`` (``auto_recurring.transaction_amount`` for a new price, ``status: cancelled``)."""
    url, headers, body = _url(f"/preapproval/{preapproval_id}"), _headers(credentials), _encode(changes)
    return _object(send(_WHAT, lambda http: http.put(url, headers=headers, content=body)).content)


def get_authorized_payment(credentials: MercadoPagoCredentials, authorized_payment_id: str) -> dict[str, Any]:
    """``GET /authorized_payments/<id>``: one charge of a preapproval (``preapproval_id``, ``status``
    scheduled|processed|recycling|cancelled, ``payment {id, status}``, ``transaction_amount``, ``currency_id``,
    ``debit_date``). Not in PROVIDERS.md: from MercadoPago's subscriptions reference (topic
    ``subscription_authorized_payment``)."""
    url, headers = _url(f"/authorized_payments/{authorized_payment_id}"), _headers(credentials)
    return _object(send(_WHAT, lambda http: http.get(url, headers=headers)).content)
