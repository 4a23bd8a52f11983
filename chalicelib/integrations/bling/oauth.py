"""Bling's OAuth 2.0 (API v3): the authorization URL, the code exchange and the refresh grant.

The token endpoint takes the app's ``client_id:client_secret`` as HTTP Basic and a form (``grant_type``
``authorization_code`` with ``code``, or ``refresh_token``). It answers ``access_token`` (``expires_in`` seconds;
6 hours at the time of writing), ``refresh_token`` and ``token_type``. **Bling rotates the refresh token on every
refresh**: the old one is dead at once, and a second refresh with it answers 400 ``invalid_grant``, so refreshes go
through the single-flight keeper (``integrations/tokens.py``), which stores the new refresh token. The redirect URI
is the one registered with the app (Bling takes none in the authorization URL; not confirmed in its docs whether it
accepts one).
"""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from chalicelib.core.config import get_settings
from chalicelib.core.resources import BLING_OAUTH_APP
from chalicelib.integrations.bling.credentials import BlingCredentials
from chalicelib.integrations.http import OAuthClient, TokenGrant, app_of, oauth_token_call, shared_app

__all__ = ["app_client", "btrix_client", "consent_url", "exchange_code", "refresh_grant"]

_WHAT = "Bling"


def btrix_client() -> OAuthClient:
    """BTRIX's Bling app (secret ``bling-oauth-app``), the one tenants consent to."""
    return shared_app(BLING_OAUTH_APP, _WHAT)


def _token_call(client: OAuthClient, form: dict[str, str]) -> TokenGrant:
    basic = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    url = get_settings().bling_oauth_token_url
    return oauth_token_call(_WHAT, url, form, default_lifetime_s=21600, headers={"Authorization": f"Basic {basic}"})


def app_client(credentials: BlingCredentials) -> OAuthClient:
    """The app the credentials' refresh token belongs to: the tenant's own, else BTRIX's."""
    return app_of(credentials.client_id, credentials.client_secret, btrix_client)


def consent_url(client: OAuthClient, state: str) -> str:
    """Where to send the ADMIN to authorize BTRIX's app on their Bling account."""
    query = {"response_type": "code", "client_id": client.client_id, "state": state}
    return f"{get_settings().bling_oauth_authorize_url}?{urlencode(query)}"


def exchange_code(client: OAuthClient, code: str) -> TokenGrant:
    """Trade the authorization code for tokens (a code works once)."""
    return _token_call(client, {"grant_type": "authorization_code", "code": code})


def refresh_grant(credentials: BlingCredentials, refresh_token: str) -> TokenGrant:
    """A new access token and a new refresh token (the one given is dead afterwards)."""
    return _token_call(app_client(credentials), {"grant_type": "refresh_token", "refresh_token": refresh_token})
