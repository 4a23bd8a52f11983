"""Stripe API calls with a secret key, through the official SDK (imported when first used).

The one Stripe client of BTRIX: payment links (Checkout Sessions in ``mode=payment``, a tenant's key) and BTRIX's
own subscription billing (``mode=subscription``, prices, subscriptions, the customer portal, BTRIX's key). Calls
take and return Stripe's own JSON shapes (the documented field names), so a caller builds the parameters it needs
and reads what it needs; the client adds the key, the ``Idempotency-Key`` of every create, our timeout and no SDK
retries (the job queues retry, with backoff), and turns the SDK's errors into ``ProviderError``: no answer, 429 and
5xx are ``Failure.RETRYABLE`` (try again later), 401/403 ``FATAL`` (the key), any other refusal ``REJECTED`` (this
request will not work).

The API base is ``Settings.stripe_api_url`` (the fake in ``localdev/fake_stripe.py`` in tests and ``make run``).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, cast

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import Failure, ProviderError
from chalicelib.integrations.stripe.credentials import StripeCredentials

if TYPE_CHECKING:
    import stripe

__all__ = [
    "create_checkout_session",
    "create_portal_session",
    "create_price",
    "create_refund",
    "customers_with_email",
    "delete_customer",
    "expire_checkout_session",
    "find_price",
    "retrieve_checkout_session",
    "retrieve_payment_intent",
    "retrieve_subscription",
    "update_subscription",
    "whoami",
]

_WHAT = "Stripe"


@cache
def _http_client() -> stripe.HTTPClient:
    import stripe

    return stripe.HTTPXClient(timeout=get_settings().provider_timeout_s, allow_sync_methods=True)


@lru_cache(maxsize=64)
def _client(secret_key: str, api_url: str) -> stripe.StripeClient:
    import stripe

    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": api_url.rstrip("/")},
        max_network_retries=0,
        http_client=_http_client(),
    )


def _stripe(credentials: StripeCredentials) -> stripe.StripeClient:
    return _client(credentials.secret_key.get_secret_value(), get_settings().stripe_api_url)


def _failure(exc: stripe.StripeError) -> ProviderError:
    import stripe

    status = exc.http_status
    message = exc.user_message or str(exc) or type(exc).__name__
    if isinstance(exc, stripe.APIConnectionError):
        return ProviderError(f"{_WHAT} could not be reached: {message}", failure=Failure.RETRYABLE)
    if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
        return ProviderError(f"{_WHAT} refused the key ({status}): {message}", failure=Failure.FATAL, status=status)
    if isinstance(exc, stripe.RateLimitError) or (status or 0) >= 500 or status is None:
        return ProviderError(f"{_WHAT} answered {status}: {message}", failure=Failure.RETRYABLE, status=status)
    return ProviderError(f"{_WHAT} refused the request ({status}): {message}", failure=Failure.REJECTED, status=status)


def _plain(value: Any) -> dict[str, Any]:
    return cast("dict[str, Any]", value.to_dict(recursive=True))


def _call(operation: Any) -> dict[str, Any]:
    import stripe

    try:
        return _plain(operation())
    except stripe.StripeError as exc:
        raise _failure(exc) from exc


def create_checkout_session(
    credentials: StripeCredentials, params: dict[str, Any], *, idempotency_key: str
) -> dict[str, Any]:
    """``POST /v1/checkout/sessions`` with ``params`` (``mode``, ``line_items``, ``expires_at``, ``metadata``…);
    the same ``idempotency_key`` again returns the same session instead of a second one."""
    sessions = _stripe(credentials).v1.checkout.sessions
    return _call(lambda: sessions.create(cast("Any", params), {"idempotency_key": idempotency_key}))


def retrieve_checkout_session(credentials: StripeCredentials, session_id: str) -> dict[str, Any]:
    """``GET /v1/checkout/sessions/<id>``."""
    sessions = _stripe(credentials).v1.checkout.sessions
    return _call(lambda: sessions.retrieve(session_id))


def expire_checkout_session(credentials: StripeCredentials, session_id: str) -> dict[str, Any]:
    """``POST /v1/checkout/sessions/<id>/expire``: nobody can pay it any more. A session that is no longer open
    (expired already, or completed) cannot be expired: it is returned as it is, for the caller to look at."""
    import stripe

    sessions = _stripe(credentials).v1.checkout.sessions
    try:
        return _plain(sessions.expire(session_id))
    except stripe.InvalidRequestError as exc:
        current = retrieve_checkout_session(credentials, session_id)
        if current.get("status") != "open":
            return current
        raise _failure(exc) from exc
    except stripe.StripeError as exc:
        raise _failure(exc) from exc


def customers_with_email(credentials: StripeCredentials, email: str) -> list[str]:
    """``GET /v1/customers?email=``: the ids of the account's customers with this email (case-sensitive at Stripe:
    BTRIX sends the lowercase form it stores), first 100."""
    customers = _stripe(credentials).v1.customers
    listed = _call(lambda: customers.list({"email": email, "limit": 100}))
    return [str(c["id"]) for c in listed.get("data") or [] if isinstance(c, dict) and c.get("id")]


def delete_customer(credentials: StripeCredentials, customer_id: str) -> bool:
    """``DELETE /v1/customers/<id>``: Stripe deletes the customer and its payment methods (payments stay, as the law
    keeps them). False when there is no such customer any more (deleted before: nothing left to do)."""
    import stripe

    customers = _stripe(credentials).v1.customers
    try:
        return bool(_plain(customers.delete(customer_id)).get("deleted"))
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            return False
        raise _failure(exc) from exc
    except stripe.StripeError as exc:
        raise _failure(exc) from exc


def retrieve_payment_intent(credentials: StripeCredentials, payment_intent_id: str) -> dict[str, Any]:
    """``GET /v1/payment_intents/<id>`` (its ``status``, ``amount_received``, ``latest_charge``)."""
    intents = _stripe(credentials).v1.payment_intents
    return _call(lambda: intents.retrieve(payment_intent_id))


def create_refund(
    credentials: StripeCredentials,
    payment_intent_id: str,
    amount_minor: int | None,
    *,
    idempotency_key: str,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``POST /v1/refunds`` of a payment intent: ``amount_minor`` in the currency's smallest unit, or everything
    that is left when None. Returns the refund (``id``, ``status`` pending/succeeded/failed, ``amount``)."""
    params: dict[str, Any] = {"payment_intent": payment_intent_id}
    if amount_minor is not None:
        params["amount"] = amount_minor
    if metadata:
        params["metadata"] = metadata
    refunds = _stripe(credentials).v1.refunds
    return _call(lambda: refunds.create(cast("Any", params), {"idempotency_key": idempotency_key}))


def whoami(credentials: StripeCredentials) -> str:
    """The account the key belongs to (``GET /v1/account``)."""
    accounts = _stripe(credentials).v1.accounts
    account = _call(lambda: accounts.retrieve_current())
    profile = account.get("business_profile")
    name = profile.get("name") if isinstance(profile, dict) else None
    return f"{name} ({account.get('id')})" if name else str(account.get("id"))


def find_price(credentials: StripeCredentials, lookup_key: str) -> dict[str, Any] | None:
    """The active price with ``lookup_key`` (``GET /v1/prices?lookup_keys[]=…&active=true``), or None."""
    prices = _stripe(credentials).v1.prices
    found = _call(lambda: prices.list({"lookup_keys": [lookup_key], "active": True, "limit": 1}))
    data = found.get("data") or []
    return dict(data[0]) if data else None


def create_price(credentials: StripeCredentials, params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    """``POST /v1/prices`` (``unit_amount``, ``currency``, ``recurring[interval]``, ``product_data[name]``,
    ``lookup_key``)."""
    prices = _stripe(credentials).v1.prices
    return _call(lambda: prices.create(cast("Any", params), {"idempotency_key": idempotency_key}))


def retrieve_subscription(credentials: StripeCredentials, subscription_id: str) -> dict[str, Any]:
    """``GET /v1/subscriptions/<id>`` (``status``, ``items``, ``metadata``, ``customer``)."""
    subscriptions = _stripe(credentials).v1.subscriptions
    return _call(lambda: subscriptions.retrieve(subscription_id))


def update_subscription(
    credentials: StripeCredentials, subscription_id: str, params: dict[str, Any], *, idempotency_key: str
) -> dict[str, Any]:
    """``POST /v1/subscriptions/<id>`` (``items[0][id|price]``, ``proration_behavior``, ``metadata``…)."""
    subscriptions = _stripe(credentials).v1.subscriptions
    return _call(
        lambda: subscriptions.update(subscription_id, cast("Any", params), {"idempotency_key": idempotency_key})
    )


def create_portal_session(credentials: StripeCredentials, customer_id: str, return_url: str) -> dict[str, Any]:
    """``POST /v1/billing_portal/sessions {customer, return_url}`` → ``{id, url}``: the customer portal, where the
    payer changes the card, sees invoices or cancels."""
    sessions = _stripe(credentials).v1.billing_portal.sessions
    return _call(lambda: sessions.create({"customer": customer_id, "return_url": return_url}))
