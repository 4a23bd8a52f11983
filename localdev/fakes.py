"""Fake providers on loopback, speaking the wire formats of Twilio, Meta's WhatsApp Cloud API, Amazon SES v2 and a
Web Push service, for tests and for ``make run`` without credentials.

Each fake is a small HTTP server. It answers as the provider does, can be told to fail a share of requests
(``POST /_config {"failRate": 0.3, "failStatus": 503}``), and lists what it received at ``GET /_received``
(``DELETE /_received`` forgets it). A failed request is recorded too, with the status it got, so a test can tell
what was accepted from what was refused.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeKind", "FakeProvider"]

FakeKind = Literal["twilio", "meta", "ses", "webpush"]
Reply = tuple[int, dict[str, Any], str | None]


def _twilio(path: str, body: bytes, headers: dict[str, str]) -> Reply:
    form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
    parts = path.strip("/").split("/")
    if len(parts) != 4 or parts[0] != "2010-04-01" or parts[3] != "Messages.json" or not form.get("To"):
        return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}, None
    if not headers.get("authorization", "").startswith("Basic "):
        return 401, {"code": 20003, "message": "Authenticate", "status": 401}, None
    sid = "SM" + secrets.token_hex(16)
    resource = {
        "sid": sid,
        "account_sid": parts[2],
        "to": form["To"],
        "from": form.get("From"),
        "body": form.get("Body"),
        "status": "queued",
        "num_segments": "1",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "uri": f"/2010-04-01/Accounts/{parts[2]}/Messages/{sid}.json",
    }
    return 201, resource, sid


def _meta(path: str, body: bytes, headers: dict[str, str]) -> Reply:
    parts = path.strip("/").split("/")
    if len(parts) != 3 or parts[2] != "messages":
        return 404, {"error": {"message": "Unknown path", "type": "GraphMethodException", "code": 100}}, None
    if not headers.get("authorization", "").startswith("Bearer "):
        return 401, {"error": {"message": "Invalid OAuth access token", "type": "OAuthException", "code": 190}}, None
    sent = json.loads(body or b"{}")
    if sent.get("messaging_product") != "whatsapp" or "to" not in sent:
        return 400, {"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100}}, None
    wamid = "wamid." + secrets.token_urlsafe(24)
    answer = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": sent["to"], "wa_id": sent["to"]}],
        "messages": [{"id": wamid}],
    }
    return 200, answer, wamid


def _ses(path: str, body: bytes, headers: dict[str, str]) -> Reply:
    if path.rstrip("/") != "/v2/email/outbound-emails":
        return 404, {"message": "Not found"}, None
    sent = json.loads(body or b"{}")
    if not sent.get("FromEmailAddress") or not sent.get("Destination", {}).get("ToAddresses"):
        return 400, {"message": "Missing sender or destination"}, None
    message_id = secrets.token_hex(30)
    return 200, {"MessageId": message_id}, message_id


def _webpush(path: str, body: bytes, headers: dict[str, str]) -> Reply:
    if not path.startswith("/push/") or not headers.get("authorization", "").startswith("vapid t="):
        return 400, {"reason": "missing VAPID authorization"}, None
    if headers.get("content-encoding") != "aes128gcm":
        return 400, {"reason": "payload must be aes128gcm"}, None
    message_id = secrets.token_hex(12)
    return 201, {}, message_id


_ROUTES: dict[FakeKind, Callable[[str, bytes, dict[str, str]], Reply]] = {
    "twilio": _twilio,
    "meta": _meta,
    "ses": _ses,
    "webpush": _webpush,
}
_FAILURES: dict[FakeKind, dict[str, Any]] = {
    "twilio": {"code": 20500, "message": "Internal Server Error", "status": 500},
    "meta": {"error": {"message": "Service temporarily unavailable", "type": "OAuthException", "code": 2}},
    "ses": {"message": "Service unavailable"},
    "webpush": {"reason": "temporarily unavailable"},
}


class FakeProvider:
    """One fake provider on 127.0.0.1 (a free port unless ``port`` is given)."""

    def __init__(self, kind: FakeKind, port: int = 0, seed: int | None = None) -> None:
        self.kind = kind
        self.fail_rate = 0.0
        self.fail_status = 503
        self.received: list[dict[str, Any]] = []
        self._random = random.Random(seed)  # noqa: S311 - failure injection, not security
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"fake-{kind}", daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the fake."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeProvider:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def accepted(self) -> list[dict[str, Any]]:
        """The requests the fake accepted (answered 2xx)."""
        with self._lock:
            return [r for r in self.received if 200 <= int(r["status"]) < 300]

    def _answer(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path == "/_config" and method == "POST":
            config = json.loads(body or b"{}")
            self.fail_rate = float(config.get("failRate", self.fail_rate))
            self.fail_status = int(config.get("failStatus", self.fail_status))
            return 200, {"failRate": self.fail_rate, "failStatus": self.fail_status}
        if path == "/_received":
            with self._lock:
                if method == "DELETE":
                    self.received.clear()
                return 200, {"received": list(self.received)}
        with self._lock:
            failing = self._random.random() < self.fail_rate
        if failing:
            status, answer, message_id = self.fail_status, _FAILURES[self.kind], None
        else:
            status, answer, message_id = _ROUTES[self.kind](path, body, headers)
        content_type = headers.get("content-type", "")
        if "json" in content_type:
            shown: Any = json.loads(body or b"null")
        elif "x-www-form-urlencoded" in content_type:
            shown = {name: values[0] for name, values in parse_qs(body.decode()).items()}
        else:
            shown = {"bytes": len(body)}
        entry = {"method": method, "path": path, "status": status, "messageId": message_id, "body": shown}
        with self._lock:
            self.received.append(entry)
        return status, answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, answer = fake._answer(self.command, urlsplit(self.path).path, body, headers)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if fake.kind == "ses" and status >= 500:
                    self.send_header("x-amzn-ErrorType", "ServiceUnavailable")
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _serve  # noqa: N815 - the names http.server dispatches to

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests and make run print what matters themselves."""

        return Handler
