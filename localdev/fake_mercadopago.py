"""Fake MercadoPago on loopback, speaking its wire format (and its traps), for tests and ``make run``: Checkout Pro
preferences, payments, refunds, ``users/me`` and its notifications (subscriptions in
``fake_mercadopago_preapprovals.py``).

**Paying.** The hosted checkout page is ``/checkout/v1/redirect?pref_id=<id>``; ``POST`` to it (the page's Pay
button, or curl) pays it, as ``POST /_pay/<preference id>`` does with a JSON body: ``amount`` (pay another amount
than asked: a mismatch), ``status`` (``approved``, ``rejected``, ``pending``), ``actions`` (the notifications to send,
default ``["payment.created"]``) and ``duplicates`` (deliver each webhook that many times at once). The answer lists
the webhooks sent and the status each delivery got. A dashboard refund: ``POST /_refund/<payment id> {"amount"?}``.

**Traps kept.** A preference can be paid more than once (only its ``expiration_date_to`` stops it); refunds require
``X-Idempotency-Key``; amounts are JSON numbers.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from localdev.fake_mercadopago_preapprovals import (
    DEFAULT_MERCADOPAGO_SECRET,
    MercadoPagoAccount,
    MercadoPagoSubscriptionsFake,
    mp_error,
    mp_now,
    mp_time,
)
from localdev.fake_payments import Html, Reply, Webhook, checkout_page

__all__ = ["DEFAULT_MERCADOPAGO_SECRET", "FakeMercadoPago"]


class FakeMercadoPago(MercadoPagoSubscriptionsFake):
    """MercadoPago's API (Checkout Pro preferences, payments, refunds, users/me) and its notifications."""

    def pay(self, preference_id: str, **options: Any) -> dict[str, Any]:
        """Pay a preference as a customer would (see ``_pay`` in the module docstring)."""
        status, answer = self._pay(preference_id, options)
        if status >= 300:
            raise ValueError(answer)
        return dict(answer)

    def preference(self, preference_id: str) -> dict[str, Any]:
        """A preference as the fake holds it."""
        with self._lock:
            return dict(self._find_preference(preference_id)[1])

    def payment(self, payment_id: str) -> dict[str, Any]:
        """A payment as the fake holds it."""
        with self._lock:
            for account in self.accounts.values():
                if payment_id in account.payments:
                    return dict(account.payments[payment_id])
        raise KeyError(payment_id)

    def _find_preference(self, preference_id: str) -> tuple[MercadoPagoAccount, dict[str, Any]]:
        return self._find("preferences", preference_id)

    def _create_preference(self, account: MercadoPagoAccount, sent: dict[str, Any]) -> Reply:
        items = sent.get("items")
        if not isinstance(items, list) or not items:
            return mp_error(400, "items needed")
        for i, item in enumerate(items):
            price = item.get("unit_price")
            if not isinstance(price, Decimal | int) or price <= 0 or not item.get("title"):
                return mp_error(400, f"invalid items[{i}]: title and a positive unit_price are required")
            if int(item.get("quantity") or 0) < 1 or not item.get("currency_id"):
                return mp_error(400, f"invalid items[{i}]: quantity and currency_id are required")
        if sent.get("expires"):
            start, end = mp_time(sent.get("expiration_date_from")), mp_time(sent.get("expiration_date_to"))
            if end is None or end.tzinfo is None or (start is not None and start.tzinfo is None):
                return mp_error(400, "expiration_date_to must be an ISO 8601 date with its offset")
        preference_id = f"{account.user_id}-{uuid.uuid4()}"
        preference = {
            **sent,
            "id": preference_id,
            "collector_id": account.user_id,
            "init_point": f"{self.url}/checkout/v1/redirect?pref_id={preference_id}",
            "sandbox_init_point": f"{self.url}/checkout/v1/redirect?pref_id={preference_id}&sandbox=1",
            "date_created": mp_now(),
        }
        with self._lock:
            account.preferences[preference_id] = preference
        return 201, preference

    @staticmethod
    def _expired(preference: dict[str, Any]) -> bool:
        end = mp_time(preference.get("expiration_date_to"))
        return bool(preference.get("expires")) and end is not None and end <= datetime.now(UTC)

    def _pay(self, preference_id: str, options: dict[str, Any]) -> Reply:
        try:
            account, preference = self._find_preference(preference_id)
        except KeyError:
            return mp_error(404, f"preference {preference_id} not found", "not_found")
        if self._expired(preference):
            return mp_error(400, "this preference expired", "preference_expired")
        # The trap: nothing here stops a preference from being paid again.
        status = str(options.get("status") or "approved")
        item = preference["items"][0]
        amount = (
            Decimal(str(options["amount"]))
            if options.get("amount") is not None
            else sum((Decimal(str(i["unit_price"])) * int(i["quantity"]) for i in preference["items"]), Decimal(0))
        )
        payment_id = str(next(self._ids))
        fee = (amount * Decimal("0.0499")).quantize(Decimal("0.01"))
        now = mp_now()
        payment = {
            "id": int(payment_id),
            "status": status,
            "status_detail": {"approved": "accredited", "rejected": "cc_rejected_other_reason"}.get(
                status, "pending_waiting_payment"
            ),
            "external_reference": preference.get("external_reference"),
            "transaction_amount": amount,
            "transaction_amount_refunded": Decimal(0),
            "currency_id": item["currency_id"],
            "date_created": now,
            "date_approved": now if status == "approved" else None,
            "date_last_updated": now,
            "payment_method_id": "pix",
            "payment_type_id": "bank_transfer",
            "collector_id": account.user_id,
            "order": {"id": next(self._ids), "type": "mercadopago"},
            "fee_details": [{"type": "mercadopago_fee", "amount": fee, "fee_payer": "collector"}]
            if status == "approved"
            else [],
            "transaction_details": {"total_paid_amount": amount, "net_received_amount": amount - fee},
            "refunds": [],
            "live_mode": False,
            "notification_url": preference.get("notification_url"),
            "metadata": dict(preference.get("metadata") or {}),
        }
        with self._lock:
            account.payments[payment_id] = payment
        actions = options.get("actions") or ["payment.created"]
        hooks = [hook for action in actions for hook in self._notify(account, payment, str(action))]
        shown = {k: v for k, v in payment.items() if k != "notification_url"}
        return 201, {"payment": shown, "webhooks": self._queue(hooks, int(options.get("duplicates") or 1))}

    def _refund(self, account: MercadoPagoAccount, payment_id: str, amount: Any) -> tuple[Reply, list[Webhook]]:
        payment = account.payments.get(payment_id)
        if payment is None:
            return mp_error(404, f"Payment {payment_id} not found", "not_found"), []
        if payment["status"] != "approved":
            return mp_error(400, f"Payment {payment_id} is {payment['status']}: it cannot be refunded"), []
        remaining = payment["transaction_amount"] - payment["transaction_amount_refunded"]
        value = remaining if amount is None else Decimal(str(amount))
        if value <= 0 or value > remaining:
            return mp_error(400, f"invalid refund amount {value}: {remaining} can be refunded"), []
        refund = {
            "id": next(self._ids),
            "payment_id": int(payment_id),
            "amount": value,
            "status": "approved",
            "source": {"type": "collector"},
            "date_created": mp_now(),
        }
        payment["refunds"].append(refund)
        payment["transaction_amount_refunded"] += value
        full = payment["transaction_amount_refunded"] == payment["transaction_amount"]
        payment["status_detail"] = "refunded" if full else "partially_refunded"
        if full:
            payment["status"] = "refunded"
        payment["date_last_updated"] = mp_now()
        return (201, refund), self._notify(account, payment, "payment.updated")

    def _route(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> tuple[Reply, bool]:
        parts = path.strip("/").split("/")
        if path == "/checkout/v1/redirect":
            return self._checkout_page(method, query.get("pref_id") or ""), False
        if parts[0] == "_pay" and len(parts) == 2 and method == "POST":
            if self._find_preapproval(parts[1]) is not None:
                return self._authorize(parts[1], json.loads(body or b"{}")), False
            return self._pay(parts[1], json.loads(body or b"{}")), False
        if parts[0] == "_refund" and len(parts) == 2 and method == "POST":
            return self._dashboard_refund(parts[1], json.loads(body or b"{}")), False
        if path == "/_accounts" and method == "POST":
            given = json.loads(body or b"{}")
            self.set_secret(str(given["accessToken"]), str(given["webhookSecret"]))
            if given.get("notificationUrl"):
                self._account(str(given["accessToken"])).notification_url = str(given["notificationUrl"])
            return (200, {"ok": True}), False
        if path == "/subscriptions/checkout":
            return self._preapproval_page(method, query.get("preapproval_id") or ""), False
        if parts[0] == "_charge" and len(parts) == 2 and method == "POST":
            return self._charge(parts[1], json.loads(body or b"{}")), False
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not token.startswith(("APP_USR-", "TEST-")) or not self._key_accepted(token):
            return mp_error(401, "invalid access token", "unauthorized"), True
        account = self._account(token)
        sent: dict[str, Any] = {}
        if body:
            try:
                decoded = json.loads(body, parse_float=Decimal)
            except ValueError:
                return mp_error(400, "invalid JSON"), True
            sent = decoded if isinstance(decoded, dict) else {}
        idempotency = headers.get("x-idempotency-key")
        fingerprint = hashlib.sha256(body).hexdigest()
        with self._lock:
            if method == "GET" and path == "/users/me":
                return (200, {"id": account.user_id, "nickname": "FAKESELLER", "site_id": "MLB"}), True
            if method == "POST" and path == "/checkout/preferences":
                return self._replayed(
                    token, idempotency, fingerprint, lambda: self._create_preference(account, sent)
                ), True
            if parts[:2] == ["checkout", "preferences"] and len(parts) == 3:
                preference = account.preferences.get(parts[2])
                if preference is None:
                    return mp_error(404, "preference not found", "not_found"), True
                if method == "PUT":
                    preference.update({k: v for k, v in sent.items() if k not in ("id", "init_point", "collector_id")})
                return (200, preference), True
            if method == "POST" and path == "/preapproval":
                return self._replayed(
                    token, idempotency, fingerprint, lambda: self._create_preapproval(account, sent)
                ), True
            if parts[0] == "preapproval" and len(parts) == 2:
                preapproval = account.preapprovals.get(parts[1])
                if preapproval is None:
                    return mp_error(404, "preapproval not found", "not_found"), True
                if method == "PUT":
                    self._update_preapproval(account, preapproval, sent)
                return (200, preapproval), True
            if parts[0] == "authorized_payments" and len(parts) == 2 and method == "GET":
                authorized = account.authorized_payments.get(parts[1])
                if authorized is None:
                    return mp_error(404, "authorized payment not found", "not_found"), True
                return (200, authorized), True
            if parts[:2] == ["v1", "payments"] and len(parts) == 3 and method == "GET":
                payment = account.payments.get(parts[2])
                if payment is None:
                    return mp_error(404, f"Payment not found {parts[2]}", "not_found"), True
                return (200, {k: v for k, v in payment.items() if k != "notification_url"}), True
            if parts[:2] == ["v1", "payments"] and len(parts) == 4 and parts[3] == "refunds" and method == "POST":
                if not idempotency:
                    return mp_error(400, "the header X-Idempotency-Key is required"), True

                def create() -> Reply:
                    reply, hooks = self._refund(account, parts[2], sent.get("amount"))
                    self._queue(hooks, wait=False)
                    return reply

                return self._replayed(token, idempotency, fingerprint, create), True
        return mp_error(404, f"resource {method} {path} not found", "not_found"), True

    def _dashboard_refund(self, payment_id: str, options: dict[str, Any]) -> Reply:
        with self._lock:
            account = next((a for a in self.accounts.values() if payment_id in a.payments), None)
            if account is None:
                return mp_error(404, f"Payment {payment_id} not found", "not_found")
            reply, hooks = self._refund(account, payment_id, options.get("amount"))
        if reply[0] >= 300:
            return reply
        return 201, {"refund": reply[1], "webhooks": self._queue(hooks, int(options.get("duplicates") or 1))}

    def _checkout_page(self, method: str, preference_id: str) -> Reply:
        try:
            _, preference = self._find_preference(preference_id)
        except KeyError:
            return 404, Html("<!doctype html><p>No such checkout</p>")
        if method == "POST":
            status, answer = self._pay(preference_id, {})
            if status >= 300:
                return status, Html(f"<!doctype html><p id='error'>{answer['message']}</p>")
        item = preference["items"][0]
        amount = f"{Decimal(str(item['unit_price'])) * int(item['quantity']):.2f} {item['currency_id']}"
        state = "expired" if self._expired(preference) else "open"
        action = f"/checkout/v1/redirect?pref_id={preference_id}"
        return 200, checkout_page("Mercado Pago (fake)", amount, action, state)
