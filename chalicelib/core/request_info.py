"""What a request says about where it came from: its id and source (rate limits, the audit log) and what a browser
sent with it (origin, host, cookies, CSRF header: browser sessions). Views get it as ``meta=``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Request

__all__ = ["CSRF_HEADER", "RequestMeta", "parse_cookies", "request_meta"]

# The double-submit CSRF token of a browser session (auth/cookies.py): the same value as the CSRF cookie.
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class RequestMeta:
    """Where a request came from (for rate limits and the audit log) and what a browser sent with it (its origin,
    cookies, CSRF header: browser sessions); views get it as ``meta=``."""

    request_id: str | None
    source_ip: str | None
    user_agent: str | None
    method: str = "GET"
    origin: str | None = None
    host: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    csrf_token: str | None = None
    # What API Gateway's path adds before the route's (the stage, e.g. /api), for cookies limited to a route.
    base_path: str = ""


def parse_cookies(header: str | None) -> dict[str, str]:
    """The cookies of a ``Cookie`` header by name (the first of a repeated name; at most 50 read)."""
    found: dict[str, str] = {}
    for part in (header or "").split(";")[:50]:
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in found:
            found[name] = value.strip().strip('"')
    return found


def request_meta(request: Request) -> RequestMeta:
    """The request id and source IP API Gateway recorded, the user agent, and the browser's origin and cookies."""
    context: dict[str, Any] = dict(request.context or {})
    identity: dict[str, Any] = dict(context.get("identity") or {})
    headers: Mapping[str, str] = request.headers or {}
    asked = str(context.get("path") or request.path)
    route = str(request.path or "")
    return RequestMeta(
        request_id=context.get("requestId"),
        source_ip=identity.get("sourceIp"),
        user_agent=headers.get("user-agent"),
        method=str(request.method or "GET").upper(),
        origin=headers.get("origin"),
        host=headers.get("host"),
        cookies=parse_cookies(headers.get("cookie")),
        csrf_token=headers.get(CSRF_HEADER.lower()),
        base_path=asked.removesuffix(route) if route and asked.endswith(route) else "",
    )
