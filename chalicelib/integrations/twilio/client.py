"""The Twilio client, BTRIX's one client for Twilio: messages (SMS and WhatsApp) through Twilio's official SDK,
imported when a message goes out rather than at cold start, and "who am I" for the integrations' test (REST with
basic auth). Twilio's failures are ``ProviderError``s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import get_settings
from chalicelib.integrations.http import Failure, ProviderError, check_provider_url, json_object, send

if TYPE_CHECKING:
    from chalicelib.integrations.twilio.credentials import TwilioCredentials

__all__ = ["TWILIO_API_URL", "TwilioAccount", "send_message", "whoami"]

TWILIO_API_URL = "https://api.twilio.com"


@dataclass(frozen=True)
class TwilioAccount:
    """A Twilio account: BTRIX's (secret ``twilio``) or a tenant's own integration."""

    account_sid: str
    auth_token: str = field(repr=False)


def _sdk_client(account: TwilioAccount) -> Any:
    from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
    from twilio.rest import Client  # type: ignore[import-untyped]

    settings = get_settings()
    # environment={}: the SDK must not read TWILIO_* from the process (Settings and secrets are the only source).
    sdk = Client(
        account.account_sid,
        account.auth_token,
        http_client=TwilioHttpClient(timeout=settings.provider_timeout_s),
        environment={},
    )
    if settings.twilio_base_url:
        sdk.api.base_url = check_provider_url(settings.twilio_base_url)
    return sdk


def send_message(account: TwilioAccount, fields: dict[str, Any]) -> str:
    """Create a message resource with ``fields`` (``to``, ``from_``, ``body`` or ``content_sid`` and
    ``content_variables``, ``status_callback``); returns its SID. 5xx, 429 and no answer are retryable."""
    from twilio.base.exceptions import TwilioException, TwilioRestException  # type: ignore[import-untyped]

    try:
        created = _sdk_client(account).messages.create(**fields)
    except TwilioRestException as exc:
        status = int(exc.status)
        if status >= 500 or status == 429:
            failure = Failure.RETRYABLE
        elif status in (401, 403):
            failure = Failure.FATAL
        else:
            failure = Failure.REJECTED
        detail = f"Twilio {exc.status} {exc.code}: {exc.msg}"
        raise ProviderError(detail, failure=failure, status=status, code=str(exc.code)) from exc
    except (TwilioException, OSError) as exc:
        raise ProviderError(f"Twilio unreachable: {exc}", failure=Failure.RETRYABLE) from exc
    return str(created.sid)


def whoami(credentials: TwilioCredentials) -> str:
    """The account (``GET /2010-04-01/Accounts/<sid>.json``)."""
    base = get_settings().twilio_base_url or TWILIO_API_URL
    url = f"{base.rstrip('/')}/2010-04-01/Accounts/{credentials.account_sid}.json"
    auth = (credentials.account_sid, credentials.auth_token.get_secret_value())
    account = json_object("Twilio", send("Twilio", lambda http: http.get(url, auth=auth)))
    return f"{account.get('friendly_name') or account.get('sid')} ({account.get('status') or 'unknown status'})"
