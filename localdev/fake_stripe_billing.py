"""The fake Stripe's accounts and signed events, and Stripe Billing on them (prices with ``lookup_keys``, Checkout in
subscription mode, subscriptions, invoices paid or declined, the customer portal): what ``FakeStripe`` builds on.

Python helpers for tests: ``renew`` (the next period's invoice paid or, ``failed``, declined: ``past_due``),
``settle`` (an open invoice retried), ``cancel``, ``subscription``; over HTTP ``POST /_renew|_settle|_cancel/<id>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from localdev.fake_payments import PaymentFake, Reply, Webhook

__all__ = ["StripeAccount", "StripeBillingFake", "stripe_error", "stripe_signature"]


def stripe_signature(secret: str, body: bytes, at: int | None = None) -> str:
    """``Stripe-Signature`` of ``body``: ``t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    t = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def stripe_error(status: int, message: str, param: str | None = None, kind: str = "invalid_request_error") -> Reply:
    error: dict[str, Any] = {"type": kind, "message": message}
    if param:
        error["param"] = param
    if kind == "invalid_request_error" and param:
        error["code"] = "parameter_invalid"
    return status, {"error": error}


@dataclass
class StripeAccount:
    key: str
    id: str
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)


class StripeBillingFake(PaymentFake[StripeAccount]):
    """Stripe's accounts (by secret key), their signed events, and Stripe Billing."""

    kind = "stripe"

    def _new_account(self, key: str) -> StripeAccount:
        return StripeAccount(key, "acct_" + secrets.token_hex(8))

    def _idempotency_refusal(self) -> Reply:
        message = "Keys for idempotent requests can only be used with the same parameters they were first used with."
        return stripe_error(400, message, kind="idempotency_error")

    def _outage(self) -> Any:
        return {"error": {"type": "api_error", "message": "An unknown error occurred"}}

    def _event(self, account: StripeAccount, event_type: str, obj: dict[str, Any]) -> list[Webhook]:
        event = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2025-09-30.clover",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": len(account.endpoints),
            "type": event_type,
            "data": {"object": json.loads(json.dumps(obj))},
        }
        body = json.dumps(event).encode()
        hooks = []
        for endpoint in account.endpoints:
            events = endpoint["enabled_events"]
            if "*" not in events and event_type not in events:
                continue
            secret = str(endpoint["secret"])

            def headers(secret: str = secret) -> dict[str, str]:
                return {"Content-Type": "application/json", "Stripe-Signature": stripe_signature(secret, body)}

            hooks.append(Webhook(str(event["id"]), str(endpoint["url"]), body, headers))
        return hooks

    @staticmethod
    def _shown_session(session: dict[str, Any]) -> dict[str, Any]:
        hidden = ("payment_intent_data", "subscription_data", "line_items")
        shown = {k: v for k, v in session.items() if k not in hidden}
        if session["status"] == "open" and session["expires_at"] < time.time():
            shown["status"] = "expired"
        return shown

    # --- subscriptions (Stripe Billing) ----------------------------------------------------------------------

    def renew(self, subscription_id: str, outcome: str = "paid", duplicates: int = 1) -> dict[str, Any]:
        """The next period of a subscription begins: its invoice is paid, or (``failed``) declined, which makes the
        subscription ``past_due`` (Stripe's Smart Retries then try the invoice again: ``settle``)."""
        status, answer = self._renew(subscription_id, {"outcome": outcome, "duplicates": duplicates})
        if status != 200:
            raise ValueError(answer)
        return dict(answer)

    def settle(self, invoice_id: str, outcome: str = "paid", duplicates: int = 1) -> dict[str, Any]:
        """A retry of an open invoice (the card was updated, or Stripe's retry): paid, or failed again."""
        status, answer = self._settle(invoice_id, {"outcome": outcome, "duplicates": duplicates})
        if status != 200:
            raise ValueError(answer)
        return dict(answer)

    def cancel(self, subscription_id: str) -> dict[str, Any]:
        """The subscription ends (cancelled in the portal, or after the last failed retry)."""
        status, answer = self._cancel(subscription_id)
        if status != 200:
            raise ValueError(answer)
        return dict(answer)

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        """A subscription as the fake holds it."""
        with self._lock:
            found: dict[str, Any] = json.loads(json.dumps(self._find("subscriptions", subscription_id)[1]))
            return found

    def _create_price(self, account: StripeAccount, form: dict[str, Any]) -> Reply:
        try:
            unit = int(form["unit_amount"])
        except (KeyError, ValueError):
            return stripe_error(400, "Missing required param: unit_amount.", "unit_amount")
        if not form.get("currency"):
            return stripe_error(400, "Missing required param: currency.", "currency")
        lookup = form.get("lookup_key")
        if lookup and any(p.get("lookup_key") == lookup for p in account.prices.values()):
            return stripe_error(400, f"A price (`{lookup}`) already uses that lookup key.", "lookup_key")
        recurring = form.get("recurring") or None
        if recurring is not None and recurring.get("interval") not in ("day", "week", "month", "year"):
            return stripe_error(400, "Invalid recurring[interval]", "recurring[interval]")
        price = {
            "id": "price_" + secrets.token_hex(12),
            "object": "price",
            "active": True,
            "unit_amount": unit,
            "currency": str(form["currency"]).lower(),
            "recurring": recurring,
            "lookup_key": lookup,
            "product": "prod_" + secrets.token_hex(8),
            "nickname": (form.get("product_data") or {}).get("name"),
        }
        account.prices[str(price["id"])] = price
        return 200, price

    def _list_prices(self, account: StripeAccount, query: dict[str, str]) -> Reply:
        wanted = {v for k, v in query.items() if k.startswith("lookup_keys")}
        found = [p for p in account.prices.values() if not wanted or p.get("lookup_key") in wanted]
        return 200, {"object": "list", "url": "/v1/prices", "has_more": False, "data": found}

    def _period(self, subscription: dict[str, Any]) -> tuple[int, int]:
        item = subscription["items"]["data"][0]
        interval = (item["price"].get("recurring") or {}).get("interval", "month")
        start = int(item["current_period_end"]) if item.get("current_period_end") else int(time.time())
        return start, start + (365 if interval == "year" else 30) * 86400

    def _invoice(
        self, account: StripeAccount, subscription: dict[str, Any], amount: int, start: int, end: int, reason: str
    ) -> dict[str, Any]:
        invoice_id = "in_" + secrets.token_hex(12)
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "customer": subscription["customer"],
            "currency": subscription["items"]["data"][0]["price"]["currency"],
            "amount_due": amount,
            "amount_paid": 0,
            "status": "open",
            "billing_reason": reason,
            "attempt_count": 0,
            "status_transitions": {"paid_at": None, "finalized_at": int(time.time())},
            "parent": {
                "type": "subscription_details",
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": dict(subscription["metadata"]),
                },
            },
            "lines": {"object": "list", "data": [{"amount": amount, "period": {"start": start, "end": end}}]},
            "created": int(time.time()),
        }
        account.invoices[invoice_id] = invoice
        return invoice

    def _charge_invoice(self, account: StripeAccount, invoice: dict[str, Any], outcome: str) -> list[Webhook]:
        subscription = account.subscriptions[invoice["parent"]["subscription_details"]["subscription"]]
        invoice["attempt_count"] += 1
        hooks: list[Webhook] = []
        if outcome == "paid":
            invoice.update(status="paid", amount_paid=invoice["amount_due"])
            invoice["status_transitions"]["paid_at"] = int(time.time())
            was = subscription["status"]
            subscription["status"] = "active"
            hooks += self._event(account, "invoice.paid", invoice)
            if was != "active":
                hooks += self._event(account, "customer.subscription.updated", subscription)
        else:
            subscription["status"] = "past_due"
            hooks += self._event(account, "invoice.payment_failed", invoice)
            hooks += self._event(account, "customer.subscription.updated", subscription)
        return hooks

    def _start_subscription(self, account: StripeAccount, session: dict[str, Any]) -> list[Webhook]:
        customer_id = "cus_" + secrets.token_hex(7)
        account.customers[customer_id] = {"id": customer_id, "object": "customer", "email": session["customer_email"]}
        item = session["line_items"][0]
        price = account.prices[str(item["price"])]
        now = int(time.time())
        subscription_id = "sub_" + secrets.token_hex(12)
        subscription: dict[str, Any] = {
            "id": subscription_id,
            "object": "subscription",
            "customer": customer_id,
            "status": "incomplete",
            "metadata": dict(session["subscription_data"].get("metadata") or {}),
            "items": {"object": "list", "data": [{"id": "si_" + secrets.token_hex(7), "price": dict(price)}]},
            "cancel_at_period_end": False,
            "created": now,
        }
        account.subscriptions[subscription_id] = subscription
        start, end = self._period(subscription)
        subscription["items"]["data"][0].update(current_period_start=start, current_period_end=end)
        session.update(status="complete", payment_status="paid", subscription=subscription_id, customer=customer_id)
        hooks = self._event(account, "checkout.session.completed", self._shown_session(session))
        invoice = self._invoice(account, subscription, int(price["unit_amount"]), start, end, "subscription_create")
        subscription["status"] = "active"
        hooks += self._event(account, "customer.subscription.created", subscription)
        invoice.update(status="paid", amount_paid=invoice["amount_due"])
        invoice["status_transitions"]["paid_at"] = now
        invoice["attempt_count"] = 1
        return hooks + self._event(account, "invoice.paid", invoice)

    def _renew(self, subscription_id: str, options: dict[str, Any]) -> Reply:
        try:
            account, subscription = self._find("subscriptions", subscription_id)
        except KeyError:
            return stripe_error(404, f"No such subscription: '{subscription_id}'")
        if subscription.get("cancel_at_period_end"):
            return self._cancel(subscription_id)  # the period ended: a subscription set to cancel ends now
        with self._lock:
            if subscription["status"] == "canceled":
                return stripe_error(400, "This subscription is canceled")
            start, end = self._period(subscription)
            item = subscription["items"]["data"][0]
            item.update(current_period_start=start, current_period_end=end)
            amount = int(item["price"]["unit_amount"])
            invoice = self._invoice(account, subscription, amount, start, end, "subscription_cycle")
            hooks = self._charge_invoice(account, invoice, str(options.get("outcome") or "paid"))
        sent = self._queue(hooks, int(options.get("duplicates") or 1))
        return 200, {"invoice": invoice, "subscription": subscription, "webhooks": sent}

    def _settle(self, invoice_id: str, options: dict[str, Any]) -> Reply:
        try:
            account, invoice = self._find("invoices", invoice_id)
        except KeyError:
            return stripe_error(404, f"No such invoice: '{invoice_id}'")
        with self._lock:
            if invoice["status"] != "open":
                return stripe_error(400, f"Invoice is {invoice['status']}: nothing to pay")
            hooks = self._charge_invoice(account, invoice, str(options.get("outcome") or "paid"))
        return 200, {"invoice": invoice, "webhooks": self._queue(hooks, int(options.get("duplicates") or 1))}

    def _cancel(self, subscription_id: str) -> Reply:
        try:
            account, subscription = self._find("subscriptions", subscription_id)
        except KeyError:
            return stripe_error(404, f"No such subscription: '{subscription_id}'")
        with self._lock:
            subscription["status"] = "canceled"
            hooks = self._event(account, "customer.subscription.deleted", subscription)
        return 200, {"subscription": subscription, "webhooks": self._queue(hooks)}

    def _update_subscription(self, account: StripeAccount, subscription: dict[str, Any], form: dict[str, Any]) -> Reply:
        items = form.get("items") or {}
        items = list(items.values()) if isinstance(items, dict) else items
        hooks: list[Webhook] = []
        if items:
            wanted = items[0]
            current = subscription["items"]["data"][0]
            if wanted.get("id") != current["id"]:
                return stripe_error(400, f"No such subscription item: '{wanted.get('id')}'", "items[0][id]")
            price = account.prices.get(str(wanted.get("price") or ""))
            if price is None:
                return stripe_error(400, f"No such price: '{wanted.get('price')}'", "items[0][price]")
            old = int(current["price"]["unit_amount"])
            current["price"] = dict(price)
            if form.get("proration_behavior") == "always_invoice" and int(price["unit_amount"]) > old:
                now = int(time.time())
                difference = int(price["unit_amount"]) - old
                invoice = self._invoice(
                    account, subscription, difference, now, int(current["current_period_end"]), "subscription_update"
                )
                hooks += self._charge_invoice(account, invoice, "paid")
        if form.get("metadata"):
            subscription["metadata"].update(form["metadata"])
        if "cancel_at_period_end" in form:
            subscription["cancel_at_period_end"] = str(form["cancel_at_period_end"]).lower() == "true"
        hooks += self._event(account, "customer.subscription.updated", subscription)
        self._queue(hooks, wait=False)
        return 200, subscription

    def _portal_session(self, account: StripeAccount, form: dict[str, Any]) -> Reply:
        customer = str(form.get("customer") or "")
        if customer not in account.customers:
            return stripe_error(400, f"No such customer: '{customer}'", "customer")
        session_id = "bps_" + secrets.token_hex(12)
        url = f"{self.url}/p/session/{session_id}"
        return 200, {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": customer,
            "url": url,
            "return_url": form.get("return_url"),
        }
