"""The HTTP side of a webhook function: a function-URL event (payload 2.0) in, a function-URL response out.

``run`` wraps a provider handler: it builds the ``HookRequest``, maps ``AppError``s to problem+json (a bad
signature is ``Unauthorized`` → 401) and logs each refusal once. Handlers only verify, route and enqueue.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.core.errors import AppError, MalformedRequest
from chalicelib.core.observability import logger
from chalicelib.core.problems import PROBLEM_CONTENT_TYPE, problem_for_status, problem_from_error

__all__ = ["HookRequest", "HookResponse", "accepted", "json_body", "problem", "run", "text"]

HookResponse = dict[str, Any]


@dataclass(frozen=True)
class HookRequest:
    """One webhook request: method, lowercased headers, query, and the body exactly as the provider sent it."""

    method: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    raw_query: str
    body: bytes
    request_id: str = ""
    source_ip: str = ""

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> HookRequest:
        """The request carried by a Lambda function-URL event (payload format 2.0)."""
        context: Mapping[str, Any] = event.get("requestContext") or {}
        http: Mapping[str, Any] = context.get("http") or {}
        raw = event.get("body") or ""
        body = base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode()
        raw_query = str(event.get("rawQueryString") or "")
        return cls(
            method=str(http.get("method") or "GET").upper(),
            path=str(event.get("rawPath") or http.get("path") or "/"),
            headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
            # From the raw string, not queryStringParameters: that one joins repeated names with commas.
            query=dict(parse_qsl(raw_query, keep_blank_values=True)),
            raw_query=raw_query,
            body=body,
            request_id=str(context.get("requestId") or ""),
            source_ip=str(http.get("sourceIp") or ""),
        )

    def header(self, name: str) -> str | None:
        """A header's value (names are case-insensitive)."""
        return self.headers.get(name.lower())

    @property
    def text(self) -> str:
        """The body as text (UTF-8; undecodable bytes replaced, for parsing only: signatures use ``body``)."""
        return self.body.decode("utf-8", errors="replace")

    @property
    def url(self) -> str:
        """The URL the provider called, as it would sign it: scheme and host from the headers."""
        scheme = self.headers.get("x-forwarded-proto", "https")
        host = self.headers.get("host", "")
        return f"{scheme}://{host}{self.path}" + (f"?{self.raw_query}" if self.raw_query else "")


def json_body(body: bytes, detail: str) -> Any:
    """A provider's body parsed as JSON; ``MalformedRequest(detail)`` (400) when it is not JSON or nests deeper than
    the parser goes (``RecursionError``: a 500 anyone holding a signing secret could cause at will)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedRequest(detail=detail) from exc


def accepted(body: Mapping[str, Any] | None = None) -> HookResponse:
    """200 with a small JSON body: the provider may stop retrying."""
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body or {"received": True}),
    }


def text(status: int, content: str) -> HookResponse:
    """A plain-text answer (the Meta verification challenge)."""
    return {"statusCode": status, "headers": {"content-type": "text/plain; charset=utf-8"}, "body": content}


def problem(status: int, detail: str | None = None, instance: str | None = None) -> HookResponse:
    """A problem+json answer for ``status``."""
    body = problem_for_status(status, detail).model_copy(update={"instance": instance})
    return {
        "statusCode": status,
        "headers": {"content-type": PROBLEM_CONTENT_TYPE},
        "body": body.model_dump_json(exclude_none=True),
    }


def run(
    provider: str,
    handle: Callable[[HookRequest, Any], HookResponse],
    event: Mapping[str, Any],
    context: Any,
    methods: tuple[str, ...] = ("POST",),
) -> HookResponse:
    """Call ``handle`` for the event (405 for a method the provider never uses); an ``AppError`` becomes its
    problem+json response."""
    request = HookRequest.of(event)
    logger.set_correlation_id(request.request_id or None)
    if request.method not in methods:
        refused = problem(405, f"{provider} webhooks are {' or '.join(methods)} requests", request.path)
        return {**refused, "headers": {**refused["headers"], "allow": ", ".join(methods)}}
    try:
        return handle(request, context)
    except AppError as exc:
        found, headers = problem_from_error(exc)
        log = logger.error if found.status >= 500 else logger.warning
        log("webhook refused", extra={"provider": provider, "status": found.status, "problem": found.type})
        return {
            "statusCode": found.status,
            "headers": {"content-type": PROBLEM_CONTENT_TYPE, **headers},
            "body": found.model_copy(update={"instance": request.path}).model_dump_json(exclude_none=True),
        }
