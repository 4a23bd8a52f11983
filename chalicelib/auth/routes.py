"""Authentication routes: signup, login, refresh, logout, me, invitations, WhatsApp verification, JWKS."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth import browser, phone, service
from chalicelib.auth.guard import protected_blueprint
from chalicelib.auth.models import (
    BrowserSession,
    ChangePasswordRequest,
    CodeSent,
    JwkSet,
    LoginRequest,
    Me,
    RefreshRequest,
    SetPasswordRequest,
    SignupRequest,
    SignupResponse,
    TokenPair,
    VerifyCodeRequest,
)
from chalicelib.auth.tokens import jwks
from chalicelib.core.api import RequestMeta
from chalicelib.users.models import User

blueprint = protected_blueprint(__name__, tag="auth")
_PROFILE = {"permission": Permission.PROFILE_READ, "allow_suspended": True}


@blueprint.operation(
    "/auth/signup", "POST", body=SignupRequest, response=SignupResponse, status=201, public=True, problems=(409, 429)
)
def signup(body: SignupRequest, meta: RequestMeta) -> SignupResponse:
    """Sign up

    Create a tenant and its first ADMIN (one transaction) and log the ADMIN in.
    """
    return service.signup(body, meta)


@blueprint.operation(
    "/auth/login",
    "POST",
    body=LoginRequest,
    response=TokenPair | BrowserSession,
    public=True,
    problems=(401, 403, 429),
)
def login(body: LoginRequest, meta: RequestMeta) -> TokenPair | Response:
    """Log in

    With email or CPF and password. Five failures per identifier or IP in 15 minutes answer 429. With
    `"session": "cookie"` a browser session starts instead: the tokens go in HttpOnly cookies and the answer carries
    the CSRF token; only from an origin the tenant allows (`Origin`, else 403).
    """
    return browser.login(body, meta)


@blueprint.operation(
    "/auth/refresh",
    "POST",
    body=RefreshRequest,
    response=TokenPair | BrowserSession,
    public=True,
    problems=(401, 403, 429),
)
def refresh(body: RefreshRequest, meta: RequestMeta) -> TokenPair | Response:
    """Refresh tokens

    Use up a refresh token for a new pair. Presenting a used one revokes its whole session. A browser session sends
    `{}`: the refresh cookie is used and renewed with the other cookies and a new CSRF token (from an allowed origin;
    an `X-CSRF-Token`, when sent, must match the CSRF cookie).
    """
    return browser.refresh(body, meta)


@blueprint.operation("/auth/logout", "POST", body=RefreshRequest, status=204, public=True, problems=(401, 403))
def logout(body: RefreshRequest, meta: RequestMeta) -> Response | None:
    """Log out

    End the session of the given refresh token. A browser session sends `{}` with its `X-CSRF-Token` from an allowed
    origin: the session of its access cookie ends and the cookies are removed.
    """
    return browser.logout(body, meta)


@blueprint.operation("/auth/me", response=Me, **_PROFILE)  # type: ignore[arg-type]
def me(principal: Principal) -> Me:
    """Current user

    The user, the tenant, the permissions and the modules of the caller.
    """
    return service.me(principal)


@blueprint.operation(
    "/auth/password",
    "POST",
    body=ChangePasswordRequest,
    response=TokenPair | BrowserSession,
    permission=Permission.PROFILE_UPDATE,
    allow_suspended=True,
    problems=(422, 429),
)
def change_password(body: ChangePasswordRequest, principal: Principal, meta: RequestMeta) -> TokenPair | Response:
    """Change the password

    Every session of the caller ends, this one included (its access tokens stop working at once), and the answer
    carries a new session (a browser session: new cookies and a CSRF token). A wrong current password is a 422
    naming body.currentPassword and counts against the account's login limit (429 beyond it).
    """
    return browser.change_password(body, principal, meta)


@blueprint.operation(
    "/auth/set-password", "POST", body=SetPasswordRequest, response=TokenPair, public=True, problems=(422,)
)
def set_password(body: SetPasswordRequest, meta: RequestMeta) -> TokenPair:
    """Accept an invitation

    Set the password with the invitation's one-time token; answers with a session.
    """
    return service.accept_invitation(body, meta)


@blueprint.operation(
    "/auth/whatsapp/code",
    "POST",
    response=CodeSent,
    permission=Permission.PROFILE_UPDATE,
    allow_suspended=True,
    problems=(422, 429),
)
def send_whatsapp_code(principal: Principal) -> CodeSent:
    """Send a WhatsApp verification code

    A 6-digit code, valid for 10 minutes and 5 tries, to the caller's WhatsApp number (422 while the caller has
    none).
    """
    return phone.send_whatsapp_code(principal)


@blueprint.operation(
    "/auth/whatsapp/verify",
    "POST",
    body=VerifyCodeRequest,
    response=User,
    permission=Permission.PROFILE_UPDATE,
    allow_suspended=True,
)
def verify_whatsapp_code(body: VerifyCodeRequest, principal: Principal) -> User:
    """Verify the WhatsApp number

    Check the code sent by WhatsApp; marks the number verified.
    """
    return phone.verify_whatsapp_code(principal, body)


@blueprint.operation("/.well-known/jwks.json", response=JwkSet, public=True)
def get_jwks() -> Response:
    """Token signing keys

    The public keys (JWKS) that verify BTRIX access tokens.
    """
    return Response(
        body=JwkSet.model_validate(jwks()).model_dump_json(),
        headers={"Content-Type": "application/json", "Cache-Control": "public, max-age=300"},
    )
