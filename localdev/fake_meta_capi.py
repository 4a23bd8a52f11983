"""Meta's Conversions API as the fake Graph API serves it (``localdev/fakes.FakeProvider`` of kind ``meta`` hands
these requests here), with its traps.

- ``add_pixel(pixel_id, token, name)`` (or ``POST /_pixels {"id", "token", "name"}``) declares a Pixel and the only
  token that may send its events. ``GET /<version>/<pixel id>`` → ``{id, name}``.
- ``POST /<version>/<pixel id>/events {data: [...], test_event_code?}`` (bearer token) → ``{events_received,
  messages, fbtrace_id}``. Refused as Meta refuses (a Graph error ``{"error": {message, type, code, error_subcode,
  error_user_title, error_user_msg, fbtrace_id}}``): another token → 400 code 190 (``OAuthException``); an unknown
  pixel → 400 code 100; and 400 code 100 for the whole request when one event is older than 7 days (subcode
  2804003), has ``event_time`` in milliseconds (in the future), lacks ``event_name``/``event_id``/``action_source``,
  says ``website`` without the browser's ``client_user_agent``, or carries customer information that is not a SHA-256
  hex (unhashed ``em``, ``ph``, names, address). (The subcodes and messages other than 190/100 are not confirmed by
  Meta's public docs: the shape is.)
- Deduplication: an event whose ``event_name`` + ``event_id`` the pixel received in the last 48 hours is counted in
  ``events_received`` but kept aside (``duplicates``), as Meta keeps one; ``events`` are what the pixel counts.
  Events of a request with ``test_event_code`` go to ``test_events`` (Events Manager's Test Events tab) only.
- Rate limits: ``throttle(n, status=429, code=4)`` (or ``POST /_config {"capiThrottleNext": n}``) answers the next
  ``n`` event posts with Graph's limit error (code 4 "Application request limit reached"; 17 and 613 are Graph's
  other call limits); the fake's ``failNext`` fails every Graph request alike (WhatsApp's too).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ConversionsApi"]

_HASHED = re.compile(r"^[0-9a-f]{64}$")
_MUST_HASH = ("em", "ph", "fn", "ln", "ct", "st", "zp", "country", "db", "ge")
_SOURCES = frozenset(
    {
        "email",
        "website",
        "app",
        "phone_call",
        "chat",
        "physical_store",
        "system_generated",
        "business_messaging",
        "other",
    }
)
_MAX_AGE_S = 7 * 24 * 3600
_DEDUP_S = 48 * 3600
_MAX_EVENTS = 1000


def graph_error(code: int, message: str, *, subcode: int | None = None, title: str | None = None) -> dict[str, Any]:
    """A Graph API error body."""
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": secrets.token_urlsafe(12),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if title is not None:
        error.update(error_user_title=title, error_user_msg=message, is_transient=False)
    return {"error": error}


@dataclass
class _Pixel:
    id: str
    token: str
    name: str
    events: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    test_events: list[dict[str, Any]] = field(default_factory=list)
    seen: dict[tuple[str, str], float] = field(default_factory=dict)


class ConversionsApi:
    """The Conversions API's state inside the fake Graph API: pixels and the events they received."""

    def __init__(self) -> None:
        self.pixels: dict[str, _Pixel] = {}
        self._throttled: list[tuple[int, int]] = []  # (status, code) of the next event posts to refuse
        self._lock = threading.Lock()

    def throttle(self, times: int, *, status: int = 429, code: int = 4) -> None:
        """Answer the next ``times`` event posts with a Graph call-limit error."""
        with self._lock:
            self._throttled = [(status, code)] * times

    def add_pixel(self, pixel_id: str, token: str, name: str = "Demo Pixel") -> None:
        """Declare a pixel and the token that may send its events."""
        with self._lock:
            self.pixels[pixel_id] = _Pixel(pixel_id, token, name)

    def events(self, pixel_id: str, *, test: bool = False) -> list[dict[str, Any]]:
        """What the pixel counts (``test``: what its Test Events tab shows)."""
        with self._lock:
            pixel = self.pixels.get(pixel_id)
            return [] if pixel is None else list(pixel.test_events if test else pixel.events)

    def duplicates(self, pixel_id: str) -> list[dict[str, Any]]:
        """Events received again (same name and id within 48 hours), which the pixel does not count twice."""
        with self._lock:
            pixel = self.pixels.get(pixel_id)
            return [] if pixel is None else list(pixel.duplicates)

    def knows(self, object_id: str) -> bool:
        """Whether ``object_id`` is a declared pixel (the Graph fake serves other objects too)."""
        with self._lock:
            return object_id in self.pixels

    def answer(self, method: str, pixel_id: str, edge: str | None, token: str, sent: Any) -> tuple[int, Any]:
        """Serve ``GET /<v>/<pixel>`` or ``POST /<v>/<pixel>/events``: (status, body)."""
        with self._lock:
            pixel = self.pixels.get(pixel_id)
            if pixel is None:
                message = f"Unsupported request. Object with ID '{pixel_id}' does not exist, cannot be loaded due to"
                return 400, graph_error(100, f"{message} missing permissions, or does not support this operation")
            if token != pixel.token:
                return 400, graph_error(190, "Invalid OAuth access token - Cannot parse access token")
            if method == "GET" and edge is None:
                return 200, {"id": pixel.id, "name": pixel.name}
            if method != "POST" or edge != "events":
                return 400, graph_error(100, "Unsupported request - method type")
            if self._throttled:
                status, code = self._throttled.pop(0)
                return status, graph_error(code, f"(#{code}) Application request limit reached")
            return self._receive(pixel, sent if isinstance(sent, dict) else {})

    def _receive(self, pixel: _Pixel, sent: dict[str, Any]) -> tuple[int, Any]:
        data = sent.get("data")
        if not isinstance(data, list) or not data:
            return 400, graph_error(100, "(#100) The parameter data is required")
        if len(data) > _MAX_EVENTS:
            return 400, graph_error(100, f"(#100) At most {_MAX_EVENTS} events per request")
        now = time.time()
        for index, event in enumerate(data):
            refusal = _refusal(index, event if isinstance(event, dict) else {}, now)
            if refusal is not None:
                return 400, refusal
        test_code = sent.get("test_event_code")
        for event in data:
            key = (str(event["event_name"]), str(event["event_id"]))
            if test_code:
                pixel.test_events.append({**event, "testEventCode": test_code})
            elif now - pixel.seen.get(key, 0.0) < _DEDUP_S:
                pixel.duplicates.append(event)
            else:
                pixel.seen[key] = now
                pixel.events.append(event)
        return 200, {"events_received": len(data), "messages": [], "fbtrace_id": secrets.token_urlsafe(12)}


def _refusal(index: int, event: dict[str, Any], now: float) -> dict[str, Any] | None:
    """Why Meta refuses the request for this event (None: it takes it)."""
    for name in ("event_name", "event_id", "action_source"):
        if not event.get(name):
            return graph_error(100, f"(#100) data[{index}].{name} is required")
    stamp = event.get("event_time")
    if not isinstance(stamp, int):
        return graph_error(100, f"(#100) data[{index}].event_time must be an integer (Unix seconds)")
    if stamp > now + 3600:
        return graph_error(100, "event_time is in the future", subcode=2804004, title="Event Timestamp In Future")
    if now - stamp > _MAX_AGE_S:
        message = "The timestamp for this event is too far in the past. Events must be sent within 7 days."
        return graph_error(100, message, subcode=2804003, title="Event Timestamp Too Old")
    source = event["action_source"]
    if source not in _SOURCES:
        return graph_error(100, f"(#100) data[{index}].action_source must be one of {sorted(_SOURCES)}")
    given = event.get("user_data")
    user: dict[str, Any] = given if isinstance(given, dict) else {}
    if source == "website" and not user.get("client_user_agent"):
        return graph_error(100, "client_user_agent is required for website events", subcode=2804050, title="Missing")
    if not user:
        return graph_error(100, f"(#100) data[{index}].user_data is required")
    for name in _MUST_HASH:
        values = user.get(name)
        for value in values if isinstance(values, list) else [values] if values is not None else []:
            if not _HASHED.match(str(value)):
                message = f"user_data.{name} must be hashed (SHA-256 of the normalised value)"
                return graph_error(100, message, subcode=2804019, title="Unhashed customer information")
    return None
