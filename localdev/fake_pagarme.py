"""Fake Pagar.me (API v5) on loopback, speaking its wire format (and its traps), for tests and ``make run``.

Same surface as the fake Stripe and MercadoPago (their shared base: ``localdev/fake_payments.py``): ``url``,
``start()``, ``stop()``, ``received`` / ``accepted()``, ``GET /_received``, ``DELETE /_received``, ``POST /_config``
(``failRate``, ``failStatus`` — 429 for Pagar.me's rate limit —, ``failNext``, ``hold``, ``acceptKeys``), ``GET
/_webhooks``, ``POST /_deliver {"reverse"}``. The API lives under ``/core/v5`` (``Settings.pagarme_api_url =
<url>/core/v5``).

**API.** HTTP Basic with the secret key as user and an empty password (``sk_test_…`` / ``sk_…``; anything else, or a
key outside ``acceptKeys``, is a 401). ``POST /orders`` with one ``checkout`` payment → ``{id: or_…, status: pending,
checkouts: [{id: chk_…, payment_url}]}``; ``GET /orders`` (``page``, ``size``), ``GET /orders/{id}``, ``PATCH
/orders/{id}/closed {status}``, ``GET /charges/{id}``, ``DELETE /charges/{id} {amount}`` (a refund: the charge's
``last_transaction`` is it, ``canceled_amount`` grows). ``Idempotency-Key`` replays the first answer (another body
with it is a 409). Customers: an order's ``customer`` becomes a customer of the account (``cus_…``; a new one for each
order: the same email gives several); ``GET /customers`` (``email``, ``page``, ``size``), ``GET /customers/{id}``,
``PUT /customers/{id}`` (replaces the customer: what is not sent is gone; ``name`` required, ``email`` must be an
address, ``type`` individual|company: else a 422). There is no ``DELETE /customers/{id}`` (a 404, as at Pagar.me).

**Paying.** The checkout page is ``/c/<checkout id>``; ``POST`` to it (its Pay button) pays, as ``POST
/_pay/<order id>`` does with a JSON body: ``status`` (``paid``, default, or ``failed``), ``amount`` (cents: pay
another amount than asked), ``customer`` (what the payer typed on the checkout page: ``name``, ``document``,
``phones``… merged into the order's customer), ``events`` (the webhooks to send, default ``["charge.paid",
"order.paid"]`` — Pagar.me sends both), ``duplicates`` (deliver each that many times at once). A dashboard refund:
``POST /_refund/<charge id> {"amount"?}``.

**Webhooks** go to each URL registered for the account (``add_webhook`` or ``POST /_accounts {secretKey, url, user,
password}``) as ``{id: hook_…, account, type, created_at, data}`` with ``Authorization: Basic <user:password>`` (the
login set in Pagar.me's dashboard). Refunds send ``charge.refunded`` (all of it) or ``charge.partial_canceled``.

**Traps kept.** Amounts are integer cents (a decimal amount is a 422); a checkout is paid once (paying a paid,
closed or expired order is refused); ``expires_in`` is minutes; a refund over what is left is refused; the payment's
id (the charge) is not the order's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from localdev.fake_base import basic_credentials
from localdev.fake_payments import Html, PaymentFake, Reply, Webhook, checkout_page

__all__ = ["FakePagarme"]

_PREFIX = "/core/v5"
_METHODS = frozenset({"credit_card", "pix", "boleto", "debit_card"})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12).replace('-', 'x').replace('_', 'y')}"


def _error(status: int, message: str, errors: dict[str, list[str]] | None = None) -> Reply:
    return status, {"message": message, **({"errors": errors} if errors else {})}


@dataclass
class _Account:
    key: str
    id: str
    webhooks: list[dict[str, str]] = field(default_factory=list)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakePagarme(PaymentFake[_Account]):
    """Pagar.me v5's orders with a hosted checkout, charges, refunds, and its Basic-authenticated webhooks."""

    kind = "pagarme"

    @property
    def api_url(self) -> str:
        """What ``BTRIX_PAGARME_API_URL`` is set to."""
        return self.url + _PREFIX

    # --- python helpers for tests and make run ---------------------------------------------------------------

    def add_webhook(self, secret_key: str, url: str, user: str, password: str) -> None:
        """Register a webhook of ``secret_key``'s account (Pagar.me's dashboard), with its Basic login."""
        with self._lock:
            self._account(secret_key).webhooks.append({"url": url, "user": user, "password": password})

    def pay(self, order_id: str, **options: Any) -> dict[str, Any]:
        """Pay an order's checkout as a customer would (see ``_pay`` in the module docstring)."""
        status, answer = self._pay(order_id, options)
        if status >= 300:
            raise ValueError(answer)
        return dict(answer)

    def customers(self, secret_key: str) -> list[dict[str, Any]]:
        """The account's customers as the fake holds them."""
        with self._lock:
            copied: list[dict[str, Any]] = json.loads(json.dumps(list(self._account(secret_key).customers.values())))
            return copied

    def order(self, order_id: str) -> dict[str, Any]:
        """An order as the fake holds it."""
        with self._lock:
            copied: dict[str, Any] = json.loads(json.dumps(self._find("orders", order_id)[1]))
            return copied

    def refund(self, charge_id: str, **options: Any) -> dict[str, Any]:
        """A refund made in Pagar.me's dashboard (its webhook sent as for an API refund)."""
        status, answer = self._dashboard_refund(charge_id, options)
        if status >= 300:
            raise ValueError(answer)
        return dict(answer)

    # --- internals ---------------------------------------------------------------------------------------------

    def _new_account(self, key: str) -> _Account:
        return _Account(key, _id("acc"))

    def _idempotency_refusal(self) -> Reply:
        return _error(409, "The Idempotency-Key was used with another request")

    def _outage(self) -> Any:
        return {"message": "An error has occurred. Please try again later."}

    def _events(self, account: _Account, event_type: str, data: dict[str, Any]) -> list[Webhook]:
        hook_id = _id("hook")
        body = json.dumps(
            {
                "id": hook_id,
                "account": {"id": account.id, "name": "Loja (fake)"},
                "type": event_type,
                "created_at": _now(),
                "data": json.loads(json.dumps(data)),
            }
        ).encode()
        hooks = []
        for webhook in account.webhooks:
            login = base64.b64encode(f"{webhook['user']}:{webhook['password']}".encode()).decode()

            def headers(login: str = login) -> dict[str, str]:
                return {"Content-Type": "application/json", "Authorization": f"Basic {login}"}

            hooks.append(Webhook(hook_id, webhook["url"], body, headers))
        return hooks

    @staticmethod
    def _whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value > 0

    def _create_order(self, account: _Account, sent: dict[str, Any]) -> Reply:
        items = sent.get("items")
        if not isinstance(items, list) or not items:
            return _error(422, "The request is invalid.", {"order.items": ["The items field is required."]})
        for i, item in enumerate(items):
            if not self._whole(item.get("amount")) or not item.get("description"):
                return _error(422, "The request is invalid.", {f"order.items[{i}].amount": ["integer cents > 0"]})
        payments = sent.get("payments")
        if not isinstance(payments, list) or len(payments) != 1 or payments[0].get("payment_method") != "checkout":
            return _error(422, "The request is invalid.", {"order.payments": ["one checkout payment expected"]})
        checkout = payments[0].get("checkout") or {}
        methods = checkout.get("accepted_payment_methods") or []
        if not methods or not set(methods) <= _METHODS:
            return _error(422, "The request is invalid.", {"checkout.accepted_payment_methods": [str(methods)]})
        if not self._whole(checkout.get("expires_in")):
            return _error(422, "The request is invalid.", {"checkout.expires_in": ["minutes, an integer > 0"]})
        amount = sum(int(i["amount"]) * int(i.get("quantity") or 1) for i in items)
        if payments[0].get("amount") not in (None, amount):
            return _error(422, "The request is invalid.", {"order.payments[0].amount": ["differs from the items"]})
        order_id, checkout_id = _id("or"), _id("chk")
        expires = datetime.now(UTC) + timedelta(minutes=int(checkout["expires_in"]))
        order = {
            "id": order_id,
            "code": sent.get("code") or order_id,
            "amount": amount,
            "currency": "BRL",
            "closed": False,
            "status": "pending",
            "items": [{**item, "id": _id("oi"), "status": "active"} for item in items],
            "customer": self._new_customer(account, sent.get("customer")),
            "metadata": dict(sent.get("metadata") or {}),
            "created_at": _now(),
            "updated_at": _now(),
            "checkouts": [
                {
                    "id": checkout_id,
                    "amount": amount,
                    "status": "open",
                    "payment_url": f"{self.url}/c/{checkout_id}",
                    "success_url": checkout.get("success_url"),
                    "accepted_payment_methods": methods,
                    "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            ],
            "charges": [],
        }
        with self._lock:
            account.orders[order_id] = order
        return 200, order

    @staticmethod
    def _new_customer(account: _Account, given: Any) -> dict[str, Any] | None:
        if not isinstance(given, dict):
            return None
        customer = {**given, "id": _id("cus"), "created_at": _now(), "updated_at": _now()}
        account.customers[customer["id"]] = customer
        return customer

    @staticmethod
    def _replace_customer(customer: dict[str, Any], sent: dict[str, Any]) -> Reply:
        errors: dict[str, list[str]] = {}
        if not str(sent.get("name") or "").strip():
            errors["customer.name"] = ["The name field is required."]
        email = str(sent.get("email") or "")
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            errors["customer.email"] = ["The field email must be a valid email address."]
        if sent.get("type") not in ("individual", "company"):
            errors["customer.type"] = ["The type field must be individual or company."]
        if errors:
            return _error(422, "The request is invalid.", errors)
        kept = {"id": customer["id"], "created_at": customer["created_at"]}
        customer.clear()
        customer.update({**sent, **kept, "updated_at": _now()})
        return 200, dict(customer)

    @staticmethod
    def _expired(order: dict[str, Any]) -> bool:
        checkout = order["checkouts"][0]
        return datetime.fromisoformat(checkout["expires_at"].replace("Z", "+00:00")) <= datetime.now(UTC)

    def _pay(self, order_id: str, options: dict[str, Any]) -> Reply:
        try:
            account, order = self._find("orders", order_id)
        except KeyError:
            return _error(404, f"Order {order_id} not found")
        with self._lock:
            if order["closed"] or order["checkouts"][0]["status"] != "open":
                return _error(400, f"The checkout of order {order_id} is {order['status']}: it cannot be paid again")
            if self._expired(order):
                return _error(400, f"The checkout of order {order_id} expired")
            paid = str(options.get("status") or "paid") == "paid"
            cents = int(options.get("amount") or order["amount"])
            if isinstance(options.get("customer"), dict) and order.get("customer"):
                customer = account.customers.get(str(order["customer"]["id"]))
                if customer is not None:
                    customer.update({**options["customer"], "updated_at": _now()})
                    order["customer"] = dict(customer)
            charge_id = _id("ch")
            transaction = {
                "id": _id("tran"),
                "transaction_type": "pix",
                "amount": cents,
                "status": "paid" if paid else "failed",
                "success": paid,
                "created_at": _now(),
            }
            charge = {
                "id": charge_id,
                "code": order["code"],
                "amount": order["amount"],
                "paid_amount": cents if paid else 0,
                "canceled_amount": 0,
                "status": "paid" if paid else "failed",
                "currency": "BRL",
                "payment_method": "pix",
                "paid_at": _now() if paid else None,
                "created_at": _now(),
                "updated_at": _now(),
                "order": {"id": order_id, "code": order["code"], "status": "paid" if paid else "failed"},
                "last_transaction": transaction,
            }
            account.charges[charge_id] = charge
            order["charges"].append({k: v for k, v in charge.items() if k != "order"})
            order["status"] = "paid" if paid else "failed"
            order["closed"] = True
            order["checkouts"][0]["status"] = "closed"
            order["updated_at"] = _now()
            default = ["charge.paid", "order.paid"] if paid else ["charge.payment_failed", "order.payment_failed"]
            hooks = []
            for event in options.get("events") or default:
                data = charge if str(event).startswith("charge.") else order
                hooks.extend(self._events(account, str(event), data))
        sent = self._queue(hooks, int(options.get("duplicates") or 1))
        return 200, {"order": self.order(order_id), "charge": dict(charge), "webhooks": sent}

    def _refund(self, account: _Account, charge_id: str, amount: Any) -> tuple[Reply, list[Webhook]]:
        charge = account.charges.get(charge_id)
        if charge is None:
            return _error(404, f"Charge {charge_id} not found"), []
        if charge["status"] not in ("paid",):
            return _error(400, f"Charge {charge_id} is {charge['status']}: it cannot be refunded"), []
        left = int(charge["paid_amount"]) - int(charge["canceled_amount"])
        if amount is not None and not self._whole(amount):
            return _error(422, "The request is invalid.", {"amount": ["integer cents > 0"]}), []
        cents = left if amount is None else int(amount)
        if cents > left:
            return _error(400, f"The amount {cents} is more than the {left} that can be refunded"), []
        charge["canceled_amount"] += cents
        full = charge["canceled_amount"] == charge["paid_amount"]
        charge["last_transaction"] = {
            "id": _id("tran"),
            "transaction_type": "pix",
            "amount": cents,
            "status": "refunded",
            "success": True,
            "created_at": _now(),
        }
        if full:
            charge["status"] = "canceled"
            charge["canceled_at"] = _now()
        charge["updated_at"] = _now()
        order = account.orders[charge["order"]["id"]]
        order["charges"] = [
            {k: v for k, v in charge.items() if k != "order"} if c["id"] == charge_id else c for c in order["charges"]
        ]
        event = "charge.refunded" if full else "charge.partial_canceled"
        return (200, dict(charge)), self._events(account, event, charge)

    def _dashboard_refund(self, charge_id: str, options: dict[str, Any]) -> Reply:
        with self._lock:
            try:
                account, _ = self._find("charges", charge_id)
            except KeyError:
                return _error(404, f"Charge {charge_id} not found")
            reply, hooks = self._refund(account, charge_id, options.get("amount"))
        if reply[0] >= 300:
            return reply
        return 200, {"charge": reply[1], "webhooks": self._queue(hooks, int(options.get("duplicates") or 1))}

    def _close(self, account: _Account, order: dict[str, Any], status: str) -> tuple[Reply, list[Webhook]]:
        if status not in ("canceled", "failed", "paid"):
            return _error(422, "The request is invalid.", {"status": ["canceled, failed or paid"]}), []
        if order["status"] == "paid":
            return _error(400, f"Order {order['id']} is paid: it cannot be closed as {status}"), []
        if order["closed"]:
            return (200, order), []
        order.update(status=status, closed=True, updated_at=_now())
        order["checkouts"][0]["status"] = "canceled"
        return (200, order), self._events(account, f"order.{status}", order)

    def _authorized(self, headers: dict[str, str]) -> str | None:
        key = (basic_credentials(headers) or ("", ""))[0]
        if not key.startswith("sk_") or len(key) < 20 or not self._key_accepted(key):
            return None
        return key

    def _route(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> tuple[Reply, bool]:
        parts = path.strip("/").split("/")
        if parts[0] == "c" and len(parts) == 2:
            return self._checkout_page(method, parts[1]), False
        if parts[0] == "_pay" and len(parts) == 2 and method == "POST":
            return self._pay(parts[1], json.loads(body or b"{}")), False
        if parts[0] == "_refund" and len(parts) == 2 and method == "POST":
            return self._dashboard_refund(parts[1], json.loads(body or b"{}")), False
        if path == "/_accounts" and method == "POST":
            given = json.loads(body or b"{}")
            self.add_webhook(str(given["secretKey"]), str(given["url"]), str(given["user"]), str(given["password"]))
            return (200, {"ok": True}), False
        if not path.startswith(_PREFIX + "/"):
            return _error(404, f"No HTTP resource was found that matches {path}"), True
        key = self._authorized(headers)
        if key is None:
            return _error(401, "Authorization has been denied for this request."), True
        account = self._account(key)
        sent: dict[str, Any] = {}
        if body:
            try:
                decoded = json.loads(body)
            except ValueError:
                return _error(400, "The request body is not JSON"), True
            sent = decoded if isinstance(decoded, dict) else {}
        api = parts[2:]  # after core/v5
        idempotency = headers.get("idempotency-key")
        fingerprint = hashlib.sha256(body).hexdigest()
        with self._lock:
            if api == ["orders"] and method == "POST":
                return self._replayed(key, idempotency, fingerprint, lambda: self._create_order(account, sent)), True
            if api == ["orders"] and method == "GET":
                size = max(1, min(30, int(query.get("size") or 10)))
                listed = list(account.orders.values())[-size:]
                return (200, {"data": listed, "paging": {"total": len(account.orders)}}), True
            if len(api) >= 2 and api[0] == "orders":
                order = account.orders.get(api[1])
                if order is None:
                    return _error(404, f"Order {api[1]} not found"), True
                if len(api) == 2 and method == "GET":
                    return (200, order), True
                if api[2:] == ["closed"] and method == "PATCH":
                    reply, hooks = self._close(account, order, str(sent.get("status") or ""))
                    self._queue(hooks, wait=False)
                    return reply, True
            if api == ["customers"] and method == "GET":
                email = query.get("email")
                size = max(1, min(30, int(query.get("size") or 10)))
                page = max(1, int(query.get("page") or 1))
                matching = [c for c in account.customers.values() if email is None or c.get("email") == email]
                shown = matching[(page - 1) * size : page * size]
                return (200, {"data": shown, "paging": {"total": len(matching)}}), True
            if len(api) == 2 and api[0] == "customers":
                customer = account.customers.get(api[1])
                if customer is None:
                    return _error(404, f"Customer {api[1]} not found"), True
                if method == "GET":
                    return (200, dict(customer)), True
                if method == "PUT":
                    return self._replace_customer(customer, sent), True
            if len(api) == 2 and api[0] == "charges":
                charge = account.charges.get(api[1])
                if charge is None:
                    return _error(404, f"Charge {api[1]} not found"), True
                if method == "GET":
                    return (200, charge), True
                if method == "DELETE":

                    def create() -> Reply:
                        reply, hooks = self._refund(account, api[1], sent.get("amount"))
                        self._queue(hooks, wait=False)
                        return reply

                    return self._replayed(key, idempotency, fingerprint, create), True
        return _error(404, f"No HTTP resource was found that matches {method} {path}"), True

    def _checkout_page(self, method: str, checkout_id: str) -> Reply:
        with self._lock:
            orders = [o for a in self.accounts.values() for o in a.orders.values()]
            found = next((o for o in orders if o["checkouts"][0]["id"] == checkout_id), None)
        if found is None:
            return 404, Html("<!doctype html><p>No such checkout</p>")
        if method == "POST":
            status, answer = self._pay(str(found["id"]), {})
            if status >= 300:
                return status, Html(f"<!doctype html><p id='error'>{answer['message']}</p>")
        order = self.order(str(found["id"]))
        state = order["checkouts"][0]["status"]
        state = "expired" if state == "open" and self._expired(order) else state
        amount = f"{order['amount'] / 100:.2f} BRL"
        return 200, checkout_page("Pagar.me (fake)", amount, f"/c/{checkout_id}", state)
