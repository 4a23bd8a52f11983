"""Connecting a provider by OAuth consent (Google Calendar): the consent URL, and the callback that keeps the refresh
token.

``POST /integrations/google-calendar/connect`` (an ADMIN) answers the URL of Google's consent screen for BTRIX's
OAuth client, asking for offline access with the consent prompt (Google gives a refresh token only then), with a
``state`` that binds the answer to the tenant and the user who asked: ``<payload>.<signature>``, the payload
(base64url JSON: tenant, user, provider, nonce, expiry in 10 minutes) signed with HMAC-SHA256 under the
``oauth-state-key`` secret. Google sends the browser back to ``GET /integrations/google-calendar/callback?code=…&
state=…``, a public route (the browser carries no token of ours): the state must verify, be unexpired and unused
(its nonce is claimed once), and its user must still be an active user allowed to manage integrations. The code is
then exchanged for tokens; the refresh token is stored encrypted as the tenant's ``google_calendar`` credentials
(replacing earlier ones, clearing a disconnection) and the access token as the integration's current one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import timedelta

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import Table, TransactionConflict, tenant_scope
from chalicelib.core.errors import DependencyUnavailable, FieldError, Forbidden, InvalidInput
from chalicelib.core.ids import new_id
from chalicelib.core.models import ApiModel
from chalicelib.core.resources import OAUTH_STATE_KEY, secret_name
from chalicelib.core.secrets import get_secret
from chalicelib.integrations import service, store, tokens
from chalicelib.integrations.google_calendar import client as calendar
from chalicelib.integrations.google_calendar import oauth
from chalicelib.integrations.http import ProviderError
from chalicelib.integrations.models import (
    ConsentStart,
    GoogleCalendarCredentials,
    Integration,
    OAuthCallbackQuery,
    Provider,
)

__all__ = ["STATE_TTL", "finish_google_consent", "start_google_consent"]

STATE_TTL = timedelta(minutes=10)
_PROVIDER = Provider.GOOGLE_CALENDAR


class _State(ApiModel):
    """What a consent's state carries (signed)."""

    tenant_id: str
    user_id: str
    provider: Provider
    nonce: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str) -> str:
    key = get_secret(secret_name(OAUTH_STATE_KEY)).encode()
    return _b64(hmac.new(key, f"oauth-state.{payload}".encode(), hashlib.sha256).digest())


def _sign(state: _State) -> str:
    payload = _b64(state.model_dump_json(by_alias=True).encode())
    return f"{payload}.{_signature(payload)}"


def _bad_state(detail: str) -> InvalidInput:
    return InvalidInput(
        detail=detail,
        errors=[FieldError(loc="query.state", message=detail, code="invalid-state")],
        title="Invalid consent state",
        code="invalid-state",
    )


def _verify(text: str) -> _State:
    payload, _, signature = text.partition(".")
    if not payload or not signature or not hmac.compare_digest(signature, _signature(payload)):
        raise _bad_state("the state was not issued by BTRIX")
    try:
        state = _State.model_validate_json(_unb64(payload))
    except (ValueError, binascii.Error) as exc:
        raise _bad_state("the state was not issued by BTRIX") from exc
    if state.expires_at < clock.to_epoch(clock.now()):
        raise _bad_state("the consent took more than 10 minutes; connect again")
    return state


def _redirect_uri() -> str:
    uri = get_settings().google_oauth_redirect_url
    if not uri:
        raise DependencyUnavailable(detail="Google Calendar consent is not set up (BTRIX_GOOGLE_OAUTH_REDIRECT_URL)")
    return uri


def start_google_consent(principal: Principal) -> ConsentStart:
    """The URL of Google's consent screen for this tenant and user (valid 10 minutes)."""
    require(principal, Permission.INTEGRATIONS_MANAGE)
    redirect = _redirect_uri()
    expires = clock.now() + STATE_TTL
    state = _State(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        provider=_PROVIDER,
        nonce=new_id(),
        expires_at=clock.to_epoch(expires),
    )
    url = oauth.consent_url(oauth.btrix_client(), redirect, _sign(state), login_hint=principal.email)
    return ConsentStart(url=url, redirect_uri=redirect, expires_at=clock.isoformat(expires))


def _principal(state: _State) -> Principal:
    from chalicelib.users.service import find_user

    user = find_user(state.tenant_id, state.user_id, consistent=True)
    if user is None or user.status != "active":
        raise Forbidden(detail="the user who started this consent is no longer active")
    principal = Principal(user_id=user.id, tenant_id=state.tenant_id, role=user.role, email=user.email)
    require(principal, Permission.INTEGRATIONS_MANAGE)
    return principal


def _claim_nonce(state: _State) -> None:
    try:
        Table().transact([store.consent_nonce_op(state.tenant_id, state.provider, state.nonce, state.expires_at)])
    except TransactionConflict as exc:
        raise _bad_state("this consent was used already; connect again") from exc


def finish_google_consent(query: OAuthCallbackQuery) -> Integration:
    """Google's redirect after consent: verify the state, exchange the code, keep the refresh token encrypted."""
    state = _verify(query.state)
    if query.error:
        raise Forbidden(detail=f"Google consent was not given ({query.error})", code="consent-refused")
    if not query.code:
        raise InvalidInput(
            detail="Google sent no code",
            errors=[FieldError(loc="query.code", message="required", code="missing")],
        )
    with tenant_scope(state.tenant_id):
        principal = _principal(state)
        _claim_nonce(state)
        client = oauth.btrix_client()
        try:
            grant = oauth.exchange_code(client, query.code, _redirect_uri())
        except ProviderError as exc:
            if exc.retryable:
                raise DependencyUnavailable(detail=exc.detail) from exc
            raise InvalidInput(
                detail=f"Google did not accept the code: {exc.detail}; connect again",
                errors=[FieldError(loc="query.code", message="refused by Google", code="code-refused")],
            ) from exc
        if grant.refresh_token is None:
            raise DependencyUnavailable(detail="Google gave no refresh token (offline consent); connect again")
        try:
            account: str | None = calendar.calendar_summary(grant.access_token, "primary")
        except ProviderError:
            account = None  # only shown in the summary: the connection works without it
        credentials = GoogleCalendarCredentials.model_validate(
            {"refreshToken": grant.refresh_token, "calendarId": "primary", "account": account}
        )
        integration = service.store_credentials(principal, _PROVIDER, credentials)
        tokens.keep_grant(state.tenant_id, _PROVIDER, grant, store.get_access_token(state.tenant_id, _PROVIDER))
        service.record_sync(state.tenant_id, _PROVIDER, "connect", ok=True, detail=f"connected as {account or '?'}")
    return integration
