"""CORS: which browser origins may call the API and read its answers (with credentials), preflights included.

The origins are a tenant setting (``allowedOrigins``, ``PATCH /tenant``); nothing is allowed by default. A request
whose caller the guard identified is answered with CORS headers only when its ``Origin`` is one of the caller's
tenant's (the guard calls ``allow_origins``); a preflight and a public route (login, refresh: no tenant is known yet)
when some tenant allows the origin (``use_origin_lookup``: a routing item per origin, one key read). Credentials
are allowed exactly for those origins, never with ``*``. Every answer to a request with an ``Origin`` says
``Vary: Origin``.

API Gateway hands ``OPTIONS`` to the function (the app declares no OPTIONS routes, so Chalice would answer 405 with
the path's methods in ``Allow``: ``preflight`` turns that into the preflight answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from typing import Any

from chalice.app import Request, Response

from chalicelib.core.i18n import N_
from chalicelib.core.problems import problem_for_status, problem_response

__all__ = [
    "ALLOWED_HEADERS",
    "EXPOSED_HEADERS",
    "add_vary",
    "allow_origins",
    "decorate",
    "end_request",
    "is_preflight",
    "preflight",
    "start_request",
    "use_origin_lookup",
]

ALLOWED_HEADERS = ("Accept-Language", "Authorization", "Content-Type", "Idempotency-Key", "X-CSRF-Token")
EXPOSED_HEADERS = ("Content-Language", "Retry-After", "X-Request-Id")
_MAX_AGE_S = 600

# The origins of the authenticated caller's tenant, for this request (None: no caller identified).
_caller_origins: ContextVar[frozenset[str] | None] = ContextVar("btrix_caller_origins", default=None)
_lookup: list[Callable[[str], bool]] = []


def use_origin_lookup(lookup: Callable[[str], bool]) -> None:
    """Answer "does some tenant allow this origin?" with ``lookup`` (wired by app.py: the tenants capability)."""
    _lookup[:] = [lookup]


def allow_origins(origins: Iterable[str]) -> None:
    """The guard identified the caller: this request's CORS answer follows its tenant's ``origins`` only."""
    _caller_origins.set(frozenset(origins))


def start_request() -> Token[frozenset[str] | None]:
    """A new request knows no caller yet (the middleware, around each request)."""
    return _caller_origins.set(None)


def end_request(token: Token[frozenset[str] | None]) -> None:
    """Forget the request's caller (the middleware, after each request)."""
    _caller_origins.reset(token)


def _header(request: Request, name: str) -> str | None:
    return request.headers.get(name) if request.headers else None


def _allowed(origin: str) -> bool:
    caller = _caller_origins.get()
    if caller is not None:
        return origin in caller
    return any(lookup(origin) for lookup in _lookup)


def add_vary(headers: dict[str, Any], name: str) -> None:
    """Add ``name`` to the ``Vary`` header of ``headers`` (kept once, whatever its case)."""
    current = [v.strip() for v in str(headers.get("Vary", "")).split(",") if v.strip()]
    if name.lower() not in {v.lower() for v in current}:
        current.append(name)
    headers["Vary"] = ", ".join(current)


def is_preflight(request: Request) -> bool:
    """An ``OPTIONS`` request a browser sends before a cross-origin call."""
    return request.method == "OPTIONS" and bool(_header(request, "access-control-request-method"))


def _credentials_headers(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"}


def preflight(request: Request, answer: Response, *, instance: str, locale: str) -> Response:
    """The answer to a preflight, from Chalice's own answer to the ``OPTIONS`` (405 naming the path's methods).

    204 with the allowed methods and headers when some tenant allows the origin; else a 403 problem without CORS
    headers (so the browser does not send the request).
    """
    origin = _header(request, "origin") or ""
    allow = str(answer.headers.get("Allow", "")) if answer.status_code == 405 else ""
    if not origin or not allow or not _allowed(origin.lower()):
        refused = problem_for_status(403, N_("This origin may not call the API from a browser."), locale)
        return problem_response(refused, instance=instance, headers={"Vary": "Origin"}, locale=locale)
    headers: dict[str, Any] = {"Vary": "Origin"}
    headers.update(_credentials_headers(origin))
    headers.update(
        {
            "Access-Control-Allow-Methods": allow,
            "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
            "Access-Control-Max-Age": str(_MAX_AGE_S),
        }
    )
    return Response(body="", status_code=204, headers=headers)


def decorate(request: Request, response: Response) -> None:
    """Add the CORS headers ``response`` needs for the request's ``Origin`` (none when the origin is not allowed)."""
    origin = _header(request, "origin")
    if not origin:
        return
    add_vary(response.headers, "Origin")
    if _allowed(origin.lower()):
        response.headers.update(_credentials_headers(origin))
        response.headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
