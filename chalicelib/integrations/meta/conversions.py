"""Meta's Conversions API (server events of a Pixel), through Meta's one Graph client (``meta/client.graph_call``).

Wire facts (docs/CONVERSIONS.md has the sources): ``POST /<version>/<pixel id>/events`` with ``{data: [{event_name,
event_time (Unix seconds), event_id, action_source, user_data, custom_data}], test_event_code?}`` → ``{events_received,
messages, fbtrace_id}``; the token goes as the bearer token. Meta deduplicates on ``event_name`` + ``event_id``
(with the browser Pixel's own events too) within 48 hours; an event older than 7 days makes the whole request fail;
``action_source: website`` needs the browser's user agent and URL, which a server event of BTRIX does not have.
Customer information is matched only hashed: SHA-256 hex of the value normalised as Meta says (``normalize``), never
the raw value; the client's IP and user agent would go unhashed, and BTRIX sends neither. Errors are Graph API errors
(``MetaApiError``): 190 a refused token (fatal), 4/17/613 and 429 limits and 5xx outages (retryable), 100 an invalid
parameter (rejected).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, Literal

from chalicelib.core import clock
from chalicelib.integrations.meta.client import MetaApiError, graph_call
from chalicelib.integrations.meta.credentials import MetaCapiCredentials

__all__ = [
    "MAX_AGE_S",
    "ActionSource",
    "UserField",
    "hashed_user_data",
    "normalize",
    "send_events",
    "server_event",
    "whoami",
]

# An event older than this makes Meta refuse the whole request.
MAX_AGE_S = 7 * 24 * 3600
ActionSource = Literal["email", "app", "phone_call", "chat", "physical_store", "system_generated", "other"]
UserField = Literal["em", "ph", "fn", "ln", "ct", "st", "zp", "country", "external_id"]
_NOT_LETTERS = re.compile(r"[\W\d_]+", re.UNICODE)
_NOT_DIGITS = re.compile(r"\D+")
_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def _letters(value: str) -> str:
    # Lower case, no punctuation, digits or spaces; letters of any script stay (UTF-8, as Meta's "valéry" example).
    return _NOT_LETTERS.sub("", unicodedata.normalize("NFC", value).lower())


def normalize(field: UserField, value: str, country: str | None = None) -> str | None:
    """``value`` as Meta matches ``field`` before hashing, or None when nothing usable is left: ``em`` trimmed and
    lower-cased; ``ph`` digits only, leading zeros dropped (it must already carry its country code: BTRIX keeps
    E.164); ``fn``/``ln``/``ct``/``st`` lower-case letters only; ``zp`` lower-case letters and digits, a US one
    cut to its 5 digits; ``country`` the lower-case ISO 3166-1 alpha-2 code; ``external_id`` trimmed."""
    if field == "em":
        found = value.strip().lower()
        return found if "@" in found else None
    if field == "ph":
        return _NOT_DIGITS.sub("", value).lstrip("0") or None
    if field == "zp":
        code = _NOT_ALNUM.sub("", value.lower())
        return (code[:5] if (country or "").upper() == "US" else code) or None
    if field == "country":
        code = _letters(value)
        return code if len(code) == 2 else None
    if field == "external_id":
        return value.strip() or None
    return _letters(value) or None


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def hashed_user_data(values: Mapping[UserField, str | None], country: str | None = None) -> dict[str, str]:
    """The ``user_data`` of a server event: each given value normalised (``normalize``) and SHA-256 hashed."""
    found: dict[str, str] = {}
    for field, value in values.items():
        normal = normalize(field, value, country) if value else None
        if normal:
            found[field] = _sha256(normal)
    return found


def server_event(
    name: str,
    event_time: int,
    event_id: str,
    action_source: ActionSource,
    user_data: dict[str, str],
    custom_data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One server event as the Conversions API takes it (``event_id``: the id the Pixel's browser event of the same
    conversion carries, for Meta to count it once)."""
    event: dict[str, Any] = {
        "event_name": name,
        "event_time": event_time,
        "event_id": event_id,
        "action_source": action_source,
        "user_data": user_data,
    }
    if custom_data:
        event["custom_data"] = custom_data
    return event


def send_events(credentials: MetaCapiCredentials, events: list[dict[str, Any]]) -> int:
    """``POST /<pixel id>/events``: how many events Meta received (to the Test Events tab while the credentials
    carry a ``testEventCode``)."""
    body: dict[str, Any] = {"data": events}
    if credentials.test_event_code:
        body["test_event_code"] = credentials.test_event_code
    answer = graph_call(credentials.access_token.get_secret_value(), "POST", f"{credentials.pixel_id}/events", body)
    received = answer.get("events_received")
    if not isinstance(received, int):
        raise MetaApiError("Meta answered the events without events_received", status=200)
    return received


def whoami(credentials: MetaCapiCredentials) -> str:
    """The connection test: the pixel the token reaches (``GET /<pixel id>``) and, with a ``testEventCode``, one test
    event Meta must report received (it shows in Events Manager's Test Events tab, never in the pixel's data)."""
    token = credentials.access_token.get_secret_value()
    pixel = graph_call(token, "GET", f"{credentials.pixel_id}?fields=id,name")
    shown = f"{pixel.get('name') or 'Pixel'} ({pixel.get('id') or credentials.pixel_id})"
    if not credentials.test_event_code:
        return shown
    now = clock.to_epoch(clock.now())
    probe = server_event("PageView", now, f"btrix-test-{now}", "other", {"external_id": _sha256("btrix")})
    if send_events(credentials, [probe]) != 1:
        raise MetaApiError("Meta did not receive the test event", status=200)
    return f"{shown}; test event received ({credentials.test_event_code})"
