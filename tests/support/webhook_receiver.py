"""A webhook receiver on loopback for tests: records every request and answers with the status it is told."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Received", "WebhookReceiver"]


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def webhook_id(self) -> str:
        """The ``webhook-id`` header."""
        return self.headers.get("webhook-id", "")


class WebhookReceiver:
    """``ThreadingHTTPServer`` on 127.0.0.1 (a free port); use as a context manager.

    ``answer(status)`` sets the status of every following request; ``script(statuses)`` answers the next requests
    with those statuses, then falls back to the default.
    """

    def __init__(self, status: int = 200) -> None:
        self._lock = threading.Lock()
        self._default = status
        self._script: list[int] = []
        self._received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                status = receiver._record(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = b'{"ok": true}' if 200 <= status < 300 else b'{"error": "told to fail"}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, request: Received) -> int:
        with self._lock:
            self._received.append(request)
            return self._script.pop(0) if self._script else self._default

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        """A URL that reaches this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, status: int) -> None:
        """Answer every following request with ``status``."""
        with self._lock:
            self._default = status
            self._script.clear()

    def script(self, statuses: Iterable[int]) -> None:
        """Answer the next requests with ``statuses``, in order."""
        with self._lock:
            self._script = list(statuses)

    @property
    def received(self) -> list[Received]:
        """Every request so far, oldest first."""
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int, timeout_s: float = 20.0, pump: Callable[[], object] | None = None) -> list[Received]:
        """The requests once there are at least ``count``, calling ``pump`` (e.g. the queue worker) meanwhile."""
        deadline = time.monotonic() + timeout_s
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"got {len(self.received)} of {count} webhook requests"
            if pump is None or not pump():
                time.sleep(0.05)
        return self.received
