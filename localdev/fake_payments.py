"""Fake Stripe and MercadoPago on loopback, speaking their wire formats (and their traps), for tests and ``make run``.

Same surface as ``localdev.fakes.FakeProvider``: ``url``, ``start()``, ``stop()``, ``received`` / ``accepted()``,
``GET /_received`` (every API request with the status it got), ``DELETE /_received``, and ``POST /_config``
(``failRate``, ``failStatus``, ``failNext``: API calls that fail with a 5xx; ``hold``: keep webhooks instead of
sending them; ``acceptKeys``: the only good keys/tokens, ``null`` for any well-formed one).

**Paying.** Each fake serves a hosted checkout page at the URL it gave (Stripe ``/c/pay/<session id>``,
MercadoPago ``/checkout/v1/redirect?pref_id=<id>``); ``POST`` to that URL (the page's Pay button, or curl) pays
it, as ``POST /_pay/<session or preference id>`` does. ``_pay`` takes a JSON body: ``amount`` (pay another amount
than asked: a mismatch), Stripe ``outcome`` (``paid``; ``processing`` for an asynchronous method, then
``async_succeeded`` / ``async_failed`` on the same session), MercadoPago ``status`` (``approved``, ``rejected``,
``pending``) and ``actions`` (the notifications to send, default ``["payment.created"]``), and for both
``duplicates`` (deliver each webhook that many times at once). The answer lists the webhooks sent and the status
each delivery got. A dashboard refund: ``POST /_refund/<payment intent or payment id> {"amount"?}``.

**Webhooks** are signed as the providers sign them: Stripe ``Stripe-Signature: t=…,v1=<hex HMAC-SHA256 of
"<t>.<body>">`` with the endpoint's secret, to every endpoint made with ``POST /v1/webhook_endpoints`` for that
key; MercadoPago ``POST <notification_url>&data.id=…&type=payment`` with ``x-signature: ts=…,v1=…`` over
``id:<data.id>;request-id:<x-request-id>;ts:<ts>;`` with the account's secret (``POST /_accounts
{"accessToken", "webhookSecret"}``; a token never registered signs with ``DEFAULT_MERCADOPAGO_SECRET``). With
``hold`` on, webhooks wait in a queue until ``POST /_deliver {"reverse": true}`` sends them (out of order when
reversed). ``GET /_webhooks`` lists every webhook and what each delivery got.

**Traps kept.** Stripe refuses ``expires_at`` outside 30 minutes to 24 hours from now and expiring a session
that is not open; an ``Idempotency-Key`` replays the first answer (another body with it is a 400). A MercadoPago
preference can be paid more than once (only its ``expiration_date_to`` stops it); refunds require
``X-Idempotency-Key``; amounts are JSON numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import random
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import httpx

from chalicelib.inbound.bitrix24 import nest_form
from localdev.fakes import LoopbackFake

__all__ = ["DEFAULT_MERCADOPAGO_SECRET", "FakeMercadoPago", "FakeStripe", "stripe_signature"]

DEFAULT_MERCADOPAGO_SECRET = "fake-mercadopago-webhook-secret-0001"
Reply = tuple[int, Any]
_HTML = "text/html; charset=utf-8"


def stripe_signature(secret: str, body: bytes, at: int | None = None) -> str:
    """``Stripe-Signature`` of ``body``: ``t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    t = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def mercadopago_signature(secret: str, data_id: str, request_id: str, at: int | None = None) -> str:
    """``x-signature`` of a notification about ``data_id``: ``ts=<ms>,v1=<hex HMAC-SHA256 of the manifest>``."""
    ts = str(int(time.time() * 1000) if at is None else at)
    signed_id = data_id.lower() if data_id.isalnum() else data_id
    manifest = f"id:{signed_id};request-id:{request_id};ts:{ts};"
    return f"ts={ts},v1={hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()}"


@dataclass
class _Webhook:
    """One webhook the fake sends (and, with duplicates, sends again)."""

    id: str
    url: str
    body: bytes
    headers: Any  # a callable making fresh headers per delivery (MercadoPago signs each delivery anew)
    deliveries: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Html:
    """An HTML answer (the hosted checkout pages)."""

    text: str


class _PaymentFake(LoopbackFake):
    """What both fakes share: failure injection, idempotency replays, webhooks sent at once, held or duplicated."""

    kind = "payments"

    def __init__(self, port: int, name: str, seed: int | None) -> None:
        self.fail_rate = 0.0
        self.fail_status = 503
        self.fail_next = 0
        self.hold = False
        self.accept_keys: set[str] | None = None
        self.received: list[dict[str, Any]] = []
        self.webhooks: list[_Webhook] = []
        self._held: list[_Webhook] = []
        self._replays: dict[tuple[str, str], tuple[str, Reply]] = {}
        self._random = random.Random(seed)  # noqa: S311 - failure injection, not security
        self._lock = threading.RLock()
        self._http = httpx.Client(timeout=30)
        self._listen(port, self._handler(), name)

    def stop(self) -> None:
        """Stop serving and close the webhook client."""
        super().stop()
        self._http.close()

    # --- configuration and failures ------------------------------------------------------------------------------

    def _configure(self, config: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.fail_rate = float(config.get("failRate", self.fail_rate))
            self.fail_status = int(config.get("failStatus", self.fail_status))
            self.fail_next = int(config.get("failNext", self.fail_next))
            self.hold = bool(config.get("hold", self.hold))
            if "acceptKeys" in config:
                keys = config["acceptKeys"]
                self.accept_keys = None if keys is None else {str(k) for k in keys}
            return {
                "failRate": self.fail_rate,
                "failStatus": self.fail_status,
                "failNext": self.fail_next,
                "hold": self.hold,
                "acceptKeys": None if self.accept_keys is None else sorted(self.accept_keys),
            }

    def _failing(self) -> bool:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return True
            return self._random.random() < self.fail_rate

    def _key_accepted(self, key: str) -> bool:
        with self._lock:
            return self.accept_keys is None or key in self.accept_keys

    def _replayed(self, account: str, key: str | None, fingerprint: str, create: Any) -> Reply:
        """Answer ``create()`` once per idempotency key; the same key with another request is refused."""
        if not key:
            reply: Reply = create()
            return reply
        with self._lock:
            seen = self._replays.get((account, key))
            if seen is not None:
                if seen[0] != fingerprint:
                    return self._idempotency_refusal()
                return seen[1]
            reply = create()
            if reply[0] < 500:
                self._replays[(account, key)] = (fingerprint, reply)
            return reply

    def _idempotency_refusal(self) -> Reply:
        raise NotImplementedError

    # --- webhooks ------------------------------------------------------------------------------------------------

    def _queue(self, hooks: list[_Webhook], duplicates: int = 1, *, wait: bool = True) -> list[dict[str, Any]]:
        """Send ``hooks`` now (each ``duplicates`` times at once), or keep them while ``hold`` is on. Without
        ``wait`` they leave from a background thread, after the API call that caused them has answered, as the
        providers' webhooks do."""
        with self._lock:
            self.webhooks.extend(hooks)
            if self.hold:
                self._held.extend(hooks)
                return [{"id": hook.id, "held": True} for hook in hooks]
        if not wait:
            threading.Thread(target=lambda: [self._send(h, duplicates) for h in hooks], daemon=True).start()
            return [{"id": hook.id, "sending": True} for hook in hooks]
        return [self._send(hook, duplicates) for hook in hooks]

    def _send(self, hook: _Webhook, times: int = 1) -> dict[str, Any]:
        def deliver(_: int) -> dict[str, Any]:
            headers = hook.headers()
            try:
                response = self._http.post(hook.url, content=hook.body, headers=headers)
                outcome: dict[str, Any] = {"status": response.status_code, "body": response.text[:500]}
            except httpx.HTTPError as exc:
                outcome = {"status": None, "error": type(exc).__name__}
            with self._lock:
                hook.deliveries.append(outcome)
            return outcome

        with ThreadPoolExecutor(max_workers=max(1, times)) as pool:
            outcomes = list(pool.map(deliver, range(max(1, times))))
        return {"id": hook.id, "url": hook.url, "deliveries": outcomes}

    def _deliver_held(self, reverse: bool) -> list[dict[str, Any]]:
        with self._lock:
            hooks, self._held = self._held, []
        return [self._send(hook) for hook in (reversed(hooks) if reverse else hooks)]

    def _webhook_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"id": h.id, "url": h.url, "body": json.loads(h.body), "deliveries": list(h.deliveries)}
                for h in self.webhooks
            ]

    # --- HTTP ----------------------------------------------------------------------------------------------------

    def _route(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]
    ) -> tuple[Reply, bool]:
        """(the answer, whether it was an API call that failure injection may hit)."""
        raise NotImplementedError

    def _answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Reply:
        parts = urlsplit(target)
        path = parts.path
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if path == "/_config" and method == "POST":
            return 200, self._configure(json.loads(body or b"{}"))
        if path == "/_received":
            with self._lock:
                if method == "DELETE":
                    self.received.clear()
                return 200, {"received": list(self.received)}
        if path == "/_webhooks":
            return 200, {"webhooks": self._webhook_log()}
        if path == "/_deliver" and method == "POST":
            return 200, {"sent": self._deliver_held(bool(json.loads(body or b"{}").get("reverse")))}
        api = not path.startswith("/_") and not path.startswith(("/c/", "/checkout/v1/"))
        if api and self._failing():
            reply: Reply = (self.fail_status, self._outage())
        else:
            reply, _ = self._route(method, path, query, body, headers)
        if api:
            content_type = headers.get("content-type", "")
            shown: Any = {"bytes": len(body)}
            if "json" in content_type and body:
                shown = json.loads(body)
            elif "x-www-form-urlencoded" in content_type:
                shown = nest_form(parse_qsl(body.decode(), keep_blank_values=True))
            entry = {"method": method, "path": path, "status": reply[0], "body": shown, "headers": headers}
            with self._lock:
                self.received.append(entry)
        return reply

    def _outage(self) -> Any:
        raise NotImplementedError

    def _respond(
        self, method: str, target: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        status, answer = self._answer(method, target, body, headers)
        if isinstance(answer, _Html):
            return status, answer.text.encode(), {"Content-Type": _HTML}
        return status, json.dumps(answer, default=_json_number).encode(), {"Content-Type": "application/json"}


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # MercadoPago's amounts are JSON numbers
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _checkout_page(title: str, amount: str, action: str, state: str) -> _Html:
    button = (
        f'<form method="post" action="{action}"><button id="pay" type="submit">Pay {amount}</button></form>'
        if state == "open"
        else f'<p id="state">{state}</p>'
    )
    return _Html(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p id='amount'>{amount}</p>{button}</body></html>"
    )


# --- Stripe --------------------------------------------------------------------------------------------------------

_STRIPE_LOCALES = frozenset({"auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil"})
_STRIPE_LOCALES |= frozenset({"fr", "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl"})
_STRIPE_LOCALES |= frozenset({"pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK"})
_MIN_EXPIRY_S = 30 * 60
_MAX_EXPIRY_S = 24 * 3600


def _stripe_error(status: int, message: str, param: str | None = None, kind: str = "invalid_request_error") -> Reply:
    error: dict[str, Any] = {"type": kind, "message": message}
    if param:
        error["param"] = param
    if kind == "invalid_request_error" and param:
        error["code"] = "parameter_invalid"
    return status, {"error": error}


@dataclass
class _StripeAccount:
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


class FakeStripe(_PaymentFake):
    """Stripe's API (accounts by secret key, webhook endpoints, Checkout Sessions, payment intents, refunds)."""

    kind = "stripe"

    def __init__(self, port: int = 0, seed: int | None = None) -> None:
        self.accounts: dict[str, _StripeAccount] = {}
        super().__init__(port, "fake-stripe", seed)

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

    # --- internals ---------------------------------------------------------------------------------------------

    def _account(self, key: str) -> _StripeAccount:
        with self._lock:
            account = self.accounts.get(key)
            if account is None:
                account = self.accounts[key] = _StripeAccount(key, "acct_" + secrets.token_hex(8))
            return account

    def _find(self, kind: str, object_id: str) -> tuple[_StripeAccount, dict[str, Any]]:
        with self._lock:
            for account in self.accounts.values():
                found = getattr(account, kind).get(object_id)
                if found is not None:
                    return account, found
        raise KeyError(object_id)

    def _idempotency_refusal(self) -> Reply:
        message = "Keys for idempotent requests can only be used with the same parameters they were first used with."
        return _stripe_error(400, message, kind="idempotency_error")

    def _outage(self) -> Any:
        return {"error": {"type": "api_error", "message": "An unknown error occurred"}}

    def _event(self, account: _StripeAccount, event_type: str, obj: dict[str, Any]) -> list[_Webhook]:
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

            hooks.append(_Webhook(str(event["id"]), str(endpoint["url"]), body, headers))
        return hooks

    def _create_endpoint(self, account: _StripeAccount, form: dict[str, Any]) -> Reply:
        url = str(form.get("url") or "")
        if not url.startswith(("http://", "https://")):
            return _stripe_error(400, "Invalid URL", "url")
        events = form.get("enabled_events") or []
        if isinstance(events, dict):
            events = list(events.values())
        if not events:
            return _stripe_error(400, "Missing required param: enabled_events.", "enabled_events")
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

    def _create_session(self, account: _StripeAccount, form: dict[str, Any]) -> Reply:
        if form.get("mode") not in ("payment", "subscription", "setup"):
            return _stripe_error(400, "Missing required param: mode.", "mode")
        items = form.get("line_items") or []
        if isinstance(items, dict):
            items = list(items.values())
        if not items:
            return _stripe_error(400, "Missing required param: line_items.", "line_items")
        total, currency = 0, None
        for i, item in enumerate(items):
            price = item.get("price_data") or {}
            if item.get("price"):
                known = account.prices.get(str(item["price"]))
                if known is None:
                    return _stripe_error(400, f"No such price: '{item['price']}'", f"line_items[{i}][price]")
                if (form["mode"] == "subscription") != bool(known.get("recurring")):
                    return _stripe_error(400, "Subscription mode needs recurring prices", f"line_items[{i}][price]")
                price = {
                    "unit_amount": known["unit_amount"],
                    "currency": known["currency"],
                    "product_data": {"name": "p"},
                }
            try:
                unit, quantity = int(price["unit_amount"]), int(item.get("quantity") or 0)
            except (KeyError, ValueError):
                return _stripe_error(400, "Invalid integer", f"line_items[{i}][price_data][unit_amount]")
            if quantity < 1 or unit < 0 or not (price.get("product_data") or {}).get("name"):
                return _stripe_error(400, "Invalid line item", f"line_items[{i}]")
            total += unit * quantity
            currency = str(price.get("currency") or "").lower()
        if not form.get("success_url"):
            return _stripe_error(400, "Missing required param: success_url.", "success_url")
        now = int(time.time())
        expires_at = int(form.get("expires_at") or now + _MAX_EXPIRY_S)
        if not now + _MIN_EXPIRY_S - 5 <= expires_at <= now + _MAX_EXPIRY_S + 5:
            message = (
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation."
            )
            return _stripe_error(400, message, "expires_at")
        locale = form.get("locale")
        if locale is not None and locale not in _STRIPE_LOCALES:
            return _stripe_error(400, f"Invalid locale: {locale}", "locale")
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

    @staticmethod
    def _shown_session(session: dict[str, Any]) -> dict[str, Any]:
        hidden = ("payment_intent_data", "subscription_data", "line_items")
        shown = {k: v for k, v in session.items() if k not in hidden}
        if session["status"] == "open" and session["expires_at"] < time.time():
            shown["status"] = "expired"
        return shown

    def _expire(self, account: _StripeAccount, session: dict[str, Any]) -> Reply:
        with self._lock:
            if self._shown_session(session)["status"] != "open":
                message = f"Only Checkout Sessions with a status of `open` can be expired, not `{session['status']}`."
                return _stripe_error(400, message)
            session["status"] = "expired"
            hooks = self._event(account, "checkout.session.expired", self._shown_session(session))
        self._queue(hooks, wait=False)
        return 200, self._shown_session(session)

    def _pay(self, session_id: str, options: dict[str, Any]) -> Reply:
        try:
            account, session = self._find("sessions", session_id)
        except KeyError:
            return _stripe_error(404, f"No such checkout.session: '{session_id}'", "session")
        outcome = str(options.get("outcome") or "paid")
        duplicates = int(options.get("duplicates") or 1)
        with self._lock:
            state = self._shown_session(session)["status"]
            if outcome in ("async_succeeded", "async_failed"):
                if session["status"] != "complete" or session["payment_status"] != "unpaid":
                    return _stripe_error(400, "This session has no payment processing")
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
                    return _stripe_error(400, f"This Checkout Session is {state}: it cannot be paid.")
                hooks = self._start_subscription(account, session)
            else:
                if state != "open":
                    return _stripe_error(400, f"This Checkout Session is {state}: it cannot be paid.")
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

    def _capture(self, account: _StripeAccount, session: dict[str, Any], intent: dict[str, Any]) -> None:
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

    def _refund(self, account: _StripeAccount, form: dict[str, Any]) -> tuple[Reply, list[_Webhook]]:
        intent = account.intents.get(str(form.get("payment_intent") or ""))
        if intent is None or intent.get("latest_charge") is None:
            return _stripe_error(400, "No such payment_intent or it has no successful charge", "payment_intent"), []
        charge = account.charges[str(intent["latest_charge"])]
        remaining = int(charge["amount"]) - int(charge["amount_refunded"])
        amount = int(form["amount"]) if form.get("amount") not in (None, "") else remaining
        if amount < 1 or amount > remaining:
            message = f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"
            return _stripe_error(400, message, "amount"), []
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
                _Html("<!doctype html><title>Customer portal (fake)</title><p>Stripe customer portal</p>"),
            ), False
        if parts[0] != "v1":
            return _stripe_error(404, f"Unrecognized request URL ({method}: {path})."), True
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not key.startswith(("sk_", "rk_")) or not self._key_accepted(key):
            return _stripe_error(401, "Invalid API Key provided", kind="invalid_request_error"), True
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
                    return _stripe_error(404, f"No such checkout.session: '{parts[3]}'", "session"), True
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
                    return _stripe_error(404, f"No such subscription: '{parts[2]}'", "id"), True
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
                    return _stripe_error(404, f"No such payment_intent: '{parts[2]}'", "intent"), True
                return (200, intent), True
            if method == "POST" and resource == "refunds":

                def create() -> Reply:
                    reply, hooks = self._refund(account, form)
                    self._queue(hooks, wait=False)
                    return reply

                return self._replayed(key, idempotency, fingerprint, create), True
        return _stripe_error(404, f"Unrecognized request URL ({method}: {path})."), True

    def _dashboard_refund(self, payment_intent: str, options: dict[str, Any]) -> Reply:
        try:
            account, _ = self._find("intents", payment_intent)
        except KeyError:
            return _stripe_error(404, f"No such payment_intent: '{payment_intent}'")
        with self._lock:
            reply, hooks = self._refund(account, {"payment_intent": payment_intent, "amount": options.get("amount")})
        if reply[0] != 200:
            return reply
        return 200, {"refund": reply[1], "webhooks": self._queue(hooks, int(options.get("duplicates") or 1))}

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

    def _create_price(self, account: _StripeAccount, form: dict[str, Any]) -> Reply:
        try:
            unit = int(form["unit_amount"])
        except (KeyError, ValueError):
            return _stripe_error(400, "Missing required param: unit_amount.", "unit_amount")
        if not form.get("currency"):
            return _stripe_error(400, "Missing required param: currency.", "currency")
        lookup = form.get("lookup_key")
        if lookup and any(p.get("lookup_key") == lookup for p in account.prices.values()):
            return _stripe_error(400, f"A price (`{lookup}`) already uses that lookup key.", "lookup_key")
        recurring = form.get("recurring") or None
        if recurring is not None and recurring.get("interval") not in ("day", "week", "month", "year"):
            return _stripe_error(400, "Invalid recurring[interval]", "recurring[interval]")
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

    def _list_prices(self, account: _StripeAccount, query: dict[str, str]) -> Reply:
        wanted = {v for k, v in query.items() if k.startswith("lookup_keys")}
        found = [p for p in account.prices.values() if not wanted or p.get("lookup_key") in wanted]
        return 200, {"object": "list", "url": "/v1/prices", "has_more": False, "data": found}

    def _period(self, subscription: dict[str, Any]) -> tuple[int, int]:
        item = subscription["items"]["data"][0]
        interval = (item["price"].get("recurring") or {}).get("interval", "month")
        start = int(item["current_period_end"]) if item.get("current_period_end") else int(time.time())
        return start, start + (365 if interval == "year" else 30) * 86400

    def _invoice(
        self, account: _StripeAccount, subscription: dict[str, Any], amount: int, start: int, end: int, reason: str
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

    def _charge_invoice(self, account: _StripeAccount, invoice: dict[str, Any], outcome: str) -> list[_Webhook]:
        subscription = account.subscriptions[invoice["parent"]["subscription_details"]["subscription"]]
        invoice["attempt_count"] += 1
        hooks: list[_Webhook] = []
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

    def _start_subscription(self, account: _StripeAccount, session: dict[str, Any]) -> list[_Webhook]:
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
            return _stripe_error(404, f"No such subscription: '{subscription_id}'")
        if subscription.get("cancel_at_period_end"):
            return self._cancel(subscription_id)  # the period ended: a subscription set to cancel ends now
        with self._lock:
            if subscription["status"] == "canceled":
                return _stripe_error(400, "This subscription is canceled")
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
            return _stripe_error(404, f"No such invoice: '{invoice_id}'")
        with self._lock:
            if invoice["status"] != "open":
                return _stripe_error(400, f"Invoice is {invoice['status']}: nothing to pay")
            hooks = self._charge_invoice(account, invoice, str(options.get("outcome") or "paid"))
        return 200, {"invoice": invoice, "webhooks": self._queue(hooks, int(options.get("duplicates") or 1))}

    def _cancel(self, subscription_id: str) -> Reply:
        try:
            account, subscription = self._find("subscriptions", subscription_id)
        except KeyError:
            return _stripe_error(404, f"No such subscription: '{subscription_id}'")
        with self._lock:
            subscription["status"] = "canceled"
            hooks = self._event(account, "customer.subscription.deleted", subscription)
        return 200, {"subscription": subscription, "webhooks": self._queue(hooks)}

    def _update_subscription(
        self, account: _StripeAccount, subscription: dict[str, Any], form: dict[str, Any]
    ) -> Reply:
        items = form.get("items") or {}
        items = list(items.values()) if isinstance(items, dict) else items
        hooks: list[_Webhook] = []
        if items:
            wanted = items[0]
            current = subscription["items"]["data"][0]
            if wanted.get("id") != current["id"]:
                return _stripe_error(400, f"No such subscription item: '{wanted.get('id')}'", "items[0][id]")
            price = account.prices.get(str(wanted.get("price") or ""))
            if price is None:
                return _stripe_error(400, f"No such price: '{wanted.get('price')}'", "items[0][price]")
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

    def _portal_session(self, account: _StripeAccount, form: dict[str, Any]) -> Reply:
        customer = str(form.get("customer") or "")
        if customer not in account.customers:
            return _stripe_error(400, f"No such customer: '{customer}'", "customer")
        session_id = "bps_" + secrets.token_hex(12)
        url = f"{self.url}/p/session/{session_id}"
        return 200, {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": customer,
            "url": url,
            "return_url": form.get("return_url"),
        }

    def _checkout_page(self, method: str, session_id: str) -> Reply:
        try:
            _, session = self._find("sessions", session_id)
        except KeyError:
            return 404, _Html("<!doctype html><p>No such checkout</p>")
        if method == "POST":
            status, answer = self._pay(session_id, {})
            if status != 200:
                return status, _Html(f"<!doctype html><p id='error'>{answer['error']['message']}</p>")
        shown = self._shown_session(session)
        amount = f"{shown['amount_total'] / 100:.2f} {str(shown['currency']).upper()}"
        return 200, _checkout_page("Stripe Checkout (fake)", amount, f"/c/pay/{session_id}", str(shown["status"]))


# --- MercadoPago ----------------------------------------------------------------------------------------------------


def _mp_error(status: int, message: str, error: str = "bad_request") -> Reply:
    return status, {"message": message, "error": error, "status": status, "cause": []}


def _iso(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _mp_now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="milliseconds")


@dataclass
class _MercadoPagoAccount:
    token: str
    user_id: int
    secret: str = DEFAULT_MERCADOPAGO_SECRET
    preferences: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The application's webhook URL (set in MercadoPago's panel): where subscription notifications go.
    notification_url: str | None = None
    preapprovals: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorized_payments: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeMercadoPago(_PaymentFake):
    """MercadoPago's API (Checkout Pro preferences, payments, refunds, users/me) and its notifications."""

    kind = "mercadopago"

    def __init__(self, port: int = 0, seed: int | None = None) -> None:
        self.accounts: dict[str, _MercadoPagoAccount] = {}
        # MercadoPago's ids are unique across its accounts, and the webhook function records each notification id
        # once: a fake started again against the same table (the next test module, make run after a test) must not
        # hand out the same ids, or its notifications are taken for redeliveries.
        start = secrets.randbelow(10**6) * 1000
        self._ids = itertools.count(1_300_000_001 + start)
        self._notification_ids = itertools.count(12_000_000_001 + start)
        super().__init__(port, "fake-mercadopago", seed)

    # --- python helpers for tests and make run ---------------------------------------------------------------

    def set_secret(self, access_token: str, webhook_secret: str) -> None:
        """The secret the account of ``access_token`` signs its notifications with."""
        self._account(access_token).secret = webhook_secret

    def set_notification_url(self, access_token: str, url: str) -> None:
        """The application's webhook URL (MercadoPago's panel): where its subscription notifications go."""
        self._account(access_token).notification_url = url

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

    # --- internals ---------------------------------------------------------------------------------------------

    def _account(self, token: str) -> _MercadoPagoAccount:
        with self._lock:
            account = self.accounts.get(token)
            if account is None:
                account = self.accounts[token] = _MercadoPagoAccount(token, 100_000 + len(self.accounts))
            return account

    def _find_preference(self, preference_id: str) -> tuple[_MercadoPagoAccount, dict[str, Any]]:
        with self._lock:
            for account in self.accounts.values():
                if preference_id in account.preferences:
                    return account, account.preferences[preference_id]
        raise KeyError(preference_id)

    def _idempotency_refusal(self) -> Reply:
        return _mp_error(409, "the idempotency key was used with another request", "conflict")

    def _outage(self) -> Any:
        return {"message": "internal_error", "error": "internal_server_error", "status": 500, "cause": []}

    def _notify(self, account: _MercadoPagoAccount, payment: dict[str, Any], action: str) -> list[_Webhook]:
        url = payment.get("notification_url")
        return self._notification(account, str(url), "payment", str(payment["id"]), action) if url else []

    def _notification(
        self, account: _MercadoPagoAccount, url: str, topic: str, data_id: str, action: str
    ) -> list[_Webhook]:
        notification = {
            "id": next(self._notification_ids),
            "live_mode": False,
            "type": topic,
            "date_created": _mp_now(),
            "user_id": account.user_id,
            "api_version": "v1",
            "action": action,
            "data": {"id": data_id},
        }
        separator = "&" if "?" in url else "?"
        target = f"{url}{separator}{urlencode({'data.id': data_id, 'type': topic})}"
        body = json.dumps(notification).encode()
        secret = account.secret

        def headers() -> dict[str, str]:
            # Each delivery (and each retry) is signed anew with its own request id.
            request_id = str(uuid.uuid4())
            return {
                "Content-Type": "application/json",
                "x-request-id": request_id,
                "x-signature": mercadopago_signature(secret, data_id, request_id),
            }

        return [_Webhook(str(notification["id"]), target, body, headers)]

    def _create_preference(self, account: _MercadoPagoAccount, sent: dict[str, Any]) -> Reply:
        items = sent.get("items")
        if not isinstance(items, list) or not items:
            return _mp_error(400, "items needed")
        for i, item in enumerate(items):
            price = item.get("unit_price")
            if not isinstance(price, Decimal | int) or price <= 0 or not item.get("title"):
                return _mp_error(400, f"invalid items[{i}]: title and a positive unit_price are required")
            if int(item.get("quantity") or 0) < 1 or not item.get("currency_id"):
                return _mp_error(400, f"invalid items[{i}]: quantity and currency_id are required")
        if sent.get("expires"):
            start, end = _iso(sent.get("expiration_date_from")), _iso(sent.get("expiration_date_to"))
            if end is None or end.tzinfo is None or (start is not None and start.tzinfo is None):
                return _mp_error(400, "expiration_date_to must be an ISO 8601 date with its offset")
        preference_id = f"{account.user_id}-{uuid.uuid4()}"
        preference = {
            **sent,
            "id": preference_id,
            "collector_id": account.user_id,
            "init_point": f"{self.url}/checkout/v1/redirect?pref_id={preference_id}",
            "sandbox_init_point": f"{self.url}/checkout/v1/redirect?pref_id={preference_id}&sandbox=1",
            "date_created": _mp_now(),
        }
        with self._lock:
            account.preferences[preference_id] = preference
        return 201, preference

    @staticmethod
    def _expired(preference: dict[str, Any]) -> bool:
        end = _iso(preference.get("expiration_date_to"))
        return bool(preference.get("expires")) and end is not None and end <= datetime.now(UTC)

    def _pay(self, preference_id: str, options: dict[str, Any]) -> Reply:
        try:
            account, preference = self._find_preference(preference_id)
        except KeyError:
            return _mp_error(404, f"preference {preference_id} not found", "not_found")
        if self._expired(preference):
            return _mp_error(400, "this preference expired", "preference_expired")
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
        now = _mp_now()
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

    def _refund(self, account: _MercadoPagoAccount, payment_id: str, amount: Any) -> tuple[Reply, list[_Webhook]]:
        payment = account.payments.get(payment_id)
        if payment is None:
            return _mp_error(404, f"Payment {payment_id} not found", "not_found"), []
        if payment["status"] != "approved":
            return _mp_error(400, f"Payment {payment_id} is {payment['status']}: it cannot be refunded"), []
        remaining = payment["transaction_amount"] - payment["transaction_amount_refunded"]
        value = remaining if amount is None else Decimal(str(amount))
        if value <= 0 or value > remaining:
            return _mp_error(400, f"invalid refund amount {value}: {remaining} can be refunded"), []
        refund = {
            "id": next(self._ids),
            "payment_id": int(payment_id),
            "amount": value,
            "status": "approved",
            "source": {"type": "collector"},
            "date_created": _mp_now(),
        }
        payment["refunds"].append(refund)
        payment["transaction_amount_refunded"] += value
        full = payment["transaction_amount_refunded"] == payment["transaction_amount"]
        payment["status_detail"] = "refunded" if full else "partially_refunded"
        if full:
            payment["status"] = "refunded"
        payment["date_last_updated"] = _mp_now()
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
            return _mp_error(401, "invalid access token", "unauthorized"), True
        account = self._account(token)
        sent: dict[str, Any] = {}
        if body:
            try:
                decoded = json.loads(body, parse_float=Decimal)
            except ValueError:
                return _mp_error(400, "invalid JSON"), True
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
                    return _mp_error(404, "preference not found", "not_found"), True
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
                    return _mp_error(404, "preapproval not found", "not_found"), True
                if method == "PUT":
                    self._update_preapproval(account, preapproval, sent)
                return (200, preapproval), True
            if parts[0] == "authorized_payments" and len(parts) == 2 and method == "GET":
                authorized = account.authorized_payments.get(parts[1])
                if authorized is None:
                    return _mp_error(404, "authorized payment not found", "not_found"), True
                return (200, authorized), True
            if parts[:2] == ["v1", "payments"] and len(parts) == 3 and method == "GET":
                payment = account.payments.get(parts[2])
                if payment is None:
                    return _mp_error(404, f"Payment not found {parts[2]}", "not_found"), True
                return (200, {k: v for k, v in payment.items() if k != "notification_url"}), True
            if parts[:2] == ["v1", "payments"] and len(parts) == 4 and parts[3] == "refunds" and method == "POST":
                if not idempotency:
                    return _mp_error(400, "the header X-Idempotency-Key is required"), True

                def create() -> Reply:
                    reply, hooks = self._refund(account, parts[2], sent.get("amount"))
                    self._queue(hooks, wait=False)
                    return reply

                return self._replayed(token, idempotency, fingerprint, create), True
        return _mp_error(404, f"resource {method} {path} not found", "not_found"), True

    def _dashboard_refund(self, payment_id: str, options: dict[str, Any]) -> Reply:
        with self._lock:
            account = next((a for a in self.accounts.values() if payment_id in a.payments), None)
            if account is None:
                return _mp_error(404, f"Payment {payment_id} not found", "not_found")
            reply, hooks = self._refund(account, payment_id, options.get("amount"))
        if reply[0] >= 300:
            return reply
        return 201, {"refund": reply[1], "webhooks": self._queue(hooks, int(options.get("duplicates") or 1))}

    # --- subscriptions (preapproval) -----------------------------------------------------------------------

    def authorize(self, preapproval_id: str, **options: Any) -> dict[str, Any]:
        """The payer authorizes a preapproval at its ``init_point`` (its first charge is made at once)."""
        status, answer = self._authorize(preapproval_id, options)
        if status >= 300:
            raise ValueError(answer)
        return dict(answer)

    def charge(self, preapproval_id: str, status: str = "approved", **options: Any) -> dict[str, Any]:
        """The next charge of an authorized preapproval (a renewal, or MercadoPago's retry): ``approved`` or
        ``rejected``."""
        code, answer = self._charge(preapproval_id, {"status": status, **options})
        if code >= 300:
            raise ValueError(answer)
        return dict(answer)

    def preapproval(self, preapproval_id: str) -> dict[str, Any]:
        """A preapproval as the fake holds it."""
        found = self._find_preapproval(preapproval_id)
        if found is None:
            raise KeyError(preapproval_id)
        shown: dict[str, Any] = json.loads(json.dumps(found[1], default=_json_number))
        return shown

    def _find_preapproval(self, preapproval_id: str) -> tuple[_MercadoPagoAccount, dict[str, Any]] | None:
        with self._lock:
            for account in self.accounts.values():
                if preapproval_id in account.preapprovals:
                    return account, account.preapprovals[preapproval_id]
        return None

    def _create_preapproval(self, account: _MercadoPagoAccount, sent: dict[str, Any]) -> Reply:
        recurring = sent.get("auto_recurring") or {}
        amount = recurring.get("transaction_amount")
        if not isinstance(amount, Decimal | int) or amount <= 0 or not recurring.get("currency_id"):
            return _mp_error(400, "auto_recurring.transaction_amount and currency_id are required")
        if recurring.get("frequency_type") not in ("days", "months") or int(recurring.get("frequency") or 0) < 1:
            return _mp_error(400, "auto_recurring.frequency and frequency_type (days|months) are required")
        if not sent.get("back_url") or not sent.get("payer_email") or not sent.get("reason"):
            return _mp_error(400, "reason, payer_email and back_url are required")
        preapproval_id = secrets.token_hex(16)
        preapproval = {
            "id": preapproval_id,
            "payer_id": None,
            "payer_email": sent["payer_email"],
            "back_url": sent["back_url"],
            "collector_id": account.user_id,
            "application_id": account.user_id,
            "status": "pending",
            "reason": sent["reason"],
            "external_reference": sent.get("external_reference"),
            "date_created": _mp_now(),
            "last_modified": _mp_now(),
            "init_point": f"{self.url}/subscriptions/checkout?preapproval_id={preapproval_id}",
            "auto_recurring": dict(recurring),
            "next_payment_date": None,
        }
        with self._lock:
            account.preapprovals[preapproval_id] = preapproval
        return 201, preapproval

    def _update_preapproval(
        self, account: _MercadoPagoAccount, preapproval: dict[str, Any], sent: dict[str, Any]
    ) -> None:
        if isinstance(sent.get("auto_recurring"), dict):
            preapproval["auto_recurring"].update(sent["auto_recurring"])
        preapproval["last_modified"] = _mp_now()
        if sent.get("status") in ("paused", "cancelled", "authorized") and sent["status"] != preapproval["status"]:
            preapproval["status"] = sent["status"]
            self._queue(self._topic(account, "subscription_preapproval", preapproval["id"], "updated"), wait=False)

    def _topic(self, account: _MercadoPagoAccount, topic: str, data_id: str, action: str) -> list[_Webhook]:
        url = account.notification_url
        return self._notification(account, url, topic, data_id, action) if url else []

    def _next_date(self, preapproval: dict[str, Any]) -> str:
        months = int(preapproval["auto_recurring"].get("frequency") or 1)
        return (datetime.now(UTC) + timedelta(days=30 * months)).astimezone().isoformat(timespec="milliseconds")

    def _new_charge(self, account: _MercadoPagoAccount, preapproval: dict[str, Any], status: str) -> dict[str, Any]:
        authorized_id = str(next(self._ids))
        authorized = {
            "id": int(authorized_id),
            "preapproval_id": preapproval["id"],
            "type": "scheduled",
            "status": "processed" if status == "approved" else "recycling",
            "date_created": _mp_now(),
            "last_modified": _mp_now(),
            "transaction_amount": preapproval["auto_recurring"]["transaction_amount"],
            "currency_id": preapproval["auto_recurring"]["currency_id"],
            "reason": preapproval["reason"],
            "external_reference": preapproval.get("external_reference"),
            "payment": {
                "id": next(self._ids),
                "status": status,
                "status_detail": "accredited" if status == "approved" else "cc_rejected_insufficient_amount",
            },
            "debit_date": _mp_now(),
        }
        account.authorized_payments[authorized_id] = authorized
        return authorized

    def _authorize(self, preapproval_id: str, options: dict[str, Any]) -> Reply:
        found = self._find_preapproval(preapproval_id)
        if found is None:
            return _mp_error(404, "preapproval not found", "not_found")
        account, preapproval = found
        with self._lock:
            if preapproval["status"] != "pending":
                return _mp_error(400, f"the preapproval is {preapproval['status']}")
            preapproval.update(
                status="authorized", payer_id=account.user_id + 7, next_payment_date=self._next_date(preapproval)
            )
            authorized = self._new_charge(account, preapproval, "approved")
        hooks = self._topic(account, "subscription_preapproval", preapproval_id, "updated")
        hooks += self._topic(account, "subscription_authorized_payment", str(authorized["id"]), "created")
        if options.get("reverse"):
            hooks.reverse()
        sent = self._queue(hooks, int(options.get("duplicates") or 1))
        return 201, {"preapproval": preapproval, "authorizedPayment": authorized, "webhooks": sent}

    def _charge(self, preapproval_id: str, options: dict[str, Any]) -> Reply:
        found = self._find_preapproval(preapproval_id)
        if found is None:
            return _mp_error(404, "preapproval not found", "not_found")
        account, preapproval = found
        status = str(options.get("status") or "approved")
        with self._lock:
            if preapproval["status"] not in ("authorized", "paused"):
                return _mp_error(400, f"the preapproval is {preapproval['status']}")
            authorized = self._new_charge(account, preapproval, status)
            if status == "approved":
                preapproval["next_payment_date"] = self._next_date(preapproval)
        hooks = self._topic(account, "subscription_authorized_payment", str(authorized["id"]), "created")
        sent = self._queue(hooks, int(options.get("duplicates") or 1))
        return 201, {"authorizedPayment": authorized, "webhooks": sent}

    def _preapproval_page(self, method: str, preapproval_id: str) -> Reply:
        found = self._find_preapproval(preapproval_id)
        if found is None:
            return 404, _Html("<!doctype html><p>No such subscription</p>")
        if method == "POST":
            code, answer = self._authorize(preapproval_id, {})
            if code >= 300:
                return code, _Html(f"<!doctype html><p id='error'>{answer['message']}</p>")
        preapproval = found[1]
        recurring = preapproval["auto_recurring"]
        amount = f"{Decimal(str(recurring['transaction_amount'])):.2f} {recurring['currency_id']}"
        state = "open" if preapproval["status"] == "pending" else preapproval["status"]
        action = f"/subscriptions/checkout?preapproval_id={preapproval_id}"
        return 200, _checkout_page("Mercado Pago assinatura (fake)", amount, action, state)

    def _checkout_page(self, method: str, preference_id: str) -> Reply:
        try:
            _, preference = self._find_preference(preference_id)
        except KeyError:
            return 404, _Html("<!doctype html><p>No such checkout</p>")
        if method == "POST":
            status, answer = self._pay(preference_id, {})
            if status >= 300:
                return status, _Html(f"<!doctype html><p id='error'>{answer['message']}</p>")
        item = preference["items"][0]
        amount = f"{Decimal(str(item['unit_price'])) * int(item['quantity']):.2f} {item['currency_id']}"
        state = "expired" if self._expired(preference) else "open"
        action = f"/checkout/v1/redirect?pref_id={preference_id}"
        return 200, _checkout_page("Mercado Pago (fake)", amount, action, state)
