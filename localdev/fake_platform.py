"""What the delivery platforms' fakes (iFood, Rappi) share: failure injection, the access tokens they issue, the orders
placed on them with the store's calls, the webhook posts they make, and the control routes tests and people drive
them with.

Control routes (no token, never failed by injection, not in ``received``):

- ``POST /_config``: the faults of ``FaultyFake`` (``failRate``, ``failStatus``, ``failNext``, ``throttleNext``,
  ``latencyMs``; a 429 carries ``Retry-After: 1``) and the fake's own traps (its ``options``).
- ``GET|DELETE /_received``: the requests it answered (method, path, status) and its webhook posts with BTRIX's answer.
- ``POST /_orders {…}`` places an order (the fake's ``place``; answers ``{id}``), ``POST /_orders/{id}/cancel
  {reason}`` is the platform cancelling it, ``GET /_orders/{id}`` shows it with the ``actions`` the store made.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any, ClassVar

import httpx

from localdev.fake_base import Answer, FaultyFake, json_handler

__all__ = ["PlatformFake"]

# Nobody is throttled for their pace: only ``throttleNext`` answers 429.
_NO_PACE_LIMIT = 1 << 30


class PlatformFake(FaultyFake):
    """A delivery platform's fake: subclasses serve the platform's API (``_serve``), place and cancel its orders
    (``place``, ``cancel_order``) and name its error body (``_error``) and traps (``options``)."""

    # ``POST /_config`` names of the fake's own traps → its attributes.
    options: ClassVar[dict[str, str]] = {}
    # The reason ``POST /_orders/{id}/cancel`` gives when none is sent.
    default_cancel_reason: ClassVar[str] = "Cliente desistiu"

    def _open(self, port: int, seed: int | None, name: str) -> None:
        """Set the shared state up and listen (the subclass's ``__init__`` calls it last)."""
        self._init_faults(seed, _NO_PACE_LIMIT)
        self.received = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.webhooks: list[dict[str, Any]] = []  # webhook posts: what was posted, and BTRIX's status (0: no answer)
        self._tokens: dict[str, tuple[str, float]] = {}  # token → (client id, expires at)
        self._lock = threading.RLock()  # re-entrant: a control route places an order, which takes it again
        self._listen(port, json_handler(self._answer), name)

    # --- python helpers ---------------------------------------------------------------------------------------------

    def configure(self, **config: Any) -> dict[str, Any]:
        """Failure injection and the fake's traps (the names of ``POST /_config``); the faults now in force."""
        with self._lock:
            for name, attribute in self.options.items():
                if name in config:
                    setattr(self, attribute, config[name])
            return super().configure(**config)

    def actions(self, order_id: str) -> list[str]:
        """The store's calls on the order, in order."""
        with self._lock:
            return list(self.orders[order_id]["actions"])

    def expire_tokens(self) -> None:
        """Every token issued so far answers 401, as one past its life does."""
        with self._lock:
            self._tokens = {token: (client, 0.0) for token, (client, _) in self._tokens.items()}

    def place(self, fields: dict[str, Any]) -> str:
        """``POST /_orders``: an order placed from the control route's fields; its id."""
        raise NotImplementedError

    def cancel_order(self, order_id: str, reason: str = default_cancel_reason) -> None:
        """The platform cancels the order."""
        raise NotImplementedError

    # --- for the subclasses -----------------------------------------------------------------------------------------

    def _issue(self, client_id: str, ttl_s: float) -> str:
        """A new access token of ``client_id``, good for ``ttl_s`` seconds."""
        token = secrets.token_urlsafe(32)
        self._tokens[token] = (client_id, time.time() + ttl_s)
        return token

    def _bearer(self, header: str) -> str | None:
        """The client id of a live ``Bearer <token>`` header value, None for anything else."""
        scheme, _, token = header.partition(" ")
        found = self._tokens.get(token) if scheme.lower() == "bearer" else None
        return found[0] if found is not None and found[1] >= time.time() else None

    def _post_webhook(self, url: str, raw: bytes, headers: dict[str, str], record: dict[str, Any]) -> None:
        """Post one webhook to BTRIX and keep ``record`` with its answer's status in ``webhooks``."""
        try:
            sent = {"Content-Type": "application/json", **headers}
            status = httpx.post(url, content=raw, headers=sent, timeout=30).status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self.webhooks.append({**record, "status": status})

    def _error(self, status: int, message: str) -> Answer:
        """The platform's error answer."""
        return Answer(status, {"message": message})

    def _serve(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        raise NotImplementedError

    def _after(self) -> None:
        """What to do once a request is answered and the lock is free (iFood: post the webhooks it caused)."""

    # --- the wire ---------------------------------------------------------------------------------------------------

    def _answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Answer:
        path = target.split("?", 1)[0]
        if not path.startswith("/_"):
            self._delay()  # outside the lock: a slow platform still answers many callers at once
        with self._lock:
            if path.startswith("/_"):
                answer = self._control(method, path, body)
            else:
                answer = self._fault() or self._serve(method, path, body, headers)
                # What was asked and answered; never a secret (no token form, no authorization header).
                self.received.append({"method": method, "path": path, "status": answer.status})
        self._after()
        return answer

    def _fault(self) -> Answer | None:
        if self._failing():
            status = self.fail_status
        elif self._throttled("any"):
            status = 429
        else:
            return None
        answer = self._error(status, "rate limit" if status == 429 else "injected failure")
        return Answer(answer.status, answer.body, (("Retry-After", "1"),)) if status == 429 else answer

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        fields = json.loads(body or b"{}") if method == "POST" else {}
        if path == "/_config" and method == "POST":
            return Answer(200, self.configure(**fields))
        if path == "/_received":
            return Answer(200, self._received_log(method, webhooks=list(self.webhooks)))
        if path == "/_orders" and method == "POST":
            return Answer(201, {"id": self.place(fields)})
        parts = path.strip("/").split("/")
        if parts[0] == "_orders" and len(parts) >= 2 and parts[1] in self.orders:
            if len(parts) == 3 and parts[2] == "cancel" and method == "POST":
                self.cancel_order(parts[1], str(fields.get("reason") or self.default_cancel_reason))
                return Answer(202)
            if len(parts) == 2 and method == "GET":
                return Answer(200, self.orders[parts[1]])
        return self._error(404, f"no control route {method} {path}")
