"""Fake Stripe on loopback, speaking its wire format (and its traps), for tests and ``make run``: accounts by secret
key, webhook endpoints, Checkout Sessions, payment intents, refunds (Stripe Billing in ``fake_stripe_billing.py``).

**Paying.** The hosted checkout page is at the URL the session gave (``/c/pay/<session id>``); ``POST`` to it (the
page's Pay button, or curl) pays it, as ``POST /_pay/<session id>`` does. ``_pay`` takes a JSON body: ``amount`` (pay
another amount than asked: a mismatch), ``outcome`` (``paid``; ``processing`` for an asynchronous method, then
``async_succeeded`` / ``async_failed`` on the same session) and ``duplicates`` (deliver each webhook that many times
at once). The answer lists the webhooks sent and the status each delivery got. A dashboard refund: ``POST
/_refund/<payment intent> {"amount"?}``.

**Webhooks** are signed as Stripe signs them: ``Stripe-Signature: t=…,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with
the endpoint's secret, to every endpoint made with ``POST /v1/webhook_endpoints`` for that key.

**Traps kept.** Stripe refuses ``expires_at`` outside 30 minutes to 24 hours from now and expiring a session that is
not open; an ``Idempotency-Key`` replays the first answer (another body with it is a 400).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.inbound.bitrix24 import nest_form
from localdev.fake_payments import Html, Reply, Webhook, checkout_page
from localdev.fake_stripe_billing import StripeAccount, StripeBillingFake, stripe_error, stripe_signature

__all__ = ["FakeStripe", "stripe_signature"]

_STRIPE_LOCALES = frozenset({"auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil"})
_STRIPE_LOCALES |= frozenset({"fr", "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl"})
_STRIPE_LOCALES |= frozenset({"pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK"})
_MIN_EXPIRY_S = 30 * 60
_MAX_EXPIRY_S = 24 * 3600


class FakeStripe(StripeBillingFake):
    """Stripe's API (accounts by secret key, webhook endpoints, Checkout Sessions, payment intents, refunds)."""

    # --- python helpers for tests and make run ---------------------------------------------------------------

    def add_customer(self, secret_key: str, email: str, name: str) -> str:
        """A customer in ``secret_key``'s account (one made in Stripe's dashboard, or by an earlier integration);
        returns its id."""
        with self._lock:
            account = self._account(secret_key)
            customer_id = f"cus_{secrets.token_hex(7)}"
            account.customers[customer_id] = {"id": customer_id, "object": "customer", "email": email, "name": name}
        return customer_id

    def add_endpoint(self, secret_key: str, url: str) -> str:
        """Register a webhook endpoint for ``secret_key``'s account (as ``POST /v1/webhook_endpoints``); returns
        its signing secret."""
        status, endpoint = self._create_endpoint(self._account(secret_key), {"url": url, "enabled_events": ["*"]})
        assert status == 200, endpoint
        return str(endpoint["secret"])

    def pay(self, session_id: str, **options: Any) -> dict[str, Any]:
        """Pay a session as a customer would (see ``_pay`` in the module docstring)."""
        status, answer = self._pay(session_id, options)
        if status != 200:
            raise ValueError(answer)
        return dict(answer)

    def session(self, session_id: str) -> dict[str, Any]:
        """A session as the fake holds it."""
        with self._lock:
            return dict(self._find("sessions", session_id)[1])

    def _create_endpoint(self, account: StripeAccount, form: dict[str, Any]) -> Reply:
        url = str(form.get("url") or "")
        if not url.startswith(("http://", "https://")):
            return stripe_error(400, "Invalid URL", "url")
        events = form.get("enabled_events") or []
        if isinstance(events, dict):
            events = list(events.values())
        if not events:
            return stripe_error(400, "Missing required param: enabled_events.", "enabled_events")
        endpoint = {
            "id": "we_" + secrets.token_hex(12),
            "object": "webhook_endpoint",
            "url": url,
            "enabled_events": list(events),
            "status": "enabled",
            "secret": "whsec_" + secrets.token_hex(16),
        }
        with self._lock:
            account.endpoints.append(endpoint)
        return 200, endpoint

    def _create_session(self, account: StripeAccount, form: dict[str, Any]) -> Reply:
        if form.get("mode") not in ("payment", "subscription", "setup"):
            return stripe_error(400, "Missing required param: mode.", "mode")
        items = form.get("line_items") or []
        if isinstance(items, dict):
            items = list(items.values())
        if not items:
            return stripe_error(400, "Missing required param: line_items.", "line_items")
        total, currency = 0, None
        for i, item in enumerate(items):
            price = item.get("price_data") or {}
            if item.get("price"):
                known = account.prices.get(str(item["price"]))
                if known is None:
                    return stripe_error(400, f"No such price: '{item['price']}'", f"line_items[{i}][price]")
                if (form["mode"] == "subscription") != bool(known.get("recurring")):
                    return stripe_error(400, "Subscription mode needs recurring prices", f"line_items[{i}][price]")
                price = {
                    "unit_amount": known["unit_amount"],
                    "currency": known["currency"],
                    "product_data": {"name": "p"},
                }
            try:
                unit, quantity = int(price["unit_amount"]), int(item.get("quantity") or 0)
            except (KeyError, ValueError):
                return stripe_error(400, "Invalid integer", f"line_items[{i}][price_data][unit_amount]")
            if quantity < 1 or unit < 0 or not (price.get("product_data") or {}).get("name"):
                return stripe_error(400, "Invalid line item", f"line_items[{i}]")
            total += unit * quantity
            currency = str(price.get("currency") or "").lower()
        if not form.get("success_url"):
            return stripe_error(400, "Missing required param: success_url.", "success_url")
        now = int(time.time())
        expires_at = int(form.get("expires_at") or now + _MAX_EXPIRY_S)
        if not now + _MIN_EXPIRY_S - 5 <= expires_at <= now + _MAX_EXPIRY_S + 5:
            message = (
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation."
            )
            return stripe_error(400, message, "expires_at")
        locale = form.get("locale")
        if locale is not None and locale not in _STRIPE_LOCALES:
            return stripe_error(400, f"Invalid locale: {locale}", "locale")
        session_id = "cs_test_" + secrets.token_hex(24)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form["mode"],
            "url": f"{self.url}/c/pay/{session_id}",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": total,
            "amount_subtotal": total,
            "currency": currency,
            "client_reference_id": form.get("client_reference_id"),
            "metadata": dict(form.get("metadata") or {}),
            "payment_intent_data": dict(form.get("payment_intent_data") or {}),
            "subscription_data": dict(form.get("subscription_data") or {}),
            "line_items": items,
            "subscription": None,
            "customer": None,
            "expires_at": expires_at,
            "created": now,
            "locale": locale,
            "success_url": form["success_url"],
            "cancel_url": form.get("cancel_url"),
            "customer_email": form.get("customer_email"),
            "payment_intent": None,
            "livemode": False,
        }
        with self._lock:
            account.sessions[session_id] = session
        return 200, self._shown_session(session)

    def _expire(self, account: StripeAccount, session: dict[str, Any]) -> Reply:
        with self._lock:
            if self._shown_session(session)["status"] != "open":
                message = f"Only Checkout Sessions with a status of `open` can be expired, not `{session['status']}`."
                return stripe_error(400, message)
            session["status"] = "expired"
            hooks = self._event(account, "checkout.session.expired", self._shown_session(session))
        self._queue(hooks, wait=False)
        return 200, self._shown_session(session)

    def _pay(self, session_id: str, options: dict[str, Any]) -> Reply:
        try:
            account, session = self._find("sessions", session_id)
        except KeyError:
            return stripe_error(404, f"No such checkout.session: '{session_id}'", "session")
        outcome = str(options.get("outcome") or "paid")
        duplicates = int(options.get("duplicates") or 1)
        with self._lock:
            state = self._shown_session(session)["status"]
            if outcome in ("async_succeeded", "async_failed"):
                if session["status"] != "complete" or session["payment_status"] != "unpaid":
                    return stripe_error(400, "This session has no payment processing")
                intent = account.intents[str(session["payment_intent"])]
                if outcome == "async_succeeded":
                    self._capture(account, session, intent)
                    event = "checkout.session.async_payment_succeeded"
                else:
                    intent["status"] = "requires_payment_method"
                    event = "checkout.session.async_payment_failed"
                hooks = self._event(account, event, self._shown_session(session))
            elif session["mode"] == "subscription":
                if state != "open":
                    return stripe_error(400, f"This Checkout Session is {state}: it cannot be paid.")
                hooks = self._start_subscription(account, session)
            else:
                if state != "open":
                    return stripe_error(400, f"This Checkout Session is {state}: it cannot be paid.")
                amount = int(options["amount"]) if options.get("amount") is not None else session["amount_total"]
                intent_id = "pi_" + secrets.token_hex(12)
                intent = {
                    "id": intent_id,
                    "object": "payment_intent",
                    "amount": amount,
                    "amount_received": 0,
                    "currency": session["currency"],
                    "status": "processing",
                    "metadata": dict(session["payment_intent_data"].get("metadata") or {}),
                    "latest_charge": None,
                    "created": int(time.time()),
                }
                account.intents[intent_id] = intent
                session.update(status="complete", payment_intent=intent_id, amount_total=amount)
                if outcome == "paid":
                    self._capture(account, session, intent)
                hooks = self._event(account, "checkout.session.completed", self._shown_session(session))
        return 200, {"session": self._shown_session(session), "webhooks": self._queue(hooks, duplicates)}

    def _capture(self, account: StripeAccount, session: dict[str, Any], intent: dict[str, Any]) -> None:
        charge_id = "ch_" + secrets.token_hex(12)
        account.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "paid": True,
            "refunded": False,
            "status": "succeeded",
            "metadata": {},
            "refunds": {"object": "list", "data": []},
        }
        intent.update(status="succeeded", amount_received=intent["amount"], latest_charge=charge_id)
        session["payment_status"] = "paid"

    def _refund(self, account: StripeAccount, form: dict[str, Any]) -> tuple[Reply, list[Webhook]]:
        intent = account.intents.get(str(form.get("payment_intent") or ""))
        if intent is None or intent.get("latest_charge") is None:
            return stripe_error(400, "No such payment_intent or it has no successful charge", "payment_intent"), []
        charge = account.charges[str(intent["latest_charge"])]
        remaining = int(charge["amount"]) - int(charge["amount_refunded"])
        amount = int(form["amount"]) if form.get("amount") not in (None, "") else remaining
        if amount < 1 or amount > remaining:
            message = f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"
            return stripe_error(400, message, "amount"), []
        refund_id = "re_" + secrets.token_hex(12)
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge["id"],
            "payment_intent": intent["id"],
            "status": "succeeded",
            "reason": form.get("reason"),
            "metadata": dict(form.get("metadata") or {}),
            "created": int(time.time()),
        }
        account.refunds[refund_id] = refund
        charge["amount_refunded"] = int(charge["amount_refunded"]) + amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, refund)
        hooks = self._event(account, "refund.created", refund) + self._event(account, "charge.refunded", charge)
        return (200, refund), hooks

    def _route(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> tuple[Reply, bool]:
        parts = path.strip("/").split("/")
        if path.startswith("/c/pay/") and len(parts) == 3:
            return self._checkout_page(method, parts[2]), False
        if parts[0] == "_pay" and len(parts) == 2 and method == "POST":
            return self._pay(parts[1], json.loads(body or b"{}")), False
        if parts[0] == "_refund" and len(parts) == 2 and method == "POST":
            return self._dashboard_refund(parts[1], json.loads(body or b"{}")), False
        if parts[0] in ("_renew", "_settle", "_cancel") and len(parts) == 2 and method == "POST":
            options = json.loads(body or b"{}")
            if parts[0] == "_cancel":
                return self._cancel(parts[1]), False
            return (self._renew if parts[0] == "_renew" else self._settle)(parts[1], options), False
        if parts[0] == "p" and len(parts) == 3:
            return (
                200,
                Html("<!doctype html><title>Customer portal (fake)</title><p>Stripe customer portal</p>"),
            ), False
        if parts[0] != "v1":
            return stripe_error(404, f"Unrecognized request URL ({method}: {path})."), True
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not key.startswith(("sk_", "rk_")) or not self._key_accepted(key):
            return stripe_error(401, "Invalid API Key provided", kind="invalid_request_error"), True
        account = self._account(key)
        form = nest_form(parse_qsl(body.decode(), keep_blank_values=True)) if body else {}
        fingerprint = hashlib.sha256(body).hexdigest()
        idempotency = headers.get("idempotency-key")
        resource = "/".join(parts[1:])
        with self._lock:
            if method == "GET" and resource == "account":
                return (200, {"id": account.id, "object": "account", "business_profile": {"name": "Fake shop"}}), True
            if method == "POST" and resource == "webhook_endpoints":
                return self._create_endpoint(account, form), True
            if method == "POST" and resource == "checkout/sessions":
                return self._replayed(key, idempotency, fingerprint, lambda: self._create_session(account, form)), True
            if resource.startswith("checkout/sessions/") and len(parts) in (4, 5):
                session = account.sessions.get(parts[3])
                if session is None:
                    return stripe_error(404, f"No such checkout.session: '{parts[3]}'", "session"), True
                if method == "GET" and len(parts) == 4:
                    return (200, self._shown_session(session)), True
                if method == "POST" and len(parts) == 5 and parts[4] == "expire":
                    return self._expire(account, session), True
            if resource == "prices" and method == "GET":
                return self._list_prices(account, query), True
            if resource == "prices" and method == "POST":
                return self._replayed(key, idempotency, fingerprint, lambda: self._create_price(account, form)), True
            if resource.startswith("subscriptions/") and len(parts) == 3:
                subscription = account.subscriptions.get(parts[2])
                if subscription is None:
                    return stripe_error(404, f"No such subscription: '{parts[2]}'", "id"), True
                if method == "GET":
                    return (200, subscription), True
                return self._replayed(
                    key, idempotency, fingerprint, lambda: self._update_subscription(account, subscription, form)
                ), True
            if method == "GET" and resource == "customers":
                wanted = query.get("email")
                found = [c for c in account.customers.values() if wanted is None or c.get("email") == wanted]
                return (200, {"object": "list", "data": found, "has_more": False, "url": "/v1/customers"}), True
            if method == "DELETE" and resource.startswith("customers/") and len(parts) == 3:
                if account.customers.pop(parts[2], None) is None:
                    missing = {"type": "invalid_request_error", "code": "resource_missing", "param": "id"}
                    return (404, {"error": {**missing, "message": f"No such customer: '{parts[2]}'"}}), True
                return (200, {"id": parts[2], "object": "customer", "deleted": True}), True
            if method == "POST" and resource == "billing_portal/sessions":
                return self._portal_session(account, form), True
            if method == "GET" and resource.startswith("payment_intents/") and len(parts) == 3:
                intent = account.intents.get(parts[2])
                if intent is None:
                    return stripe_error(404, f"No such payment_intent: '{parts[2]}'", "intent"), True
                return (200, intent), True
            if method == "POST" and resource == "refunds":

                def create() -> Reply:
                    reply, hooks = self._refund(account, form)
                    self._queue(hooks, wait=False)
                    return reply

                return self._replayed(key, idempotency, fingerprint, create), True
        return stripe_error(404, f"Unrecognized request URL ({method}: {path})."), True

    def _dashboard_refund(self, payment_intent: str, options: dict[str, Any]) -> Reply:
        try:
            account, _ = self._find("intents", payment_intent)
        except KeyError:
            return stripe_error(404, f"No such payment_intent: '{payment_intent}'")
        with self._lock:
            reply, hooks = self._refund(account, {"payment_intent": payment_intent, "amount": options.get("amount")})
        if reply[0] != 200:
            return reply
        return 200, {"refund": reply[1], "webhooks": self._queue(hooks, int(options.get("duplicates") or 1))}

    def _checkout_page(self, method: str, session_id: str) -> Reply:
        try:
            _, session = self._find("sessions", session_id)
        except KeyError:
            return 404, Html("<!doctype html><p>No such checkout</p>")
        if method == "POST":
            status, answer = self._pay(session_id, {})
            if status != 200:
                return status, Html(f"<!doctype html><p id='error'>{answer['error']['message']}</p>")
        shown = self._shown_session(session)
        amount = f"{shown['amount_total'] / 100:.2f} {str(shown['currency']).upper()}"
        return 200, checkout_page("Stripe Checkout (fake)", amount, f"/c/pay/{session_id}", str(shown["status"]))
