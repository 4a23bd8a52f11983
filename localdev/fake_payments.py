"""What the fake payment providers (Stripe, MercadoPago, Pagar.me) share on loopback, for tests and ``make run``.

Same surface as ``localdev.fakes.FakeProvider``: ``url``, ``start()``, ``stop()``, ``received`` / ``accepted()``,
``GET /_received`` (every API request with the status it got), ``DELETE /_received``, and ``POST /_config``
(``failRate``, ``failStatus``, ``failNext``: API calls that fail with a 5xx; ``hold``: keep webhooks instead of
sending them; ``acceptKeys``: the only good keys/tokens, ``null`` for any well-formed one). With ``hold`` on, webhooks
wait in a queue until ``POST /_deliver {"reverse": true}`` sends them (out of order when reversed). ``GET
/_webhooks`` lists every webhook and what each delivery got. Each fake serves a hosted checkout page whose Pay button
pays it.

The fakes: ``fake_stripe.py`` (with Stripe Billing in ``fake_stripe_billing.py``), ``fake_mercadopago.py`` (with
its subscriptions in ``fake_mercadopago_preapprovals.py``), ``fake_pagarme.py``.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx

from chalicelib.inbound.bitrix24 import nest_form
from localdev.fake_base import LoopbackFake

__all__ = ["Html", "PaymentFake", "Reply", "Webhook", "checkout_page", "json_number"]

Reply = tuple[int, Any]
# One provider account of a fake (its key or token, and what it holds: sessions, orders, preferences…).
AccountT = TypeVar("AccountT")
_HTML = "text/html; charset=utf-8"


@dataclass
class Webhook:
    """One webhook the fake sends (and, with duplicates, sends again)."""

    id: str
    url: str
    body: bytes
    headers: Any  # a callable making fresh headers per delivery (MercadoPago signs each delivery anew)
    deliveries: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Html:
    """An HTML answer (the hosted checkout pages)."""

    text: str


class PaymentFake(LoopbackFake, Generic[AccountT]):
    """What the payment fakes share: accounts by key, failure injection, idempotency replays, webhooks sent at once,
    held or duplicated."""

    kind = "payments"

    def __init__(self, port: int = 0, seed: int | None = None) -> None:
        self.accounts: dict[str, AccountT] = {}
        self.hold = False
        self.accept_keys: set[str] | None = None
        self.received: list[dict[str, Any]] = []
        self.webhooks: list[Webhook] = []
        self._held: list[Webhook] = []
        self._replays: dict[tuple[str, str], tuple[str, Reply]] = {}
        self._init_failures(seed)
        self._lock = threading.RLock()
        self._http = httpx.Client(timeout=30)
        self._listen(port, self._handler(), f"fake-{self.kind}")

    def stop(self) -> None:
        """Stop serving and close the webhook client."""
        super().stop()
        self._http.close()

    # --- accounts ------------------------------------------------------------------------------------------------

    def _new_account(self, key: str) -> AccountT:
        """A fresh account for ``key`` (the caller holds the lock)."""
        raise NotImplementedError

    def _account(self, key: str) -> AccountT:
        """The account of ``key`` (a secret key, an access token), made on first use as the providers' test
        accounts are."""
        with self._lock:
            account = self.accounts.get(key)
            if account is None:
                account = self.accounts[key] = self._new_account(key)
            return account

    def _find(self, kind: str, object_id: str) -> tuple[AccountT, dict[str, Any]]:
        """The account holding ``object_id`` in its ``kind`` collection (``sessions``, ``orders``…), and the object;
        KeyError when no account has it."""
        with self._lock:
            for account in self.accounts.values():
                found = getattr(account, kind).get(object_id)
                if found is not None:
                    return account, found
        raise KeyError(object_id)

    # --- configuration and failures ------------------------------------------------------------------------------

    def _configure(self, config: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            failures = self._configure_failures(config)
            self.hold = bool(config.get("hold", self.hold))
            if "acceptKeys" in config:
                keys = config["acceptKeys"]
                self.accept_keys = None if keys is None else {str(k) for k in keys}
            return {
                **failures,
                "hold": self.hold,
                "acceptKeys": None if self.accept_keys is None else sorted(self.accept_keys),
            }

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

    def _queue(self, hooks: list[Webhook], duplicates: int = 1, *, wait: bool = True) -> list[dict[str, Any]]:
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

    def _send(self, hook: Webhook, times: int = 1) -> dict[str, Any]:
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
            return 200, self._received_log(method)
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
        if isinstance(answer, Html):
            return status, answer.text.encode(), {"Content-Type": _HTML}
        return status, json.dumps(answer, default=json_number).encode(), {"Content-Type": "application/json"}


def json_number(value: Any) -> Any:
    """``json.dumps``' default: a ``Decimal`` as a JSON number (MercadoPago's amounts are)."""
    if isinstance(value, Decimal):
        return float(value)  # MercadoPago's amounts are JSON numbers
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def checkout_page(title: str, amount: str, action: str, state: str) -> Html:
    """A hosted checkout page: its Pay button POSTs to ``action`` while ``state`` is open."""
    button = (
        f'<form method="post" action="{action}"><button id="pay" type="submit">Pay {amount}</button></form>'
        if state == "open"
        else f'<p id="state">{state}</p>'
    )
    return Html(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p id='amount'>{amount}</p>{button}</body></html>"
    )
