"""Google's OAuth 2.0 for the Calendar: the consent URL, the authorization-code exchange and the refresh grant.

Consent asks for ``access_type=offline`` and ``prompt=consent``: Google gives a refresh token only then (and again
on every consent, so a reconnect replaces a lost one). A refresh token Google no longer honours (revoked, the user
removed the app, unused for six months) answers 400 ``invalid_grant``: a ``fatal`` ``ProviderError``,
after which the integration is disconnected rather than retried.
"""

from __future__ import annotations

from urllib.parse import urlencode

from chalicelib.core.config import get_settings
from chalicelib.core.resources import GOOGLE_OAUTH_APP
from chalicelib.integrations.google_calendar.credentials import GoogleCalendarCredentials
from chalicelib.integrations.http import OAuthClient, TokenGrant, app_of, oauth_token_call, shared_app

__all__ = [
    "SCOPES",
    "OAuthClient",
    "TokenGrant",
    "app_client",
    "btrix_client",
    "consent_url",
    "exchange_code",
    "refresh_access_token",
]

SCOPES = ("https://www.googleapis.com/auth/calendar.events", "openid", "email")
_WHAT = "Google OAuth"


def btrix_client() -> OAuthClient:
    """BTRIX's own OAuth client (secret ``google-oauth-app``), the one tenants consent to."""
    return shared_app(GOOGLE_OAUTH_APP, _WHAT)


def app_client(credentials: GoogleCalendarCredentials) -> OAuthClient:
    """The client the credentials' refresh token belongs to: the tenant's own, else BTRIX's."""
    return app_of(credentials.client_id, credentials.client_secret, btrix_client)


def consent_url(client: OAuthClient, redirect_uri: str, state: str, login_hint: str | None = None) -> str:
    """Where to send the user to consent (offline access, consent prompted so a refresh token comes back)."""
    query = {
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(SCOPES),
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": state,
        **({"login_hint": login_hint} if login_hint else {}),
    }
    return f"{get_settings().google_oauth_authorize_url}?{urlencode(query)}"


def _token_call(form: dict[str, str]) -> TokenGrant:
    return oauth_token_call(_WHAT, get_settings().google_oauth_token_url, form)


def exchange_code(client: OAuthClient, code: str, redirect_uri: str) -> TokenGrant:
    """Trade the consent's authorization code for tokens (``grant_type=authorization_code``)."""
    return _token_call(
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "redirect_uri": redirect_uri,
        }
    )


def refresh_access_token(client: OAuthClient, refresh_token: str) -> TokenGrant:
    """A new access token from the refresh token (``grant_type=refresh_token``; Google keeps the refresh token)."""
    return _token_call(
        {
            "grant_type": "refresh_token",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "refresh_token": refresh_token,
        }
    )
