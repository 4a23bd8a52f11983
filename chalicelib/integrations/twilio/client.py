"""Twilio REST calls with the tenant's account SID and auth token (basic auth)."""

from __future__ import annotations

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import json_object, send
from chalicelib.integrations.models import TwilioCredentials

__all__ = ["whoami"]

TWILIO_API_URL = "https://api.twilio.com"


def whoami(credentials: TwilioCredentials) -> str:
    """The account (``GET /2010-04-01/Accounts/<sid>.json``)."""
    base = get_settings().twilio_base_url or TWILIO_API_URL
    url = f"{base.rstrip('/')}/2010-04-01/Accounts/{credentials.account_sid}.json"
    auth = (credentials.account_sid, credentials.auth_token.get_secret_value())
    account = json_object("Twilio", send("Twilio", lambda http: http.get(url, auth=auth)))
    return f"{account.get('friendly_name') or account.get('sid')} ({account.get('status') or 'unknown status'})"
