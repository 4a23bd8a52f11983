"""A fake MelhorEnvio (API v2 and its OAuth server) on loopback, for tests and for ``make run`` without an account.

Point ``settings.melhorenvio_api_url`` (and ``melhorenvio_sandbox_url``) at ``url``. It speaks MelhorEnvio's wire
format and keeps its traps:

- OAuth2 authorization code: ``GET /oauth/authorize?client_id&redirect_uri&response_type=code&state`` sends the
  browser back to ``redirect_uri?code=…&state=…`` (the user signed in, ``sign_in(account id)``, else the first
  account's, allows it); ``POST /oauth/token`` (form)
  trades the code (once) or a refresh token for ``{token_type, expires_in, access_token, refresh_token}``. **A
  refresh token works once**: the refresh answers a new one and the old one is then ``invalid_grant`` (400), as is
  a used code or another client's. ``expire_tokens()`` makes every access token answer 401 ``Unauthenticated.``.
- Every API call needs ``Authorization: Bearer``, ``Accept: application/json`` and a ``User-Agent`` with a contact
  email (``App (email@…)``); without one → 400.
- ``POST /api/v2/me/shipment/calculate {from:{postal_code}, to:{postal_code}, products:[{id, width, height, length,
  weight, insurance_value, quantity}]}`` → four services (Correios PAC and SEDEX, Jadlog .Package and .Com), each
  with ``price`` (a string, two decimals) and ``delivery_time``, or ``error`` (over 30 kg for Correios, a side over
  100 cm). Invalid data → 422 ``{"message": "The given data was invalid.", "errors": {"from.postal_code": […]}}``.
- Labels: ``POST /api/v2/me/cart`` (one shipment; 422 without the sender's and recipient's name, address, city and
  postal code) → ``{id, protocol, status: "pending"}``; ``POST /shipment/checkout {orders}`` pays them from the
  balance (an order already paid → 422, the trap of a retried purchase); ``/shipment/generate``; ``/shipment/print``
  → ``{url}``; ``/shipment/tracking`` → ``{<id>: {status, tracking, …}}``.
- Webhook (``set_webhook(url)``: the app's, as set in MelhorEnvio's panel): each label update (``post``,
  ``deliver``) is posted there as ``{"event": "order.<status>", "data": <the label, with the account's
  user_id>}``, signed ``X-ME-Signature`` = base64 HMAC-SHA256(app secret, body): one URL for every account of the
  app, as MelhorEnvio's; ``webhooks`` keeps each post's answer. ``GET /api/v2/me`` answers the account's ``id``.
- Throttling: 250 requests a minute per token, then 429 with ``Retry-After``; ``throttleNext`` forces the next few.
- Control: ``POST /_config {"failRate", "failStatus", "failNext", "throttleNext", "latencyMs"}``; ``GET|DELETE
  /_received`` (each entry has the time the fake itself took, ``elapsedMs``); ``POST /_shipments/<id>/post`` (the
  carrier took it: ``posted``, a tracking code) and ``/_shipments/<id>/deliver``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from localdev.fake_base import Answer, json_handler
from localdev.fake_melhorenvio_shipments import SERVICES, Account, MelhorEnvioShipments, now

__all__ = ["SERVICES", "FakeMelhorEnvio"]

_PER_MINUTE = 250
_USER_AGENT = re.compile(r"\(([^@\s()]+@[^@\s()]+)\)")


class FakeMelhorEnvio(MelhorEnvioShipments):
    """A fake MelhorEnvio on 127.0.0.1 (a free port unless ``port`` is given), with one OAuth app."""

    kind = "melhorenvio"

    def __init__(
        self,
        port: int = 0,
        *,
        client_id: str = "me-client",
        client_secret: str = "me-secret",  # noqa: S107 - the fake app's made-up secret
        seed: int | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self._init_faults(seed, _PER_MINUTE)
        self.refreshes = 0
        self.webhook_url: str | None = None
        self.webhooks: list[dict[str, Any]] = []  # webhook posts: event, label id, status
        self.received: list[dict[str, Any]] = []
        self.accounts: dict[str, Account] = {}
        self._access: dict[str, str] = {}  # access token → account id
        self._refresh: dict[str, str] = {}  # live refresh token → account id
        self._codes: dict[str, tuple[str, str]] = {}  # code → (account id, redirect uri)
        self.signed_in: str | None = None  # the account whose user authorizes the next consent (None: the first)
        self._protocols = itertools.count(1)
        self._lock = threading.RLock()
        self._listen(port, json_handler(self._answer), "fake-melhorenvio")

    # --- python helpers for tests and make run ----------------------------------------------------------------------

    def add_account(self, email: str = "loja@example.com", *, balance: Decimal = Decimal(1000)) -> dict[str, str]:
        """A new account, authorized for the app: its ``accessToken`` and ``refreshToken``."""
        with self._lock:
            account = Account(str(uuid.uuid4()), email, balance)
            self.accounts[account.id] = account
            return self._grant(account.id)

    def sign_in(self, email: str = "loja@example.com") -> str:
        """A new account whose user is the one signed in at MelhorEnvio: the next consent connects it. Its id."""
        with self._lock:
            account = Account(str(uuid.uuid4()), email, Decimal(1000))
            self.accounts[account.id] = account
            self.signed_in = account.id
            return account.id

    def account_of(self, token: str) -> str | None:
        """The id of the account an access or refresh token belongs to (None: no live token)."""
        with self._lock:
            return self._access.get(token) or self._refresh.get(token)

    def settings_env(self) -> dict[str, str]:
        """The environment that points BTRIX at this fake."""
        return {
            "BTRIX_MELHORENVIO_API_URL": self.url,
            "BTRIX_MELHORENVIO_SANDBOX_URL": self.url,
            "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true",
        }

    def expire_tokens(self) -> None:
        """Every access token issued so far answers 401 from now on (refresh tokens stay good)."""
        with self._lock:
            self._access.clear()

    def shipments(self) -> list[dict[str, Any]]:
        """Every label of every account."""
        with self._lock:
            return [dict(s) for account in self.accounts.values() for s in account.shipments.values()]

    def set_webhook(self, url: str | None) -> None:
        """The app's webhook URL (None: no webhook)."""
        with self._lock:
            self.webhook_url = url

    def post(self, shipment_id: str) -> dict[str, Any]:
        """The carrier took the package: ``posted`` with a tracking code (the webhook told)."""
        return self._notify(self._move(shipment_id, "posted"))

    def deliver(self, shipment_id: str) -> dict[str, Any]:
        """The carrier delivered it (the webhook told)."""
        return self._notify(self._move(shipment_id, "delivered"))

    def _notify(self, shipment: dict[str, Any]) -> dict[str, Any]:
        url = self.webhook_url
        if url is None:
            return shipment
        body = json.dumps({"event": f"order.{shipment['status']}", "data": shipment}).encode()
        digest = hmac.new(self.client_secret.encode(), body, hashlib.sha256).digest()
        headers = {"Content-Type": "application/json", "X-ME-Signature": base64.b64encode(digest).decode()}
        try:
            status = httpx.post(url, content=body, headers=headers, timeout=30).status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self.webhooks.append({"event": f"order.{shipment['status']}", "labelId": shipment["id"], "status": status})
        return shipment

    def _grant(self, account_id: str) -> dict[str, str]:
        access, refresh = "me_at_" + secrets.token_urlsafe(24), "me_rt_" + secrets.token_urlsafe(24)
        self._access[access] = account_id
        self._refresh[refresh] = account_id
        return {"accessToken": access, "refreshToken": refresh}

    def _move(self, shipment_id: str, status: str) -> dict[str, Any]:
        with self._lock:
            for account in self.accounts.values():
                shipment = account.shipments.get(shipment_id)
                if shipment is not None:
                    if shipment["status"] not in ("released", "posted"):
                        raise ValueError(f"shipment {shipment_id} is {shipment['status']}")
                    shipment["status"] = status
                    shipment["tracking"] = shipment["tracking"] or f"BR{secrets.randbelow(10**9):09d}BR"
                    shipment[f"{status}_at"] = now()
                    return dict(shipment)
        raise KeyError(shipment_id)

    # --- serving ----------------------------------------------------------------------------------------------------

    def _answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.perf_counter()
        parts = urlsplit(target)
        path = parts.path.rstrip("/")
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        if path.startswith("/_"):
            return self._control(method, path, body)
        self._delay()
        sent: Any = None
        with self._lock:
            if path.startswith("/oauth/"):
                form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
                sent = {k: ("***" if "secret" in k or "token" in k or k == "code" else v) for k, v in form.items()}
                reply = self._oauth(method, path, query, form)
            else:
                invalid = Answer(400, {"message": "The request body is not valid JSON"})
                sent, reply = self._serve_json(body, invalid, lambda sent: self._api(method, path, sent, headers))
            entry = {
                "method": method,
                "path": path,
                "status": reply.status,
                "body": sent,
                "userAgent": headers.get("user-agent"),
                "elapsedMs": (time.perf_counter() - started) * 1000,
            }
            self.received.append(entry)
        return reply

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        shared = self._shared_control(method, path, body)
        if shared is not None:
            return shared
        moved = re.fullmatch(r"/_shipments/([^/]+)/(post|deliver)", path)
        if moved and method == "POST":
            try:
                shipment = self.post(moved.group(1)) if moved.group(2) == "post" else self.deliver(moved.group(1))
            except KeyError:
                return Answer(404, {"message": f"no shipment {moved.group(1)}"})
            except ValueError as exc:
                return Answer(422, {"message": str(exc)})
            return Answer(200, shipment)
        return Answer(404, {"message": f"no control endpoint {path}"})

    def _oauth(self, method: str, path: str, query: dict[str, str], form: dict[str, str]) -> Answer:
        if path == "/oauth/authorize" and method == "GET":
            if query.get("client_id") != self.client_id or not query.get("redirect_uri"):
                return Answer(400, {"error": "invalid_client"})
            account_id = self.signed_in or next(iter(self.accounts), None)
            if account_id is None:
                account_id = str(uuid.uuid4())
                self.accounts[account_id] = Account(account_id, "loja@example.com", Decimal(1000))
            code = secrets.token_urlsafe(16)
            self._codes[code] = (account_id, query["redirect_uri"])
            back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
            return Answer(302, None, (("Location", back),))
        if path != "/oauth/token" or method != "POST":
            return Answer(404, {"message": "Not Found"})
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Answer(401, {"error": "invalid_client", "message": "Client authentication failed"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            found = self._codes.pop(form.get("code", ""), None)
            if found is None or found[1] != form.get("redirect_uri"):
                return Answer(400, {"error": "invalid_grant", "message": "The authorization code is invalid"})
            account_id = found[0]
        elif grant == "refresh_token":
            account_id_or_none = self._refresh.pop(form.get("refresh_token", ""), None)
            if account_id_or_none is None:
                return Answer(400, {"error": "invalid_grant", "message": "The refresh token is invalid."})
            account_id = account_id_or_none
            self.refreshes += 1
        else:
            return Answer(400, {"error": "unsupported_grant_type"})
        tokens = self._grant(account_id)
        return Answer(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 30 * 24 * 3600,
                "access_token": tokens["accessToken"],
                "refresh_token": tokens["refreshToken"],
            },
        )

    def _api(self, method: str, path: str, sent: Any, headers: dict[str, str]) -> Answer:
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        account = self.accounts.get(self._access.get(token, ""))
        if account is None:
            return Answer(401, {"message": "Unauthenticated."})
        if not _USER_AGENT.search(headers.get("user-agent", "")):
            # Unconfirmed status: MelhorEnvio documents the User-Agent as required, not what it answers without one.
            return Answer(400, {"message": "User-Agent header with a contact email is required"})
        if self._throttled(token):
            return Answer(429, {"message": "Too Many Attempts."}, (("Retry-After", "1"),))
        if self._failing():
            return Answer(self.fail_status, {"message": "Server Error"})
        route = path.removeprefix("/api/v2/me")
        if not path.startswith("/api/v2/me"):
            return Answer(404, {"message": "Not Found"})
        if route == "" and method == "GET":
            return Answer(200, {"id": account.id, "firstname": "Loja", "lastname": "Demo", "email": account.email})
        if method != "POST":
            return Answer(405, {"message": "Method Not Allowed"})
        handlers = {
            "/shipment/calculate": self._calculate,
            "/cart": self._cart,
            "/shipment/checkout": self._checkout,
            "/shipment/generate": self._generate,
            "/shipment/print": self._print,
            "/shipment/tracking": self._tracking,
        }
        handler = handlers.get(route)
        if handler is None:
            return Answer(404, {"message": "Not Found"})
        return handler(account, sent if isinstance(sent, dict) else {})
