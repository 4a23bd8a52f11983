"""Login, refresh and logout in either session mode: bearer (the tokens in the body) or cookie (a browser session).

Bearer mode is what it always was. Cookie mode (``"session": "cookie"`` at login; ``{}`` without a refresh token at
refresh and logout) answers with the tokens in cookies (``auth/cookies.py``) and the same revocation rules: a refresh
token is used once (reuse revokes the family), logout ends the session at once, a deactivated user is refused.
"""

from __future__ import annotations

from chalice.app import Response

from chalicelib.access.principal import Principal
from chalicelib.auth import cookies, service
from chalicelib.auth.models import (
    BrowserSession,
    ChangePasswordRequest,
    LoginRequest,
    RefreshRequest,
    SessionMode,
    TokenPair,
)
from chalicelib.auth.tokens import verify_access_token
from chalicelib.core.api import RequestMeta
from chalicelib.core.errors import FieldError, InvalidInput, Unauthorized

__all__ = ["change_password", "login", "logout", "refresh"]

JSON = "application/json"


def _answer(pair: TokenPair, mode: SessionMode, meta: RequestMeta) -> TokenPair | Response:
    if mode == "bearer":
        return pair
    csrf = cookies.new_csrf_token()
    body = BrowserSession(expires_in=pair.expires_in, refresh_expires_in=pair.refresh_expires_in, csrf_token=csrf)
    set_cookies = cookies.session_cookies(
        meta,
        access=pair.access_token,
        access_ttl=pair.expires_in,
        refresh=pair.refresh_token,
        refresh_ttl=pair.refresh_expires_in,
        csrf=csrf,
    )
    return Response(
        body=body.model_dump_json(),
        status_code=200,
        headers={"Content-Type": JSON, "Set-Cookie": set_cookies, "Cache-Control": "no-store"},
    )


def _missing_token() -> InvalidInput:
    return InvalidInput(
        detail="send the refresh token, or call from a browser session (its cookies)",
        errors=(FieldError("body.refreshToken", "Field required", "missing"),),
    )


def login(body: LoginRequest, meta: RequestMeta) -> TokenPair | Response:
    """Log in; a cookie session only from an origin the user's tenant allows."""
    return _answer(service.login(body, meta), body.session, meta)


def refresh(body: RefreshRequest, meta: RequestMeta) -> TokenPair | Response:
    """Use a refresh token up: the body's (bearer), else the refresh cookie's (cookie; a CSRF header, when sent, must
    match: after a page reload a frontend has none yet, and this answer gives it one)."""
    if body.refresh_token is not None:
        return service.refresh(body.refresh_token, meta)
    token = meta.cookies.get(cookies.cookie_names(meta).refresh)
    if not token:
        raise _missing_token()
    cookies.check_csrf(meta, required=False)
    return _answer(service.refresh(token, meta, browser=True), "cookie", meta)


def change_password(body: ChangePasswordRequest, principal: Principal, meta: RequestMeta) -> TokenPair | Response:
    """Change the password: every session ends and a new one starts, in the mode the caller used (a browser
    session gets new cookies, not tokens its scripts could read)."""
    mode: SessionMode = "cookie" if principal.browser_session else "bearer"
    return _answer(service.change_password(principal, body), mode, meta)


def logout(body: RefreshRequest, meta: RequestMeta) -> Response | None:
    """End the session of the body's refresh token (bearer), else of the access cookie (cookie: with the CSRF
    token, from an allowed origin; the cookies are removed)."""
    if body.refresh_token is not None:
        service.logout(body.refresh_token, meta)
        return None
    token = meta.cookies.get(cookies.cookie_names(meta).access)
    if not token:
        raise _missing_token()
    cookies.check_csrf(meta)
    try:
        claims = verify_access_token(token, allow_expired=True)
    except Unauthorized:
        claims = None  # a cookie that is no token of ours: nothing to end, the cookies still go
    if claims is not None:
        service.logout_browser(claims, meta)
    return Response(body="", status_code=204, headers={"Set-Cookie": cookies.cleared_cookies(meta)})
