"""What every fake provider on loopback shares: serving on 127.0.0.1 in a daemon thread (``LoopbackFake``), the
received log, failure injection and the ``/_config`` + ``/_received`` control routes; the request handlers that
pass a request to a fake and write its answer (``request_handler``, ``json_handler`` with ``Answer``); a provider's
request window (``window_full``); an ERP's stock count; and the faults of the carriers' and platforms' fakes
(``FaultyFake``: throttling, latency, lost answers, a parcel's moves)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = [
    "Answer",
    "FaultyFake",
    "LoopbackFake",
    "Served",
    "basic_credentials",
    "json_handler",
    "request_handler",
    "sign_hex",
    "stock_count",
    "window_full",
]

# What a fake serves for one request: status, body and response headers.
Served = tuple[int, bytes, dict[str, str]]


class LoopbackFake:
    """What every fake server shares: it serves on 127.0.0.1 in a daemon thread, keeps what it received and can be
    told to fail (``failRate``: a share of requests, ``failNext``: the next few, answering ``failStatus``)."""

    received: list[dict[str, Any]]
    fail_rate: float
    fail_status: int
    fail_next: int
    _random: random.Random
    _lock: threading.RLock
    _server: ThreadingHTTPServer
    _thread: threading.Thread

    def _init_failures(self, seed: int | None) -> None:
        """No failures yet; ``seed`` makes ``failRate``'s draws repeatable."""
        self.fail_rate, self.fail_status, self.fail_next = 0.0, 503, 0
        self._random = random.Random(seed)  # noqa: S311 - failure injection, not security

    def _configure_failures(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Take ``failRate``, ``failStatus`` and ``failNext`` from a ``POST /_config`` body (the caller holds the
        lock); the three now in force."""
        self.fail_rate = float(config.get("failRate", self.fail_rate))
        self.fail_status = int(config.get("failStatus", self.fail_status))
        self.fail_next = int(config.get("failNext", self.fail_next))
        return {"failRate": self.fail_rate, "failStatus": self.fail_status, "failNext": self.fail_next}

    def _failing(self) -> bool:
        """Whether this request fails on purpose: one of the next ``failNext``, or drawn at ``failRate``."""
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return True
            return self._random.random() < self.fail_rate

    def configure(self, **config: Any) -> dict[str, Any]:
        """What ``POST /_config`` does, from Python; the settings now in force."""
        raise NotImplementedError

    def _received_log(self, method: str, **beside: Any) -> dict[str, Any]:
        """``GET /_received``: what the fake received (and ``beside`` it what this fake adds); ``DELETE`` forgets
        it first."""
        with self._lock:
            if method == "DELETE":
                self.received.clear()
            return {"received": list(self.received), **beside}

    def _common_control(self, method: str, path: str, body: bytes, **beside: Any) -> Answer | None:
        """``POST /_config`` (``configure``) and ``GET|DELETE /_received``; None for another path."""
        if path == "/_config" and method == "POST":
            return Answer(200, self.configure(**json.loads(body or b"{}")))
        if path == "/_received":
            return Answer(200, self._received_log(method, **beside))
        return None

    def _listen(self, port: int, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the fake."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (if it started: ``shutdown`` would wait forever otherwise) and close the socket."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def accepted(self) -> list[dict[str, Any]]:
        """The requests the fake accepted (answered 2xx)."""
        with self._lock:
            return [r for r in self.received if 200 <= int(r["status"]) < 300]

    def _respond(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Served:
        """(status, body, response headers) of one request (``target``: path and query): each fake answers as its
        provider does."""
        raise NotImplementedError

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return request_handler(self._respond)


def window_full(recent: deque[float], limit: int, seconds: float) -> bool:
    """Whether ``limit`` requests already came within the last ``seconds`` (``recent``: their ``time.monotonic()``
    times, oldest first; pruned here); when not, this request joins them. A provider's rate limit or quota."""
    now = time.monotonic()
    while recent and recent[0] <= now - seconds:
        recent.popleft()
    if len(recent) >= limit:
        return True
    recent.append(now)
    return False


def basic_credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """The (user, password) of an ``Authorization: Basic`` header (lower-cased names); None without one, or when it
    does not decode."""
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    if scheme != "Basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None
    return user, password


def sign_hex(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``body`` keyed with ``secret``: how iFood signs its webhooks (``X-IFood-Signature``)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request_handler(respond: Callable[[str, str, bytes, dict[str, str]], Served]) -> type[BaseHTTPRequestHandler]:
    """A request handler that passes (method, path with query, body, lower-cased headers) to ``respond`` and writes
    the (status, body, headers) it returns (``Content-Length`` added)."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, payload, sent = respond(self.command, self.path, body, headers)
            self.send_response(status)
            for name, value in {**sent, "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 - the names http.server dispatches to

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests and make run print what matters themselves."""

    return Handler


@dataclass(frozen=True)
class Answer:
    """What a fake answers: a status, a JSON body (None: empty) and extra headers (a redirect's Location)."""

    status: int
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()


def stock_count(set_stock: Callable[[str, int], None], body: bytes) -> Answer:
    """An ERP fake's ``POST /_stock {"code", "units"}``: a person counts a product in the ERP (``set_stock``)."""
    try:
        sent = json.loads(body or b"{}")
        set_stock(str(sent["code"]), int(sent["units"]))
    except (KeyError, TypeError, ValueError, StopIteration):
        return Answer(404, {"error": "send the code of a product the fake has and the units counted"})
    return Answer(200, {"code": sent["code"], "units": int(sent["units"])})


class FaultyFake(LoopbackFake):
    """A fake told how to fail (``POST /_config`` or ``configure``): a share of requests (``failRate``) or the next
    few (``failNext``) answer ``failStatus``; the next few are throttled (``throttleNext``), as is any caller past
    ``per_minute`` requests a minute; each request first waits ``latencyMs``. ``loseNext``: the next few calls that
    create something (a label, a shipment) create it, then their answer is lost (504, as a gateway timing out after
    the carrier did the work): a retry must look it up, not create a second one."""

    lose_next: int
    throttle_next: int
    latency_ms: int
    per_minute: int
    _window: dict[str, list[float]]

    def _init_faults(self, seed: int | None, per_minute: int) -> None:
        self._init_failures(seed)
        self.lose_next, self.throttle_next, self.latency_ms, self.per_minute = 0, 0, 0, per_minute
        self._window = {}

    def configure(self, **config: Any) -> dict[str, Any]:
        """What ``POST /_config`` does, from Python; the faults now in force."""
        with self._lock:
            failures = self._configure_failures(config)
            self.lose_next = int(config.get("loseNext", self.lose_next))
            self.throttle_next = int(config.get("throttleNext", self.throttle_next))
            self.latency_ms = int(config.get("latencyMs", self.latency_ms))
            return {
                **failures,
                "loseNext": self.lose_next,
                "throttleNext": self.throttle_next,
                "latencyMs": self.latency_ms,
            }

    def _record(self, method: str, path: str, reply: Answer, started: float, **fields: Any) -> None:
        """Keep one served request on ``received`` (the caller holds the lock): its method, path, status, the
        fake's own ``fields`` and how long it took."""
        elapsed = (time.perf_counter() - started) * 1000
        self.received.append({"method": method, "path": path, "status": reply.status, **fields, "elapsedMs": elapsed})

    def _lost(self, answer: Answer) -> Answer:
        """What a creating call answers: ``answer``, or a 504 when it succeeded and its answer is to be lost
        (``loseNext``)."""
        if answer.status < 300 and self.lose_next > 0:
            self.lose_next -= 1
            return Answer(504, {"message": "Gateway Timeout"})
        return answer

    def _throttled(self, caller: str) -> bool:
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return True
        now = time.monotonic()
        window = [t for t in self._window.get(caller, []) if t > now - 60]
        window.append(now)
        self._window[caller] = window
        return len(window) > self.per_minute

    def _delay(self) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

    def _serve_json(self, body: bytes, invalid: Answer, serve: Callable[[Any], Answer]) -> tuple[Any, Answer]:
        """One API request with a JSON body (the caller holds the lock): the body (None when empty) and ``serve``'s
        answer to it, or None and ``invalid`` (the provider's own words) when the body is not JSON."""
        try:
            sent = json.loads(body) if body else None
        except ValueError:
            return None, invalid
        return sent, serve(sent)

    def _move_control(
        self, method: str, path: str, collection: str, moves: Mapping[str, Callable[[str], Any]]
    ) -> Answer | None:
        """``POST /_<collection>/<id>/<move>``: what the carrier did with a parcel (its state after), 404 for one it
        does not have; None for another path."""
        matched = re.fullmatch(rf"/_{collection}/([^/]+)/([a-z]+)", path)
        if matched is None or method != "POST" or matched.group(2) not in moves:
            return None
        try:
            return Answer(200, moves[matched.group(2)](matched.group(1)))
        except KeyError:
            return Answer(404, {"message": f"no {collection} {matched.group(1)}"})

    def _shared_control(
        self,
        method: str,
        path: str,
        body: bytes,
        moves: tuple[str, Mapping[str, Callable[[str], Any]]] | None = None,
    ) -> Answer | None:
        """``GET|DELETE /_received``, ``POST /_config`` and a carrier's ``POST /_<collection>/<id>/<move>`` (``moves``:
        the collection and its moves); None for the fake's own control paths."""
        if moves is not None:
            moved = self._move_control(method, path, *moves)
            if moved is not None:
                return moved
        return self._common_control(method, path, body)


def json_handler(answer: Callable[[str, str, bytes, dict[str, str]], Answer]) -> type[BaseHTTPRequestHandler]:
    """A request handler that passes (method, path with query, body, lower-cased headers) to ``answer`` and
    writes its ``Answer`` as JSON (no body for 204 and redirects)."""

    def respond(method: str, target: str, body: bytes, headers: dict[str, str]) -> Served:
        reply = answer(method, target, body, headers)
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        sent = dict(reply.headers)
        if payload:
            sent["Content-Type"] = "application/json; charset=UTF-8"
        return reply.status, payload, sent

    return request_handler(respond)
