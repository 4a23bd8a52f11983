"""BTRIX's billing accounts at Stripe and MercadoPago: checkouts, price changes, the customer portal, and what
their events say, through the providers' one clients (``integrations/stripe``, ``integrations/mercadopago``) with
BTRIX's own credentials from Secrets Manager (``stripe-billing``, ``mercadopago-billing``), never a tenant's.

Every object we create names its tenant and our subscription: Stripe ``metadata {tenantId, btrixSubscription}`` on
the Checkout Session and (``subscription_data``) on the subscription, which its invoices carry in
``parent.subscription_details.metadata``; MercadoPago ``external_reference`` ``billing:<tenantId>:<subscription>``
on the preapproval (its authorized payments point at it). A ``Notice`` is what one event says, in BTRIX's terms.

Stripe prices are made from the plan catalog on first use and found again by ``lookup_key``
(``btrix_<plan>_<cycle>_<minor units>_<currency>``): changing a price in the catalog makes a new Stripe price.
A yearly cycle costs ten months.

One responsibility: BTRIX's billing accounts at the providers (the calls billing makes, and what their events say).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import ValidationError

from chalicelib.billing.models import BillingProvider, Cycle, SubscriptionRecord, SubscriptionStatus, TransactionStatus
from chalicelib.core import clock
from chalicelib.core.errors import Conflict, DependencyUnavailable
from chalicelib.core.money import Money
from chalicelib.core.resources import MERCADOPAGO_BILLING_CREDENTIALS, STRIPE_BILLING_CREDENTIALS, secret_name
from chalicelib.core.secrets import find_json_secret
from chalicelib.integrations.mercadopago import client as mercadopago
from chalicelib.integrations.mercadopago.credentials import MercadoPagoCredentials
from chalicelib.integrations.stripe import client as stripe
from chalicelib.integrations.stripe.credentials import StripeCredentials
from chalicelib.plans.models import Plan

__all__ = [
    "YEARLY_MONTHS",
    "Charge",
    "Checkout",
    "Notice",
    "cancel",
    "change_price",
    "close_checkout",
    "interpret",
    "open_checkout",
    "portal_url",
    "price_of",
]

YEARLY_MONTHS = 10
_REFERENCE = "billing"


@dataclass(frozen=True)
class Checkout:
    """A checkout the ADMIN pays at."""

    id: str
    url: str


@dataclass(frozen=True)
class Charge:
    """One charge of a subscription: a Stripe invoice, a MercadoPago authorized payment. ``issued_at`` places it
    among the subscription's charges (the start of the period a Stripe invoice bills, a MercadoPago charge's debit
    date): the newest one decides the subscription's state."""

    provider_id: str
    amount: Money
    status: TransactionStatus
    at: str
    period_start: int | None = None
    issued_at: str | None = None


@dataclass(frozen=True)
class Notice:
    """What one billing event says: whose subscription, its state at the provider, or a charge."""

    provider: BillingProvider
    event_id: str
    event_type: str
    tenant_id: str | None
    subscription_ref: str | None
    provider_subscription_id: str | None = None
    provider_customer_id: str | None = None
    status: SubscriptionStatus | None = None
    period_end: str | None = None
    charge: Charge | None = None
    event_at: int = 0


def price_of(plan: Plan, cycle: Cycle) -> Money:
    """What a cycle of ``plan`` costs (a year is ten months)."""
    return plan.price * (YEARLY_MONTHS if cycle == "yearly" else 1)


def _credentials(provider: BillingProvider) -> StripeCredentials | MercadoPagoCredentials:
    definition = STRIPE_BILLING_CREDENTIALS if provider == "stripe" else MERCADOPAGO_BILLING_CREDENTIALS
    values = find_json_secret(secret_name(definition))
    if values is None:
        raise DependencyUnavailable(detail=f"billing through {provider} is not configured yet")
    try:
        if provider == "stripe":
            return StripeCredentials.model_validate(values)
        return MercadoPagoCredentials.model_validate(values)
    except ValidationError as exc:
        raise DependencyUnavailable(detail=f"the {provider} billing credentials are not valid") from exc


def _stripe_credentials() -> StripeCredentials:
    found = _credentials("stripe")
    assert isinstance(found, StripeCredentials)
    return found


def _mercadopago_credentials() -> MercadoPagoCredentials:
    found = _credentials("mercadopago")
    assert isinstance(found, MercadoPagoCredentials)
    return found


_TENANT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _tenant(value: Any) -> str | None:
    # A tenant id from a provider's object is data until checked: one that could bend a key is nobody's.
    return value if isinstance(value, str) and _TENANT_ID.fullmatch(value) else None


def _iso(epoch: Any) -> str | None:
    return clock.isoformat(datetime.fromtimestamp(int(epoch), UTC)) if isinstance(epoch, int) and epoch else None


def _reference(subscription: SubscriptionRecord) -> str:
    return f"{_REFERENCE}:{subscription.tenant_id}:{subscription.id}"


def _parse_reference(reference: Any) -> tuple[str | None, str | None]:
    parts = str(reference or "").split(":")
    if len(parts) != 3 or parts[0] != _REFERENCE or not parts[1] or not parts[2]:
        return None, None
    return parts[1], parts[2]


# --- Stripe -------------------------------------------------------------------------------------------------------


def _stripe_price(plan: Plan, cycle: Cycle) -> str:
    credentials = _stripe_credentials()
    amount = price_of(plan, cycle)
    currency = amount.currency.lower()
    lookup = f"btrix_{plan.id}_{cycle}_{amount.minor_units}_{currency}"
    found = stripe.find_price(credentials, lookup)
    if found is None:
        params = {
            "unit_amount": amount.minor_units,
            "currency": currency,
            "recurring": {"interval": "year" if cycle == "yearly" else "month"},
            "product_data": {"name": f"BTRIX {plan.name}"},
            "lookup_key": lookup,
        }
        found = stripe.create_price(credentials, params, idempotency_key=f"price-{lookup}")
    return str(found["id"])


def _metadata(subscription: SubscriptionRecord) -> dict[str, str]:
    return {"tenantId": subscription.tenant_id, "btrixSubscription": subscription.id}


def open_checkout(subscription: SubscriptionRecord, plan: Plan, payer_email: str, return_url: str) -> Checkout:
    """A checkout for a new subscription (Stripe Checkout ``mode=subscription``, MercadoPago preapproval); the
    subscription's id is the idempotency key, so a retry gets the same checkout."""
    if subscription.provider == "stripe":
        params = {
            "mode": "subscription",
            "line_items": [{"price": _stripe_price(plan, subscription.cycle), "quantity": 1}],
            "success_url": f"{return_url}?checkout=success",
            "cancel_url": f"{return_url}?checkout=cancelled",
            "client_reference_id": subscription.tenant_id,
            "customer_email": payer_email,
            "metadata": _metadata(subscription),
            "subscription_data": {"metadata": _metadata(subscription)},
        }
        session = stripe.create_checkout_session(
            _stripe_credentials(), params, idempotency_key=f"billing-{subscription.id}"
        )
        return Checkout(str(session["id"]), str(session["url"]))
    amount = price_of(plan, subscription.cycle)
    preapproval = {
        "reason": f"BTRIX {plan.name} ({subscription.cycle})",
        "external_reference": _reference(subscription),
        "payer_email": payer_email,
        "back_url": return_url,
        "auto_recurring": {
            "frequency": 12 if subscription.cycle == "yearly" else 1,
            "frequency_type": "months",
            "transaction_amount": amount.amount,
            "currency_id": amount.currency,
        },
        "status": "pending",
    }
    created = mercadopago.create_preapproval(
        _mercadopago_credentials(), preapproval, idempotency_key=f"billing-{subscription.id}"
    )
    return Checkout(str(created["id"]), str(created["init_point"]))


def close_checkout(subscription: SubscriptionRecord) -> bool:
    """Stop a pending subscription's checkout from being paid (a new one replaces it); False when it was paid
    meanwhile (its confirmation is on its way)."""
    if subscription.checkout_id is None:
        return True
    if subscription.provider == "stripe":
        session = stripe.expire_checkout_session(_stripe_credentials(), subscription.checkout_id)
        return session.get("status") != "complete"
    current = mercadopago.get_preapproval(_mercadopago_credentials(), subscription.checkout_id)
    if current.get("status") != "pending":
        return current.get("status") == "cancelled"
    mercadopago.update_preapproval(_mercadopago_credentials(), subscription.checkout_id, {"status": "cancelled"})
    return True


def change_price(subscription: SubscriptionRecord, plan: Plan, cycle: Cycle, *, at_once: bool) -> None:
    """Charge ``plan``/``cycle`` from now on: at once with proration (an upgrade, Stripe invoices the difference),
    or from the next period (a downgrade). MercadoPago has no proration: the new amount applies from its next
    charge either way."""
    if subscription.provider_subscription_id is None:
        raise Conflict(detail="the subscription is not confirmed by its provider yet; try again in a minute")
    key = f"billing-{subscription.id}-{subscription.version}-{plan.id}-{cycle}"
    if subscription.provider == "stripe":
        credentials = _stripe_credentials()
        current = stripe.retrieve_subscription(credentials, subscription.provider_subscription_id)
        items = (current.get("items") or {}).get("data") or []
        if not items:
            raise Conflict(detail="the Stripe subscription has no item to change")
        params = {
            "items": [{"id": items[0]["id"], "price": _stripe_price(plan, cycle)}],
            "proration_behavior": "always_invoice" if at_once else "none",
            "metadata": _metadata(subscription),
        }
        stripe.update_subscription(credentials, subscription.provider_subscription_id, params, idempotency_key=key)
        return
    amount = price_of(plan, cycle)
    changes = {"auto_recurring": {"transaction_amount": amount.amount, "currency_id": amount.currency}}
    mercadopago.update_preapproval(_mercadopago_credentials(), subscription.provider_subscription_id, changes)


def cancel(subscription: SubscriptionRecord) -> None:
    """End a live subscription: Stripe at the end of the paid period (``cancel_at_period_end``; its
    ``customer.subscription.deleted`` comes then), MercadoPago at once (``status: cancelled``: a preapproval has no
    end-of-period cancellation)."""
    if subscription.provider_subscription_id is None:
        raise Conflict(detail="the subscription is not confirmed by its provider yet; try again in a minute")
    if subscription.provider == "stripe":
        params = {"cancel_at_period_end": True, "metadata": _metadata(subscription)}
        key = f"billing-{subscription.id}-cancel"
        stripe.update_subscription(
            _stripe_credentials(), subscription.provider_subscription_id, params, idempotency_key=key
        )
        return
    changes = {"status": "cancelled"}
    mercadopago.update_preapproval(_mercadopago_credentials(), subscription.provider_subscription_id, changes)


def portal_url(customer_id: str, return_url: str) -> str:
    """A Stripe customer portal session for ``customer_id``."""
    return str(stripe.create_portal_session(_stripe_credentials(), customer_id, return_url)["url"])


_STRIPE_STATUS: dict[str, SubscriptionStatus] = {
    "incomplete": "pending",
    "trialing": "active",
    "active": "active",
    "past_due": "past_due",
    "unpaid": "past_due",
    "canceled": "canceled",
    "incomplete_expired": "canceled",
    "paused": "past_due",
}
_INVOICE_STATUS: dict[str, TransactionStatus] = {
    "invoice.created": "pending",
    "invoice.finalized": "pending",
    "invoice.paid": "paid",
    "invoice.payment_succeeded": "paid",
    "invoice.payment_failed": "failed",
}


def _stripe_metadata(obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
    """The metadata we set and the subscription id, on a subscription, a session or an invoice (old and new API)."""
    if obj.get("object") == "invoice":
        details = ((obj.get("parent") or {}).get("subscription_details")) or obj.get("subscription_details") or {}
        subscription = details.get("subscription") or obj.get("subscription")
        return details.get("metadata") or obj.get("metadata") or {}, str(subscription) if subscription else None
    if obj.get("object") == "subscription":
        return obj.get("metadata") or {}, str(obj["id"])
    subscription = obj.get("subscription")
    return obj.get("metadata") or {}, str(subscription) if subscription else None


def _period_end(obj: Mapping[str, Any]) -> str | None:
    items = (obj.get("items") or {}).get("data") or []
    end = (items[0].get("current_period_end") if items else None) or obj.get("current_period_end")
    return _iso(end)


def _stripe_notice(event: Mapping[str, Any]) -> Notice | None:
    kind = str(event.get("type") or "")
    obj: Mapping[str, Any] = (event.get("data") or {}).get("object") or {}
    if kind.startswith("checkout.session.") and obj.get("mode") != "subscription":
        return None
    metadata, subscription_id = _stripe_metadata(obj)
    base: dict[str, Any] = {
        "provider": "stripe",
        "event_id": str(event.get("id") or ""),
        "event_type": kind,
        "tenant_id": _tenant(metadata.get("tenantId")),
        "subscription_ref": metadata.get("btrixSubscription"),
        "provider_subscription_id": subscription_id,
        "provider_customer_id": str(obj["customer"]) if obj.get("customer") else None,
        "event_at": int(event.get("created") or 0),
    }
    if kind == "checkout.session.completed":
        return Notice(**base)
    if kind.startswith("customer.subscription."):
        status = "canceled" if kind.endswith(".deleted") else _STRIPE_STATUS.get(str(obj.get("status")))
        return Notice(**base, status=status, period_end=_period_end(obj))
    if kind in _INVOICE_STATUS:
        lines = (obj.get("lines") or {}).get("data") or []
        period = (lines[0].get("period") or {}) if lines else {}
        state = _INVOICE_STATUS[kind]
        minor = obj.get("amount_paid") if state == "paid" else obj.get("amount_due")
        amount = Money.of(Decimal(int(minor or 0)) / 100, str(obj.get("currency") or "brl").upper())
        paid_at = _iso((obj.get("status_transitions") or {}).get("paid_at")) or clock.now_iso()
        issued_at = _iso(period.get("start")) or _iso(obj.get("created"))
        charge = Charge(str(obj["id"]), amount, state, paid_at, period.get("start"), issued_at)
        return Notice(**base, charge=charge, period_end=_iso(period.get("end")))
    return None


# --- MercadoPago --------------------------------------------------------------------------------------------------

_PREAPPROVAL_STATUS: dict[str, SubscriptionStatus] = {
    "pending": "pending",
    "authorized": "active",
    "paused": "past_due",
    "cancelled": "canceled",
}
_PAYMENT_STATUS: dict[str, TransactionStatus] = {
    "approved": "paid",
    "authorized": "paid",
    "rejected": "failed",
    "cancelled": "failed",
}


def _mp_moment(value: Any) -> str | None:
    try:
        return clock.isoformat(datetime.fromisoformat(str(value))) if value else None
    except ValueError:
        return None


def _mercadopago_notice(message: Mapping[str, Any]) -> Notice | None:
    topic = str(message.get("topic") or "")
    data_id = str(message.get("dataId") or "")
    notification = message.get("notification") or {}
    event_id = str(notification.get("id") or f"{topic}:{data_id}")
    if not data_id or topic not in ("subscription_preapproval", "preapproval", "subscription_authorized_payment"):
        return None  # "payment": the authorized payment that made it says the same, with its preapproval
    credentials = _mercadopago_credentials()
    charge: Charge | None = None
    if topic == "subscription_authorized_payment":
        authorized = mercadopago.get_authorized_payment(credentials, data_id)
        payment = authorized.get("payment") or {}
        status: TransactionStatus = _PAYMENT_STATUS.get(str(payment.get("status")), "pending")
        amount = Money.of(Decimal(str(authorized.get("transaction_amount") or 0)), str(authorized["currency_id"]))
        issued_at = _mp_moment(authorized.get("debit_date") or authorized.get("date_created"))
        charge = Charge(str(authorized["id"]), amount, status, clock.now_iso(), issued_at=issued_at)
        preapproval_id = str(authorized.get("preapproval_id") or "")
    else:
        preapproval_id = data_id
    preapproval = mercadopago.get_preapproval(credentials, preapproval_id)
    tenant_id, reference = _parse_reference(preapproval.get("external_reference"))
    return Notice(
        provider="mercadopago",
        event_id=event_id,
        event_type=topic,
        tenant_id=_tenant(tenant_id),
        subscription_ref=reference,
        provider_subscription_id=str(preapproval.get("id") or preapproval_id),
        provider_customer_id=str(preapproval["payer_id"]) if preapproval.get("payer_id") else None,
        # The preapproval as fetched now is the latest word, whatever order its notifications came in.
        status=None if charge else _PREAPPROVAL_STATUS.get(str(preapproval.get("status"))),
        period_end=_mp_moment(preapproval.get("next_payment_date")),
        charge=charge,
        event_at=clock.to_epoch(clock.now()),
    )


def interpret(provider: Literal["stripe_billing", "mercadopago_billing"], message: Mapping[str, Any]) -> Notice | None:
    """What a billing webhook (as ``chalicelib/inbound`` queued it) says; None when it concerns no subscription
    (another Stripe event type, a MercadoPago ``payment`` topic). MercadoPago's notifications only say that
    something changed: the preapproval (and the authorized payment) are fetched."""
    if provider == "stripe_billing":
        return _stripe_notice(message.get("event") or {})
    return _mercadopago_notice(message)
