"""Google Calendar calls: an access token from the refresh token, then the Calendar API v3."""

from __future__ import annotations

from urllib.parse import quote

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import ProviderError, json_object, send
from chalicelib.integrations.models import GoogleCalendarCredentials

__all__ = ["access_token", "whoami"]


def access_token(credentials: GoogleCalendarCredentials) -> str:
    """A fresh access token for the credentials' user (OAuth refresh-token grant)."""
    form = {
        "grant_type": "refresh_token",
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret.get_secret_value(),
        "refresh_token": credentials.refresh_token.get_secret_value(),
    }
    url = get_settings().google_oauth_token_url
    try:
        response = send("Google OAuth", lambda http: http.post(url, data=form))
    except ProviderError as exc:
        # Google answers a revoked or wrong refresh token with 400 invalid_grant: the credentials are refused.
        if exc.status == 400:
            raise ProviderError("refused", "Google refused the refresh token (invalid_grant)", 400) from exc
        raise
    token = json_object("Google OAuth", response).get("access_token")
    if not isinstance(token, str) or not token:
        raise ProviderError("error", "Google OAuth answered without an access token")
    return token


def whoami(credentials: GoogleCalendarCredentials) -> str:
    """The calendar the credentials write to (``GET /calendars/<id>``)."""
    token = access_token(credentials)
    url = get_settings().google_calendar_api_url.rstrip("/") + f"/calendars/{quote(credentials.calendar_id, safe='')}"
    response = send("Google Calendar", lambda http: http.get(url, headers={"Authorization": f"Bearer {token}"}))
    calendar = json_object("Google Calendar", response)
    return str(calendar.get("summary") or calendar.get("id"))
