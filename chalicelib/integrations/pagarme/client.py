"""Pagar.me API v5 calls with a tenant's secret key, over the shared httpx client.

The one Pagar.me client of BTRIX. Authentication is HTTP Basic with the secret key as the user and an empty
password; bodies are JSON with amounts in integer cents. Creates carry an ``Idempotency-Key`` header (the same key
again answers the first result). Failures are ``ProviderError`` (``integrations.http.send``: 401/403 fatal, 429 and
5xx retryable, the rest rejected). The API base is ``Settings.pagarme_api_url`` (``https://api.pagar.me/core/v5``).
The calls and fields used, and which of them are confirmed by Pagar.me's public reference, are in
docs/PAGARME.md.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import check_provider_url, json_object, send
from chalicelib.integrations.pagarme.credentials import PagarmeCredentials

__all__ = [
    "anonymise_customer",
    "cancel_charge",
    "close_order",
    "create_order",
    "customers_with_email",
    "get_charge",
    "get_order",
    "whoami",
]

_WHAT = "Pagar.me"
_PAGE = 30


def _url(path: str) -> str:
    return check_provider_url(get_settings().pagarme_api_url.rstrip("/") + path)


def _headers(credentials: PagarmeCredentials, idempotency_key: str | None = None) -> dict[str, str]:
    basic = base64.b64encode(f"{credentials.secret_key.get_secret_value()}:".encode()).decode()
    headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/json", "Accept": "application/json"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def create_order(credentials: PagarmeCredentials, order: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    """``POST /orders`` with one ``checkout`` payment → the order (``id`` ``or_…``, ``status``, ``checkouts[0]``
    with ``id`` ``chk_…`` and ``payment_url``: the hosted checkout page)."""
    url, headers, body = _url("/orders"), _headers(credentials, idempotency_key), _encode(order)
    return json_object(_WHAT, send(_WHAT, lambda http: http.post(url, headers=headers, content=body)))


def get_order(credentials: PagarmeCredentials, order_id: str) -> dict[str, Any]:
    """``GET /orders/<id>``: ``status`` pending|paid|canceled|failed, ``metadata``, ``charges[]`` (each ``id``
    ``ch_…``, ``amount``, ``paid_amount``, ``status``, ``paid_at``, ``last_transaction``)."""
    url, headers = _url(f"/orders/{order_id}"), _headers(credentials)
    return json_object(_WHAT, send(_WHAT, lambda http: http.get(url, headers=headers)))


def close_order(credentials: PagarmeCredentials, order_id: str, status: str = "canceled") -> dict[str, Any]:
    """``PATCH /orders/<id>/closed {status}``: a closed order's checkout cannot be paid any more."""
    url, headers, body = _url(f"/orders/{order_id}/closed"), _headers(credentials), _encode({"status": status})
    return json_object(_WHAT, send(_WHAT, lambda http: http.patch(url, headers=headers, content=body)))


def get_charge(credentials: PagarmeCredentials, charge_id: str) -> dict[str, Any]:
    """``GET /charges/<id>``: ``status``, ``amount``, ``canceled_amount``, ``order``, ``last_transaction``."""
    url, headers = _url(f"/charges/{charge_id}"), _headers(credentials)
    return json_object(_WHAT, send(_WHAT, lambda http: http.get(url, headers=headers)))


def cancel_charge(
    credentials: PagarmeCredentials, charge_id: str, amount_cents: int, *, idempotency_key: str
) -> dict[str, Any]:
    """``DELETE /charges/<id> {amount}``: give back ``amount_cents`` of a paid charge (a refund; partial when less
    than what is left). Returns the charge, its ``last_transaction`` the refund."""
    url, headers = _url(f"/charges/{charge_id}"), _headers(credentials, idempotency_key)
    body = _encode({"amount": amount_cents})
    return json_object(_WHAT, send(_WHAT, lambda http: http.request("DELETE", url, headers=headers, content=body)))


def _customers_page(credentials: PagarmeCredentials, email: str, page: int) -> dict[str, Any]:
    url, headers = _url("/customers"), _headers(credentials)
    params: dict[str, str | int] = {"email": email, "page": page, "size": _PAGE}
    return json_object(_WHAT, send(_WHAT, lambda http: http.get(url, headers=headers, params=params)))


def customers_with_email(credentials: PagarmeCredentials, email: str) -> list[str]:
    """``GET /customers?email=``: the ids of the account's customers with this email, every page (an order that
    carries a customer makes a new one, so a payer may be several)."""
    found: list[str] = []
    page = 1
    while True:
        listed = _customers_page(credentials, email, page)
        data = [c for c in listed.get("data") or [] if isinstance(c, dict) and c.get("id")]
        found += [str(c["id"]) for c in data]
        total = int((listed.get("paging") or {}).get("total") or 0)
        if len(data) < _PAGE or len(found) >= total:
            return found
        page += 1


def anonymise_customer(credentials: PagarmeCredentials, customer_id: str, pseudonym: str, email: str) -> None:
    """``PUT /customers/<id>`` with only the pseudonym, a stand-in ``email`` and the type: Pagar.me has no way to
    delete a customer (its charges stay, as the law keeps them), and a PUT replaces the customer, so its document,
    phones and address go."""
    url, headers = _url(f"/customers/{customer_id}"), _headers(credentials)
    body = _encode({"name": pseudonym, "email": email, "type": "individual"})
    json_object(_WHAT, send(_WHAT, lambda http: http.put(url, headers=headers, content=body)))


def whoami(credentials: PagarmeCredentials) -> str:
    """Whether the key opens the account: ``GET /orders?size=1`` (Pagar.me v5 has no "who am I"; the key's mode
    is all it tells)."""
    url, headers = _url("/orders"), _headers(credentials)
    json_object(_WHAT, send(_WHAT, lambda http: http.get(url, headers=headers, params={"page": 1, "size": 1})))
    mode = "test" if credentials.secret_key.get_secret_value().startswith("sk_test_") else "live"
    return f"Pagar.me account ({mode} key)"
