"""Serves the provider webhook functions locally at ``/hooks/<provider>``, as Lambda function URLs would.

Each request becomes a function-URL event (payload format 2.0) for the handler ``functions.FUNCTION_URLS``
names; the handler's result becomes the HTTP response.
"""

from __future__ import annotations

import base64
import importlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from chalice.local import LambdaContext

from chalicelib.core.problems import PROBLEM_CONTENT_TYPE, gateway_problem
from localdev.logs import invoke, request_line

__all__ = ["function_context", "function_url_event", "make_server"]

Handler = Callable[[dict[str, Any], Any], Any]
_TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/", "application/xml")


def function_url_event(method: str, target: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The Lambda function URL event (payload 2.0) for one HTTP request."""
    parts = urlsplit(target)
    lower = {k.lower(): v for k, v in headers.items()}
    # As a function URL does: the scheme the caller used (plain HTTP here), which URL-signing providers such
    # as Twilio include in what they sign.
    lower.setdefault("x-forwarded-proto", "http")
    is_text = any(lower.get("content-type", "").startswith(t) for t in _TEXT_TYPES)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": lower,
        "requestContext": {
            "http": {"method": method, "path": parts.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": str(uuid.uuid4()),
            "timeEpoch": int(time.time() * 1000),
        },
        "body": body.decode() if is_text else base64.b64encode(body).decode(),
        "isBase64Encoded": not is_text,
    }
    if parts.query:
        event["queryStringParameters"] = dict(parse_qsl(parts.query, keep_blank_values=True))
    return event


def function_context(provider: str) -> LambdaContext:
    """A Lambda context like the one a webhook function gets in AWS (30 seconds to run)."""
    return LambdaContext(function_name=f"hook-{provider}", memory_size=512, max_runtime_ms=30_000)


def _resolve(spec: str) -> Handler:
    module, _, name = spec.partition(":")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler


def make_server(host: str, port: int, routes: Mapping[str, str]) -> ThreadingHTTPServer:
    """A server for ``routes`` (provider → ``module:function``)."""
    handlers = {provider: _resolve(spec) for provider, spec in routes.items()}

    class FunctionUrlHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            self._started = time.monotonic()
            path = urlsplit(self.path).path
            prefix, _, provider = path.strip("/").partition("/")
            handler = handlers.get(provider) if prefix == "hooks" else None
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if handler is None:
                problem = gateway_problem("MISSING_AUTHENTICATION_TOKEN").model_copy(update={"instance": path})
                self._send(404, {"content-type": PROBLEM_CONTENT_TYPE}, problem.model_dump_json().encode())
                return
            event = function_url_event(self.command, self.path, dict(self.headers), body)
            result = invoke(handler, event, function_context(provider))
            if not isinstance(result, dict) or "statusCode" not in result:
                # A function URL treats any other return value as a 200 JSON body.
                self._send(200, {"content-type": "application/json"}, json.dumps(result).encode())
                return
            payload = result.get("body") or ""
            raw = base64.b64decode(payload) if result.get("isBase64Encoded") else str(payload).encode()
            self._send(int(result["statusCode"]), result.get("headers") or {}, raw)

        def _send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle  # noqa: N815 - http.server names

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """One short line per request on ``make run``'s terminal (nothing in tests)."""
            provider = urlsplit(self.path).path.strip("/").partition("/")[2] or "?"
            request_line(f"hook-{provider}", self.command, urlsplit(self.path).path, code, self._started)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: requests are logged by ``log_request`` above, errors by the function."""

    return ThreadingHTTPServer((host, port), FunctionUrlHandler)
