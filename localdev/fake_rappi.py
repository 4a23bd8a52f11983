"""A fake Rappi restaurants API on loopback, for tests and ``make run``: it takes the store's calls and posts Rappi's
signed webhooks to BTRIX.

Point ``settings.rappi_api_url`` at ``url``. Its wire format and traps (``chalicelib/integrations/rappi/client.py``
says which facts are confirmed):

- ``POST /restaurants/auth/v1/token/login/integrations {client_id, client_secret}`` → ``{access_token, token_type,
  expires_in}`` (a week); unknown credentials → 401. A token past its life (``expire_tokens()``) → 401.
- ``PUT /orders/{id}/take/{cookingTime}``, ``PUT /orders/{id}/reject {reason}``, ``POST
  /orders/{id}/ready-for-pickup`` with ``x-authorization: Bearer <token>`` → 200; an order of another store, or a
  cancelled one → 404/409.
- ``GET /orders/status/sent`` → a JSON array of the store's orders the store has not taken or rejected, each as the
  ``NEW_ORDER`` webhook carries it with ``order_detail.state`` (``SENT``, or ``CANCELED`` with ``cancel_reason`` once
  Rappi cancelled it).
- Webhooks: ``place_order`` and ``cancel_order`` post ``{"event": "NEW_ORDER", "store_id", "order": {…}}`` and
  ``{"event": "ORDER_EVENT_CANCEL", "store_id", "order_id", "reason"}`` to the store's webhook URL, signed
  ``Rappi-Signature: t=<ts>,sign=<hex HMAC-SHA256(secret, "<t>.<body>")>``. ``POST /_config {"duplicates": true}``
  posts each webhook twice; ``hold()`` keeps webhooks back and ``release(reverse=True)`` posts them out of order;
  ``{"loseWebhooks": n}`` (``lose(n)``) loses the next ``n`` webhooks (Rappi gave up on them: the listing has them).
- Failures and control (``localdev/fake_platform.py``): ``POST /_config {"failRate", "failStatus", "failNext",
  "throttleNext"}``; ``POST /_orders {storeId, items: [{sku, name, quantity, price}], customerName?}`` places an
  order (answers ``{id}``); ``POST /_orders/{id}/cancel {reason}``; ``GET /_orders/{id}`` with its ``actions``;
  ``GET|DELETE /_received`` (with the webhook posts: event and BTRIX's status, 0 for a lost one).
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from chalicelib.integrations.rappi.client import sign
from localdev.fake_base import Answer
from localdev.fake_platform import PlatformFake

__all__ = ["FakeRappi"]

_WEEK_S = 7 * 24 * 3600
_ACTIONS = {("PUT", "take"): "TAKEN", ("PUT", "reject"): "CANCELLED", ("POST", "ready-for-pickup"): "READY"}


@dataclass
class _Store:
    """A Rappi store: its integration's credentials and where its webhooks go."""

    store_id: str
    client_id: str
    client_secret: str
    webhook_secret: str
    webhook_url: str | None = None


class FakeRappi(PlatformFake):
    """A fake Rappi on 127.0.0.1 (a free port unless ``port`` is given)."""

    kind = "rappi"
    options: ClassVar[dict[str, str]] = {"duplicates": "duplicates", "loseWebhooks": "lose_webhooks"}
    default_cancel_reason: ClassVar[str] = "Cliente cancelou"

    def __init__(self, port: int = 0, seed: int | None = None) -> None:
        self.duplicates = False
        self.lose_webhooks = 0
        self.stores: dict[str, _Store] = {}
        self._held: list[tuple[_Store, dict[str, Any]]] | None = None
        self._ids = itertools.count(4_000_001)
        self._open(port, seed, "fake-rappi")

    # --- python helpers ---------------------------------------------------------------------------------------------

    def add_store(self, name: str, webhook_url: str | None = None) -> dict[str, str]:
        """A store and its integration: ``{storeId, clientId, clientSecret, webhookSecret}``."""
        with self._lock:
            store = _Store(
                store_id=str(900_000 + len(self.stores) + 1),
                client_id=f"rappi-{secrets.token_hex(6)}",
                client_secret=secrets.token_urlsafe(24),
                webhook_secret=secrets.token_urlsafe(24),
                webhook_url=webhook_url,
            )
            self.stores[store.store_id] = store
            return {
                "storeId": store.store_id,
                "clientId": store.client_id,
                "clientSecret": store.client_secret,
                "webhookSecret": store.webhook_secret,
                "name": name,
            }

    def set_webhook(self, store_id: str, url: str) -> None:
        """Where the store's webhooks go (BTRIX's ``/hooks/rappi?tenant=<id>``)."""
        with self._lock:
            self.stores[store_id].webhook_url = url

    def place_order(self, store_id: str, items: list[dict[str, Any]], *, customer_name: str = "Cliente Rappi") -> str:
        """A customer orders at the store: its ``NEW_ORDER`` webhook is posted; returns the order id."""
        with self._lock:
            order_id = str(next(self._ids))
            products = round(sum(float(i["price"]) * int(i.get("quantity", 1)) for i in items), 2)
            order = {
                "order_detail": {
                    "order_id": order_id,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "delivery_method": "delivery",
                    "items": [
                        {
                            "sku": item.get("sku"),
                            "id": str(n),
                            "name": item["name"],
                            "type": "PRODUCT",
                            "price": float(item["price"]),
                            "quantity": int(item.get("quantity", 1)),
                            "comments": item.get("comments"),
                        }
                        for n, item in enumerate(items, start=1)
                    ],
                    "totals": {
                        "total_products": products,
                        "total_discounts": 0,
                        "charges": {"shipping": 4.5, "service_fee": 1.0},
                        "total_order": round(products + 5.5, 2),
                    },
                    "customer": {
                        "first_name": customer_name.split()[0],
                        "last_name": " ".join(customer_name.split()[1:]),
                    },
                    "delivery_information": {"complete_address": "Av. Paulista, 1000 - Bela Vista, São Paulo"},
                },
                "store": {"internal_id": store_id, "name": "Loja"},
            }
            self.orders[order_id] = {"order": order, "store_id": store_id, "status": "SENT", "actions": []}
            self._post(self.stores[store_id], {"event": "NEW_ORDER", "store_id": store_id, "order": order})
            return order_id

    def place(self, fields: dict[str, Any]) -> str:
        """``POST /_orders {storeId, items, customerName?}``."""
        items = list(fields["items"])
        return self.place_order(
            str(fields["storeId"]), items, customer_name=str(fields.get("customerName") or "Cliente")
        )

    def cancel_order(self, order_id: str, reason: str = default_cancel_reason) -> None:
        """Rappi cancels the order: its ``ORDER_EVENT_CANCEL`` webhook is posted."""
        with self._lock:
            found = self.orders[order_id]
            found["status"] = "CANCELLED"
            found["reason"] = reason
            body = {
                "event": "ORDER_EVENT_CANCEL",
                "store_id": found["store_id"],
                "order_id": order_id,
                "reason": reason,
            }
            self._post(self.stores[found["store_id"]], body)

    def hold(self) -> None:
        """Keep the next webhooks back (``release`` posts them)."""
        with self._lock:
            self._held = []

    def release(self, *, reverse: bool = False) -> None:
        """Post the held webhooks (``reverse``: newest first, out of order)."""
        with self._lock:
            held, self._held = self._held or [], None
        for store, body in reversed(held) if reverse else held:
            self._post(store, body)

    def lose(self, count: int = 1) -> None:
        """The next ``count`` webhooks never reach BTRIX (recorded as delivered with status 0)."""
        with self._lock:
            self.lose_webhooks = count

    # --- webhooks ---------------------------------------------------------------------------------------------------

    def _post(self, store: _Store, body: dict[str, Any]) -> None:
        if self._held is not None:
            self._held.append((store, body))
            return
        if store.webhook_url is None:
            return
        if self.lose_webhooks > 0:
            self.lose_webhooks -= 1
            self.webhooks.append({"event": body["event"], "status": 0})
            return
        raw = json.dumps(body).encode()
        for _ in range(2 if self.duplicates else 1):
            signed = {"Rappi-Signature": sign(store.webhook_secret, raw)}
            self._post_webhook(store.webhook_url, raw, signed, {"event": body["event"]})

    # --- the wire ---------------------------------------------------------------------------------------------------

    def _serve(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        if method == "POST" and path == "/restaurants/auth/v1/token/login/integrations":
            return self._login(body)
        client_id = self._bearer(headers.get("x-authorization", ""))
        if client_id is None:
            return self._error(401, "invalid token")
        if method == "GET" and path == "/orders/status/sent":
            return Answer(200, self._sent(client_id))
        parts = path.strip("/").split("/")
        if parts[0] != "orders" or len(parts) < 3 or parts[1] not in self.orders:
            return self._error(404, f"no route {method} {path}")
        order = self.orders[parts[1]]
        if self.stores[order["store_id"]].client_id != client_id:
            return self._error(404, "order not found")
        action = parts[2]
        if (method, action) not in _ACTIONS:
            return self._error(404, f"no route {method} {path}")
        if order["status"] == "CANCELLED" and action != "reject":
            return self._error(409, "the order is cancelled")
        if action == "reject" and not json.loads(body or b"{}").get("reason"):
            return self._error(400, "reason is required")
        order["actions"].append(action)
        order["status"] = _ACTIONS[(method, action)]
        return Answer(200, {"message": "ok"})

    def _login(self, body: bytes) -> Answer:
        fields = json.loads(body or b"{}")
        store = next((s for s in self.stores.values() if s.client_id == fields.get("client_id")), None)
        if store is None or not secrets.compare_digest(store.client_secret, str(fields.get("client_secret", ""))):
            return self._error(401, "invalid credentials")
        token = self._issue(store.client_id, _WEEK_S)
        return Answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": _WEEK_S})

    def _sent(self, client_id: str) -> list[dict[str, Any]]:
        listed = []
        for found in self.orders.values():
            if self.stores[found["store_id"]].client_id != client_id or found["actions"]:
                continue  # another store's, or one the store took or rejected
            order = copy.deepcopy(found["order"])
            cancelled = found["status"] == "CANCELLED"
            order["order_detail"]["state"] = "CANCELED" if cancelled else "SENT"
            if cancelled:
                order["order_detail"]["cancel_reason"] = found["reason"]
            listed.append(order)
        return listed
