"""Browser sessions' cookies: their names and attributes, reading them back, the CSRF and Origin checks.

A browser session keeps its tokens where scripts cannot read them: the access token in an ``HttpOnly`` cookie sent
to every route (``Path=/``), the refresh token in an ``HttpOnly`` cookie sent only to the refresh route, both
``Secure`` and ``SameSite`` (``BTRIX_SESSION_COOKIE_SAMESITE``). Because a browser attaches cookies by itself, a
state-changing request authenticated by cookie must also carry the CSRF token (``X-CSRF-Token``) equal to the CSRF
cookie (double submit; the token is also in the login/refresh answer, for frontends on another origin, which cannot
read the API's cookies), and come from an origin the tenant allows (``Origin``).

Secure cookies over plain http: browsers keep ``Secure`` cookies of ``http://localhost`` but not always of
``http://127.0.0.1``. So in the local stage only, a request to a loopback host (``Host: 127.0.0.1:…``,
``localhost``, ``[::1]``) gets its cookies without ``Secure`` (and without the ``__Host-``/``__Secure-`` name
prefixes, which require it); everywhere else they are ``Secure`` and prefixed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.core.api import RequestMeta
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Forbidden
from chalicelib.core.validation import is_loopback_host

__all__ = [
    "SAFE_METHODS",
    "CookieNames",
    "check_browser_request",
    "check_csrf",
    "check_origin",
    "cleared_cookies",
    "cookie_names",
    "new_csrf_token",
    "session_cookies",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFRESH_ROUTE = "/auth/refresh"


@dataclass(frozen=True)
class CookieNames:
    """The three cookies of a browser session, as named on this request's connection."""

    access: str
    refresh: str
    csrf: str
    secure: bool


def _host_name(host: str) -> str:
    """``Host`` without its port (``127.0.0.1:8000`` → ``127.0.0.1``, ``[::1]:8000`` → ``[::1]``)."""
    return host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]


def _secure(meta: RequestMeta) -> bool:
    return not (get_settings().stage == "local" and is_loopback_host(_host_name(meta.host or "")))


def cookie_names(meta: RequestMeta) -> CookieNames:
    """The cookies' names: prefixed (``__Host-``: Secure, Path=/, no Domain) unless local loopback (see module)."""
    if _secure(meta):
        return CookieNames("__Host-btrix_access", "__Secure-btrix_refresh", "__Host-btrix_csrf", secure=True)
    return CookieNames("btrix_access", "btrix_refresh", "btrix_csrf", secure=False)


def new_csrf_token() -> str:
    """A fresh double-submit token (a new one with every login and refresh)."""
    return secrets.token_urlsafe(32)


def _cookie(name: str, value: str, *, path: str, max_age: int, http_only: bool, secure: bool) -> str:
    same_site = get_settings().session_cookie_samesite
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}", f"SameSite={same_site}"]
    if secure:
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    return "; ".join(parts)


def _refresh_path(meta: RequestMeta) -> str:
    return f"{meta.base_path}{REFRESH_ROUTE}"


def session_cookies(
    meta: RequestMeta, *, access: str, access_ttl: int, refresh: str, refresh_ttl: int, csrf: str
) -> list[str]:
    """The ``Set-Cookie`` values that hold a browser session (the refresh cookie only goes to the refresh route)."""
    names = cookie_names(meta)
    return [
        _cookie(names.access, access, path="/", max_age=access_ttl, http_only=True, secure=names.secure),
        _cookie(
            names.refresh, refresh, path=_refresh_path(meta), max_age=refresh_ttl, http_only=True, secure=names.secure
        ),
        # Not HttpOnly: a frontend on the API's own origin may read it; others get it in the answer's csrfToken.
        _cookie(names.csrf, csrf, path="/", max_age=refresh_ttl, http_only=False, secure=names.secure),
    ]


def cleared_cookies(meta: RequestMeta) -> list[str]:
    """The ``Set-Cookie`` values that remove a browser session's cookies (logout)."""
    names = cookie_names(meta)
    return [
        _cookie(names.access, "", path="/", max_age=0, http_only=True, secure=names.secure),
        _cookie(names.refresh, "", path=_refresh_path(meta), max_age=0, http_only=True, secure=names.secure),
        _cookie(names.csrf, "", path="/", max_age=0, http_only=False, secure=names.secure),
    ]


def check_csrf(meta: RequestMeta, *, required: bool = True) -> None:
    """The request's ``X-CSRF-Token`` equals its CSRF cookie (else 403 ``csrf-failed``); when not ``required``, only
    a token that was sent is checked."""
    sent = meta.csrf_token
    if sent is None and not required:
        return
    expected = meta.cookies.get(cookie_names(meta).csrf)
    if not sent or not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden(
            detail="a request authenticated by cookie needs the X-CSRF-Token header equal to the CSRF cookie",
            code="csrf-failed",
        )


def check_origin(allowed: Sequence[str], meta: RequestMeta, *, required: bool) -> None:
    """The request's ``Origin`` is one of ``allowed`` (the tenant's ``allowedOrigins``), else 403
    ``origin-not-allowed``; a request without ``Origin`` passes only when not ``required``."""
    if meta.origin is None:
        if required:
            raise Forbidden(detail="a browser session needs the Origin header", code="origin-not-allowed")
        return
    if meta.origin.lower() not in allowed:
        raise Forbidden(
            detail="this origin is not one of the tenant's allowed origins (allowedOrigins)", code="origin-not-allowed"
        )


def check_browser_request(allowed: Sequence[str], meta: RequestMeta) -> None:
    """What a request authenticated by the access cookie must also show: a state change carries the CSRF token and
    an allowed ``Origin``; a read from another origin must come from an allowed one."""
    unsafe = meta.method not in SAFE_METHODS
    if unsafe:
        check_csrf(meta)
    check_origin(allowed, meta, required=unsafe)
