"""Connecting a provider by OAuth consent (Google Calendar, MelhorEnvio): the consent URL, and the callback that
keeps the tokens.

``POST /integrations/google-calendar/connect`` (an ADMIN) answers the URL of Google's consent screen for BTRIX's
OAuth client, asking for offline access with the consent prompt (Google gives a refresh token only then), with a
``state`` that binds the answer to the tenant and the user who asked: ``<payload>.<signature>``, the payload
(base64url JSON: tenant, user, provider, nonce, expiry in 10 minutes, the consent's options) signed with
HMAC-SHA256 under the ``oauth-state-key`` secret. Google sends the browser back to ``GET
/integrations/google-calendar/callback?code=…&state=…``, a public route (the browser carries no token of ours): the
state must verify, be for that provider, unexpired and unused (its nonce is claimed once), and its user must still
be an active user allowed to manage integrations. The code is then exchanged for tokens; the refresh token is
stored encrypted as the tenant's credentials (replacing earlier ones, clearing a disconnection) and the access
token as the integration's current one. MelhorEnvio (``POST /integrations/melhorenvio/connect {sandbox?,
email?}``, ``GET /integrations/melhorenvio/callback``) is the same flow with its own consent screen and BTRIX's
MelhorEnvio app; its refresh token rotates, so the grant's is also kept on the token item.

Each provider is a ``ConsentFlow``: its redirect URI, its consent URL, and what its code becomes (``Connected``:
credentials, the grant, who consented and, for an account on BTRIX's shared app whose webhooks name the account, its
id: Bling's company, MelhorEnvio's user). That id is routed to the tenant with the credentials (``accounts``); an
account another tenant connected is refused (409).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from pydantic import Field

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
from chalicelib.integrations.bling import oauth as bling_oauth
from chalicelib.integrations.bling.client import Bling
from chalicelib.integrations.bling.credentials import BlingCredentials
from chalicelib.integrations.credentials import Credentials, Provider
from chalicelib.integrations.google_calendar import client as calendar
from chalicelib.integrations.google_calendar import oauth
from chalicelib.integrations.google_calendar.credentials import GoogleCalendarCredentials
from chalicelib.integrations.http import ProviderError, TokenGrant
from chalicelib.integrations.melhorenvio import client as melhorenvio
from chalicelib.integrations.melhorenvio.credentials import MelhorEnvioCredentials
from chalicelib.integrations.models import (
    BlingConsentRequest,
    ConsentStart,
    Integration,
    MelhorEnvioConsentRequest,
    OAuthCallbackQuery,
)

__all__ = [
    "BLING",
    "GOOGLE",
    "MELHORENVIO",
    "STATE_TTL",
    "Connected",
    "ConsentFlow",
    "finish_consent",
    "start_bling_consent",
    "start_consent",
    "start_google_consent",
    "start_melhorenvio_consent",
]

STATE_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class Connected:
    """What a consent's code became: the credentials, the grant, the account as shown, and the provider's id of the
    account when its webhooks are routed by it (None: not known, or not needed)."""

    credentials: Credentials
    grant: TokenGrant
    account: str | None
    account_id: str | None = None


@dataclass(frozen=True)
class ConsentFlow:
    """One provider's OAuth consent: ``redirect_uri()`` (DependencyUnavailable when not set up), ``url(redirect,
    state, principal, options)``, and ``connect(code, redirect, options)`` → ``Connected``."""

    provider: Provider
    name: str
    redirect_uri: Callable[[], str]
    url: Callable[[str, str, Principal, Mapping[str, str]], str]
    connect: Callable[[str, str, Mapping[str, str]], Connected]


class _State(ApiModel):
    """What a consent's state carries (signed)."""

    tenant_id: str
    user_id: str
    provider: Provider
    nonce: str
    expires_at: int
    options: dict[str, str] = Field(default_factory=dict)


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


def _google_redirect_uri() -> str:
    uri = get_settings().google_oauth_redirect_url
    if not uri:
        raise DependencyUnavailable(detail="Google Calendar consent is not set up (BTRIX_GOOGLE_OAUTH_REDIRECT_URL)")
    return uri


def _google_connect(code: str, redirect: str, options: Mapping[str, str]) -> Connected:
    grant = oauth.exchange_code(oauth.btrix_client(), code, redirect)
    if grant.refresh_token is None:
        raise DependencyUnavailable(detail="Google gave no refresh token (offline consent); connect again")
    try:
        account: str | None = calendar.calendar_summary(grant.access_token, "primary")
    except ProviderError:
        account = None  # only shown in the summary: the connection works without it
    credentials = GoogleCalendarCredentials.model_validate(
        {"refreshToken": grant.refresh_token, "calendarId": "primary", "account": account}
    )
    return Connected(credentials, grant, account)


GOOGLE = ConsentFlow(
    Provider.GOOGLE_CALENDAR,
    "Google",
    _google_redirect_uri,
    lambda redirect, state, principal, options: oauth.consent_url(
        oauth.btrix_client(), redirect, state, login_hint=principal.email
    ),
    _google_connect,
)


def _melhorenvio_redirect_uri() -> str:
    uri = get_settings().melhorenvio_oauth_redirect_url
    if not uri:
        raise DependencyUnavailable(detail="MelhorEnvio consent is not set up (BTRIX_MELHORENVIO_OAUTH_REDIRECT_URL)")
    return uri


def _melhorenvio_connect(code: str, redirect: str, options: Mapping[str, str]) -> Connected:
    sandbox, email = options.get("sandbox") == "true", options["email"]
    grant = melhorenvio.exchange_code(sandbox, email, code, redirect)
    if grant.refresh_token is None:
        raise DependencyUnavailable(detail="MelhorEnvio gave no refresh token; connect again")
    fields = {"refreshToken": grant.refresh_token, "accessToken": grant.access_token, "email": email}
    credentials = MelhorEnvioCredentials.model_validate({**fields, "sandbox": sandbox})
    try:
        account_id, account = melhorenvio.identify(credentials, grant.access_token)
    except ProviderError:
        # The connection works without it; its webhooks are not routed (the 30-minute tracking still runs).
        account_id, account = None, None
    return Connected(credentials.model_copy(update={"account": account}), grant, account, account_id)


MELHORENVIO = ConsentFlow(
    Provider.MELHORENVIO,
    "MelhorEnvio",
    _melhorenvio_redirect_uri,
    lambda redirect, state, principal, options: melhorenvio.consent_url(
        options.get("sandbox") == "true", redirect, state
    ),
    _melhorenvio_connect,
)


def _bling_redirect_uri() -> str:
    uri = get_settings().bling_oauth_redirect_url
    if not uri:
        raise DependencyUnavailable(detail="Bling consent is not set up (BTRIX_BLING_OAUTH_REDIRECT_URL)")
    return uri


def _bling_connect(code: str, redirect: str, options: Mapping[str, str]) -> Connected:
    # Bling sends the browser back to the redirect registered with its app: the code needs no redirect_uri.
    grant = bling_oauth.exchange_code(bling_oauth.btrix_client(), code)
    if grant.refresh_token is None:
        raise DependencyUnavailable(detail="Bling gave no refresh token; connect again")
    try:
        account_id, account = Bling("consent", grant.access_token).identify()
    except ProviderError:
        # The connection works without it; its webhooks are not routed (the 15-minute stock pull still runs).
        account_id, account = None, None
    settings = {"sourceOfTruth": options.get("sourceOfTruth", "btrix"), "issueNfe": options.get("issueNfe") == "true"}
    fields = {**settings, **({"depositId": options["depositId"]} if options.get("depositId") else {})}
    credentials = BlingCredentials.model_validate({**fields, "refreshToken": grant.refresh_token, "account": account})
    return Connected(credentials, grant, account, account_id)


BLING = ConsentFlow(
    Provider.BLING,
    "Bling",
    _bling_redirect_uri,
    lambda redirect, state, principal, options: bling_oauth.consent_url(bling_oauth.btrix_client(), state),
    _bling_connect,
)


def start_bling_consent(principal: Principal, body: BlingConsentRequest) -> ConsentStart:
    """The URL of Bling's authorization screen, the ERP settings carried (signed) in the state."""
    options = {"sourceOfTruth": body.source_of_truth, "issueNfe": "true" if body.issue_nfe else "false"}
    return start_consent(principal, BLING, {**options, **({"depositId": body.deposit_id} if body.deposit_id else {})})


def start_consent(principal: Principal, flow: ConsentFlow, options: Mapping[str, str] | None = None) -> ConsentStart:
    """The URL of the provider's consent screen for this tenant and user (valid 10 minutes)."""
    require(principal, Permission.INTEGRATIONS_MANAGE)
    redirect = flow.redirect_uri()
    expires = clock.now() + STATE_TTL
    state = _State(
        tenant_id=principal.tenant_id,
        user_id=principal.user_id,
        provider=flow.provider,
        nonce=new_id(),
        expires_at=clock.to_epoch(expires),
        options=dict(options or {}),
    )
    url = flow.url(redirect, _sign(state), principal, state.options)
    return ConsentStart(url=url, redirect_uri=redirect, expires_at=clock.isoformat(expires))


def start_google_consent(principal: Principal) -> ConsentStart:
    """The URL of Google's consent screen for this tenant and user (valid 10 minutes)."""
    return start_consent(principal, GOOGLE)


def start_melhorenvio_consent(principal: Principal, body: MelhorEnvioConsentRequest) -> ConsentStart:
    """The URL of MelhorEnvio's consent screen (a sandbox account or not; the contact email defaults to the
    ADMIN's)."""
    options = {"sandbox": "true" if body.sandbox else "false", "email": body.email or principal.email}
    return start_consent(principal, MELHORENVIO, options)


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


def finish_consent(flow: ConsentFlow, query: OAuthCallbackQuery) -> Integration:
    """The provider's redirect after consent: verify the state, exchange the code, keep the tokens encrypted."""
    state = _verify(query.state)
    if state.provider is not flow.provider:
        raise _bad_state(f"the state was issued for {state.provider.value}, not {flow.provider.value}")
    if query.error:
        raise Forbidden(detail=f"{flow.name} consent was not given ({query.error})", code="consent-refused")
    if not query.code:
        raise InvalidInput(
            detail=f"{flow.name} sent no code",
            errors=[FieldError(loc="query.code", message="required", code="missing")],
        )
    with tenant_scope(state.tenant_id):
        principal = _principal(state)
        _claim_nonce(state)
        try:
            connected = flow.connect(query.code, flow.redirect_uri(), state.options)
        except ProviderError as exc:
            if exc.retryable:
                raise DependencyUnavailable(detail=exc.detail) from exc
            raise InvalidInput(
                detail=f"{flow.name} did not accept the code: {exc.detail}; connect again",
                errors=[FieldError(loc="query.code", message=f"refused by {flow.name}", code="code-refused")],
            ) from exc
        integration = service.store_credentials(
            principal, flow.provider, connected.credentials, shared_account=connected.account_id
        )
        current = store.get_access_token(state.tenant_id, flow.provider)
        tokens.keep_grant(state.tenant_id, flow.provider, connected.grant, current)
        shown = connected.account or "?"
        service.record_sync(state.tenant_id, flow.provider, "connect", ok=True, detail=f"connected as {shown}")
    return integration
