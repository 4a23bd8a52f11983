"""Google Calendar API v3 calls: events inserted with an id of our own, patched, deleted; and the "who am I".

Event ids are ours (``event_id``: base32hex of a hash of tenant + entity, the alphabet Google allows), so creating
the same event twice is harmless: a repeated insert answers 409 (``exists``), deleting a deleted event 410
(``gone``). Errors are ``ProviderError``s: ``fatal`` with status 401 for an access token Google no longer takes
(the caller refreshes it once), ``retryable`` for 5xx, 429 and Google's 403 rate-limit reasons (retried),
``rejected`` for anything else (our request is wrong: not retried).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from chalicelib.core.config import get_settings
from chalicelib.integrations.google_calendar.credentials import GoogleCalendarCredentials
from chalicelib.integrations.google_calendar.oauth import app_client, refresh_access_token
from chalicelib.integrations.http import Failure, ProviderError, json_object, send

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CalendarEvent",
    "Reminder",
    "calendar_summary",
    "delete_event",
    "event_id",
    "insert_event",
    "patch_event",
    "whoami",
]

_WHAT = "Google Calendar"
# 403 reasons that mean "slow down", not "you may not" (Calendar API usage limits).
_RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}


@dataclass(frozen=True)
class Reminder:
    """A reminder override: ``method`` email or popup, ``minutes`` before the start."""

    method: Literal["email", "popup"]
    minutes: int


@dataclass(frozen=True)
class CalendarEvent:
    """An event as BTRIX writes it: local start and end in the tenant's time zone, attendees by email."""

    id: str
    summary: str
    start: datetime
    end: datetime
    time_zone: str
    description: str = ""
    attendees: tuple[str, ...] = ()
    reminders: tuple[Reminder, ...] = ()
    private: Mapping[str, str] = field(default_factory=dict)

    def times(self) -> dict[str, Any]:
        """The ``start`` and ``end`` of the body (wall-clock times with the zone, as Google stores them)."""
        return {
            "start": {"dateTime": self.start.isoformat(timespec="seconds"), "timeZone": self.time_zone},
            "end": {"dateTime": self.end.isoformat(timespec="seconds"), "timeZone": self.time_zone},
        }

    def body(self) -> dict[str, Any]:
        """The whole event resource."""
        return {
            "id": self.id,
            "summary": self.summary,
            "description": self.description,
            **self.times(),
            "attendees": [{"email": email} for email in self.attendees],
            "reminders": {
                "useDefault": False,
                "overrides": [{"method": r.method, "minutes": r.minutes} for r in self.reminders],
            },
            "extendedProperties": {"private": dict(self.private)},
        }


def event_id(tenant_id: str, entity_type: str, entity_id: str) -> str:
    """The event's id for an entity: base32hex (``[a-v0-9]``, 52 characters) of a hash of tenant, type and id, so
    every worker computes the same one and nothing of ours shows in it."""
    digest = hashlib.sha256(f"{tenant_id}:{entity_type}:{entity_id}".encode()).digest()
    return base64.b32hexencode(digest).decode().rstrip("=").lower()


def _events_url(calendar_id: str, event: str | None = None) -> str:
    base = get_settings().google_calendar_api_url.rstrip("/") + f"/calendars/{quote(calendar_id, safe='')}/events"
    return base if event is None else f"{base}/{quote(event, safe='')}"


def _reason(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    errors = (body.get("error") or {}).get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("reason") or "") or None
    return None


def _call(
    token: str, method: str, url: str, *, body: Mapping[str, Any] | None = None, notify: bool = False
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    # Attendees hear of every change we make (invitation, new time, cancellation).
    params = {"sendUpdates": "all"} if notify else None
    answered: list[httpx.Response] = []

    def run(http: httpx.Client) -> httpx.Response:
        answered.append(http.request(method, url, params=params, json=body, headers=headers))
        return answered[-1]

    try:
        return send(_WHAT, run)
    except ProviderError as exc:
        reason = _reason(answered[-1]) if answered else None
        if exc.status == 403 and reason in _RATE_LIMIT_REASONS:
            raise ProviderError(f"{_WHAT} rate limit ({reason})", failure=Failure.RETRYABLE, status=403) from exc
        if exc.status == 403:
            raise ProviderError(f"{_WHAT} forbade it ({reason or 403})", failure=Failure.REJECTED, status=403) from exc
        raise


def insert_event(token: str, calendar_id: str, event: CalendarEvent) -> Literal["created", "exists"]:
    """Create the event (attendees are sent invitations); ``exists`` when an event with its id is there (409)."""
    url = _events_url(calendar_id)
    try:
        _call(token, "POST", url, body=event.body(), notify=True)
    except ProviderError as exc:
        if exc.status == 409:
            return "exists"
        raise
    return "created"


def patch_event(token: str, calendar_id: str, event: str, changes: Mapping[str, Any]) -> Literal["patched", "gone"]:
    """Change some fields of the event (attendees are told); ``gone`` when it no longer exists (404/410)."""
    url = _events_url(calendar_id, event)
    try:
        _call(token, "PATCH", url, body=changes, notify=True)
    except ProviderError as exc:
        if exc.status in (404, 410):
            return "gone"
        raise
    return "patched"


def delete_event(token: str, calendar_id: str, event: str) -> Literal["deleted", "gone"]:
    """Delete the event (attendees are told); ``gone`` when it was deleted already (410) or never made (404)."""
    url = _events_url(calendar_id, event)
    try:
        _call(token, "DELETE", url, notify=True)
    except ProviderError as exc:
        if exc.status in (404, 410):
            return "gone"
        raise
    return "deleted"


def calendar_summary(token: str, calendar_id: str) -> str:
    """The calendar's name (``GET /calendars/<id>``; for ``primary``, the account's email address)."""
    url = get_settings().google_calendar_api_url.rstrip("/") + f"/calendars/{quote(calendar_id, safe='')}"
    calendar = json_object(_WHAT, _call(token, "GET", url))
    return str(calendar.get("summary") or calendar.get("id"))


def whoami(credentials: GoogleCalendarCredentials) -> str:
    """The calendar the credentials write to: a fresh access token from the refresh token, then its name."""
    grant = refresh_access_token(app_client(credentials), credentials.refresh_token.get_secret_value())
    return calendar_summary(grant.access_token, credentials.calendar_id)
