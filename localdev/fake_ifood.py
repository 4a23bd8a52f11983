"""A fake iFood Merchant API on loopback, for tests, ``make run`` and the bench.

Point ``settings.ifood_api_url`` at ``url``. It speaks iFood's wire format and keeps its traps:

- ``POST /authentication/v1.0/oauth/token`` (form, camelCase: ``grantType=client_credentials``, ``clientId``,
  ``clientSecret``) → ``{accessToken, type: "bearer", expiresIn}`` (seconds); unknown credentials → 401. A token past
  its life (``expire_tokens()``, or ``tokenTtl``) → 401 on every call.
- ``GET /events/v1.0/events:polling`` with ``x-polling-merchants`` (≤ 100 ids, else 400) → 200 and the events not
  acknowledged yet, or 204. **An event not acknowledged comes back** on every later poll; ``POST /_config
  {"shuffle": true}`` answers them out of order and ``{"duplicates": true}`` sends each twice in one answer.
- ``POST /events/v1.0/events/acknowledgment [{"id"}]`` → 202 (more than 2000 ids → 400).
- ``GET /order/v1.0/orders/{id}`` → the order (``{"notReadyReads": n}``: 404 for the first n reads of each new order,
  as iFood does just after PLACED); ``POST …/{id}/confirm|startPreparation|readyToPickup|dispatch`` → 202 and the
  event it causes (CFM, PRS, RTP, DSP); ``POST …/{id}/requestCancellation {reason, cancellationCode}`` → 202 and CAN.
  An action on an order that is cancelled or not of the token's application → 400/404.
- ``GET /merchant/v1.0/merchants/{id}`` → ``{id, name, corporateName}``.
- Webhook (``set_webhook(client id, url)``: the application's webhook, as set in iFood's developer portal): each
  event is also posted there at once, alone, signed ``X-IFood-Signature`` = hex HMAC-SHA256(client secret, body);
  it stays on the polling too until acknowledged (the poll and the webhook both deliver it). ``{"forgeNext": n}``
  signs the next n posts with a wrong secret (iFood does so on purpose during homologation: they must be refused).
- Failures and control (``localdev/fake_platform.py``): ``POST /_config {"failRate", "failStatus", "failNext",
  "throttleNext"}``; ``POST /_orders {merchantId, items: [{name, externalCode, quantity, unitPrice}], deliveredBy?,
  customerName?}`` places an order (its PLC event queued) and answers ``{id}``; the customer keeps one iFood id
  across their orders (by name, in the fake) and, as at iFood, their phone is iFood's own line with a localizer,
  never their number; ``POST /_orders/{id}/cancel {reason}`` cancels it as iFood would (CAN); ``GET /_orders/{id}``
  shows it with the ``actions`` it received; ``GET|DELETE /_received`` (with the webhook posts and their answers).
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs

from localdev.fake_base import Answer, sign_hex
from localdev.fake_platform import PlatformFake

__all__ = ["FakeIFood"]

_MAX_MERCHANTS = 100
_MAX_ACK = 2000
_ACTION_EVENTS = {
    "confirm": ("CFM", "CONFIRMED"),
    "startPreparation": ("PRS", "PREPARATION_STARTED"),
    "readyToPickup": ("RTP", "READY_TO_PICKUP"),
    "dispatch": ("DSP", "DISPATCHED"),
}


@dataclass
class _App:
    """An iFood application (client credentials) and the merchants it may act for."""

    client_id: str
    client_secret: str
    merchants: set[str] = field(default_factory=set)
    webhook_url: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_ERROR_CODES = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 429: "TooManyRequests"}


class FakeIFood(PlatformFake):
    """A fake iFood Merchant API on 127.0.0.1 (a free port unless ``port`` is given)."""

    kind = "ifood"
    options: ClassVar[dict[str, str]] = {
        "shuffle": "shuffle",
        "duplicates": "duplicates",
        "notReadyReads": "not_ready_reads",
        "tokenTtl": "token_ttl_s",
        "forgeNext": "forge_next",
    }

    def __init__(self, port: int = 0, seed: int | None = None) -> None:
        self.shuffle = False
        self.duplicates = False
        self.not_ready_reads = 0
        self.token_ttl_s = 21_600
        self.apps: dict[str, _App] = {}
        self.merchant_names: dict[str, str] = {}
        self.events: dict[str, dict[str, Any]] = {}  # not acknowledged yet, by id
        self.acknowledged: list[str] = []
        self.polls = 0
        self.forge_next = 0
        self._outbox: list[tuple[str, str, bytes]] = []  # (url, signing secret, body) to post once the lock is free
        self._reads: dict[str, int] = {}
        self._seq = itertools.count(1)
        self._open(port, seed, "fake-ifood")  # its random also shuffles the polled events

    # --- python helpers for tests, make run and the bench -----------------------------------------------------------

    def add_merchant(
        self, name: str, *, client_id: str | None = None, client_secret: str | None = None
    ) -> dict[str, str]:
        """A merchant (store) and an application that may act for it: ``{merchantId, clientId, clientSecret}``."""
        with self._lock:
            merchant_id = str(uuid.uuid4())
            client_id = client_id or str(uuid.uuid4())
            app = self.apps.get(client_id) or _App(client_id, client_secret or secrets.token_urlsafe(24))
            app.merchants.add(merchant_id)
            self.apps[client_id] = app
            self.merchant_names[merchant_id] = name
            return {"merchantId": merchant_id, "clientId": client_id, "clientSecret": app.client_secret}

    def set_webhook(self, client_id: str, url: str | None) -> None:
        """The application's webhook URL (None: polling only)."""
        with self._lock:
            self.apps[client_id].webhook_url = url

    def place_order(
        self,
        merchant_id: str,
        items: list[dict[str, Any]],
        *,
        delivered_by: str = "IFOOD",
        order_type: str = "DELIVERY",
        customer_name: str = "Cliente iFood",
        delivery_fee: float = 5.0,
    ) -> str:
        """Place an order at the merchant (its PLC event queued); returns its id."""
        with self._lock:
            order_id = str(uuid.uuid4())
            subtotal = round(sum(float(i["unitPrice"]) * int(i.get("quantity", 1)) for i in items), 2)
            self.orders[order_id] = {
                "id": order_id,
                "displayId": f"{next(self._seq) % 10_000:04d}",
                "orderType": order_type,
                "orderTiming": "IMMEDIATE",
                "salesChannel": "IFOOD",
                "createdAt": _now(),
                "merchant": {"id": merchant_id, "name": self.merchant_names[merchant_id]},
                "customer": {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ifood-customer:{customer_name}")),
                    "name": customer_name,
                    "phone": {"number": "0800 705 0500", "localizer": "12345678"},
                },
                "items": [
                    {
                        "index": n,
                        "id": str(uuid.uuid4()),
                        "name": item["name"],
                        "externalCode": item.get("externalCode"),
                        "quantity": int(item.get("quantity", 1)),
                        "unitPrice": float(item["unitPrice"]),
                        "price": round(float(item["unitPrice"]) * int(item.get("quantity", 1)), 2),
                        "optionsPrice": 0,
                        "totalPrice": round(float(item["unitPrice"]) * int(item.get("quantity", 1)), 2),
                        "observations": item.get("observations"),
                        "options": item.get("options") or [],
                    }
                    for n, item in enumerate(items, start=1)
                ],
                "total": {
                    "subTotal": subtotal,
                    "deliveryFee": delivery_fee,
                    "benefits": 0,
                    "additionalFees": 0.99,
                    "orderAmount": round(subtotal + delivery_fee + 0.99, 2),
                },
                "additionalFees": [{"type": "SMALL_ORDER_FEE", "value": 0.99}],
                "payments": {"prepaid": round(subtotal + delivery_fee + 0.99, 2), "pending": 0, "methods": []},
                "delivery": {
                    "mode": "DEFAULT",
                    "deliveredBy": delivered_by,
                    "deliveryAddress": {
                        "formattedAddress": "Rua das Flores, 100 - Centro, São Paulo - SP",
                        "postalCode": "01001000",
                        "city": "São Paulo",
                        "state": "SP",
                        "country": "BR",
                    },
                },
                "status": "PLACED",
                "actions": [],
            }
            self._event(merchant_id, order_id, "PLC", "PLACED")
        self._post_webhooks()
        return order_id

    def place(self, fields: dict[str, Any]) -> str:
        """``POST /_orders {merchantId, items, deliveredBy?, customerName?}``."""
        return self.place_order(
            str(fields["merchantId"]),
            list(fields["items"]),
            delivered_by=str(fields.get("deliveredBy") or "IFOOD"),
            customer_name=str(fields.get("customerName") or "Cliente iFood"),
        )

    def cancel_order(self, order_id: str, reason: str = PlatformFake.default_cancel_reason) -> None:
        """iFood cancels the order (the customer gave up, or the store did not confirm in time): CAN."""
        with self._lock:
            order = self.orders[order_id]
            order["status"] = "CANCELLED"
            self._event(order["merchant"]["id"], order_id, "CAN", "CANCELLED", {"reason": reason})
        self._post_webhooks()

    def pending_events(self) -> list[dict[str, Any]]:
        """The events nobody acknowledged yet."""
        with self._lock:
            return [dict(event) for event in self.events.values()]

    def revoke(self, client_id: str) -> None:
        """The application's credentials stop working (the merchant unlinked it): tokens 401, new grants 401."""
        with self._lock:
            self.apps.pop(client_id, None)
            self._tokens = {t: v for t, v in self._tokens.items() if v[0] != client_id}

    # --- the wire ---------------------------------------------------------------------------------------------------

    def _event(
        self, merchant_id: str, order_id: str, code: str, full: str, metadata: dict[str, Any] | None = None
    ) -> None:
        event_id = str(uuid.uuid4())
        event = {
            "id": event_id,
            "code": code,
            "fullCode": full,
            "orderId": order_id,
            "merchantId": merchant_id,
            "createdAt": _now(),
            "salesChannel": "IFOOD",
            **({"metadata": metadata} if metadata else {}),
        }
        self.events[event_id] = event
        app = next((a for a in self.apps.values() if merchant_id in a.merchants and a.webhook_url), None)
        if app is not None and app.webhook_url is not None:
            secret = app.client_secret
            if self.forge_next > 0:
                self.forge_next -= 1
                secret = "not-the-client-secret"
            self._outbox.append((app.webhook_url, secret, json.dumps(event).encode()))
        time.sleep(0.001)  # distinct createdAt, as iFood's are

    def _post_webhooks(self) -> None:
        """Post the events waiting for the webhook (outside the lock: BTRIX may call back meanwhile)."""
        with self._lock:
            outbox, self._outbox = self._outbox, []
        for url, secret, body in outbox:
            event = json.loads(body)
            signed = {"X-IFood-Signature": sign_hex(secret, body)}
            self._post_webhook(url, body, signed, {"eventId": event["id"], "code": event["code"]})

    def _after(self) -> None:
        self._post_webhooks()

    def _error(self, status: int, message: str) -> Answer:
        code = _ERROR_CODES.get(status, "ServiceUnavailable" if status >= 500 else "Error")
        return Answer(status, {"error": {"code": code, "message": message}})

    def _client(self, headers: dict[str, str]) -> _App | None:
        client_id = self._bearer(headers.get("authorization", ""))
        return None if client_id is None else self.apps.get(client_id)

    def _serve(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        if method == "POST" and path == "/authentication/v1.0/oauth/token":
            return self._token(body)
        app = self._client(headers)
        if app is None:
            return self._error(401, "token expired or invalid")
        if method == "GET" and path == "/events/v1.0/events:polling":
            return self._poll(app, headers)
        if method == "POST" and path == "/events/v1.0/events/acknowledgment":
            return self._ack(body)
        parts = path.strip("/").split("/")
        if parts[:3] == ["merchant", "v1.0", "merchants"] and len(parts) == 4 and method == "GET":
            if parts[3] not in app.merchants:
                return self._error(404, "merchant not found")
            return Answer(200, {"id": parts[3], "name": self.merchant_names[parts[3]], "corporateName": "Demo LTDA"})
        if parts[:3] == ["order", "v1.0", "orders"] and len(parts) in (4, 5):
            order = self.orders.get(parts[3])
            if order is None or order["merchant"]["id"] not in app.merchants:
                return self._error(404, "order not found")
            if len(parts) == 4 and method == "GET":
                return self._read(order)
            if len(parts) == 5 and method == "POST":
                return self._act(order, parts[4], body)
        return self._error(404, f"no route {method} {path}")

    def _token(self, body: bytes) -> Answer:
        form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
        if form.get("grantType") != "client_credentials":
            return self._error(400, "grantType must be client_credentials")
        app = self.apps.get(form.get("clientId", ""))
        if app is None or not secrets.compare_digest(app.client_secret, form.get("clientSecret", "")):
            return self._error(401, "invalid client credentials")
        token = self._issue(app.client_id, float(self.token_ttl_s))
        return Answer(200, {"accessToken": token, "type": "bearer", "expiresIn": int(self.token_ttl_s)})

    def _poll(self, app: _App, headers: dict[str, str]) -> Answer:
        self.polls += 1
        wanted = [m.strip() for m in headers.get("x-polling-merchants", "").split(",") if m.strip()]
        if len(wanted) > _MAX_MERCHANTS:
            return self._error(400, f"at most {_MAX_MERCHANTS} merchants")
        merchants = set(wanted) & app.merchants if wanted else app.merchants
        events = [dict(e) for e in self.events.values() if e["merchantId"] in merchants]
        if not events:
            return Answer(204)
        if self.duplicates:
            events = events + [dict(e) for e in events]
        if self.shuffle:
            self._random.shuffle(events)
        return Answer(200, events)

    def _ack(self, body: bytes) -> Answer:
        try:
            ids = [str(item["id"]) for item in json.loads(body or b"[]")]
        except (ValueError, TypeError, KeyError):
            return self._error(400, "a list of {id}")
        if len(ids) > _MAX_ACK:
            return self._error(400, f"at most {_MAX_ACK} ids")
        for event_id in ids:
            if self.events.pop(event_id, None) is not None:
                self.acknowledged.append(event_id)
        return Answer(202)

    def _read(self, order: dict[str, Any]) -> Answer:
        reads = self._reads.get(order["id"], 0) + 1
        self._reads[order["id"]] = reads
        if reads <= self.not_ready_reads:
            return self._error(404, "order not found")
        return Answer(200, {k: v for k, v in order.items() if k not in ("status", "actions")})

    def _act(self, order: dict[str, Any], action: str, body: bytes) -> Answer:
        merchant = order["merchant"]["id"]
        if action == "requestCancellation":
            fields = json.loads(body or b"{}")
            if not fields.get("reason") or not fields.get("cancellationCode"):
                return self._error(400, "reason and cancellationCode are required")
            order["actions"].append(action)
            if order["status"] != "CANCELLED":
                order["status"] = "CANCELLED"
                self._event(merchant, order["id"], "CAN", "CANCELLED", {"reason": fields["reason"]})
            return Answer(202)
        if action not in _ACTION_EVENTS:
            return self._error(404, f"no action {action}")
        if order["status"] == "CANCELLED":
            return self._error(400, "the order is cancelled")
        order["actions"].append(action)
        code, full = _ACTION_EVENTS[action]
        order["status"] = full
        self._event(merchant, order["id"], code, full)
        return Answer(202)
