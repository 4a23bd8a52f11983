"""A fake Google Analytics 4 Measurement Protocol on loopback, for tests and for ``make run`` without a property.

Point ``settings.ga4_api_url`` at ``url``. It speaks the Measurement Protocol's wire format and keeps its traps:

- ``POST /mp/collect?measurement_id=&api_secret=`` answers **204 to anything**: a malformed body, an invalid event,
  an unknown stream or a wrong API secret are dropped without a word, as GA4 does. ``hits()`` are the events a
  property would count (a known stream with its secret, a valid event); ``received`` keeps every request with
  ``accepted`` and the reasons a dropped one was dropped.
- ``POST /debug/mp/collect`` (same request) records nothing and answers 200 ``{"validationMessages": [{fieldPath,
  description, validationCode}]}``: ``client_id`` required (``VALUE_REQUIRED``), at most 25 events
  (``EXCEEDED_MAX_ENTITIES``), event and parameter names of at most 40 letters, digits and underscores starting with
  a letter (``NAME_INVALID``), reserved names and prefixes (``NAME_RESERVED``), at most 25 parameters, values of at
  most 100 characters (``VALUE_OUT_OF_BOUNDS``), a ``value`` without a ``currency``, ``timestamp_micros`` more than
  72 hours back (``VALUE_INVALID``). Like GA4's, it does **not** check the API secret.
- Outages: ``POST /_config {"failNext": n, "failStatus": 503|429, "failRate"}``; ``GET|DELETE /_received``;
  ``GET /_hits``. ``add_stream(measurement_id, api_secret)`` declares a property's stream (none: any pair counts).
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localdev.fake_base import Answer, LoopbackFake, json_handler

__all__ = ["FakeGa4"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_RESERVED_EVENTS = frozenset(
    {
        "ad_activeview",
        "ad_click",
        "ad_exposure",
        "ad_query",
        "ad_reward",
        "adunit_exposure",
        "app_clear_data",
        "app_exception",
        "app_install",
        "app_remove",
        "app_store_refund",
        "app_update",
        "app_upgrade",
        "dynamic_link_app_open",
        "dynamic_link_app_update",
        "dynamic_link_first_open",
        "error",
        "first_open",
        "first_visit",
        "in_app_purchase",
        "notification_dismiss",
        "notification_foreground",
        "notification_open",
        "notification_receive",
        "os_update",
        "session_start",
        "session_start_with_rollout",
        "user_engagement",
    }
)
_RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
_MAX_EVENTS = 25
_MAX_PARAMS = 25
_MAX_VALUE_CHARS = 100
_MAX_AGE_MICROS = 72 * 3600 * 1_000_000


def _message(path: str, description: str, code: str) -> dict[str, str]:
    return {"fieldPath": path, "description": description, "validationCode": code}


def validation_messages(body: Any) -> list[dict[str, str]]:
    """What GA4's validation server would say about a request body (empty: nothing wrong)."""
    if not isinstance(body, dict):
        return [_message("", "Unable to parse the request body as JSON.", "VALUE_INVALID")]
    found: list[dict[str, str]] = []
    if not body.get("client_id") and not body.get("app_instance_id"):
        found.append(_message("client_id", "Measurement requires a client_id.", "VALUE_REQUIRED"))
    stamp = body.get("timestamp_micros")
    if stamp is not None and (not isinstance(stamp, int) or time.time() * 1_000_000 - stamp > _MAX_AGE_MICROS):
        found.append(_message("timestamp_micros", "Timestamp is more than 72 hours in the past.", "VALUE_INVALID"))
    events = body.get("events")
    if not isinstance(events, list) or not events:
        return [*found, _message("events", "Measurement requires at least one event.", "VALUE_REQUIRED")]
    if len(events) > _MAX_EVENTS:
        found.append(_message("events", f"A request may have at most {_MAX_EVENTS} events.", "EXCEEDED_MAX_ENTITIES"))
    for index, event in enumerate(events):
        found += _event_messages(index, event if isinstance(event, dict) else {})
    return found


def _event_messages(index: int, event: dict[str, Any]) -> list[dict[str, str]]:
    name = str(event.get("name") or "")
    where = f"events[{index}]"
    if not _NAME.match(name):
        description = (
            f"Event at index: [{index}] has invalid name [{name}]. Names must start with an alphabetic character."
        )
        return [_message("events", description, "NAME_INVALID")]
    if name in _RESERVED_EVENTS or name.startswith(_RESERVED_PREFIXES):
        return [_message("events", f"Event at index: [{index}] has reserved name [{name}].", "NAME_RESERVED")]
    params = event.get("params") or {}
    if not isinstance(params, dict):
        return [_message(f"{where}.params", "Params must be an object.", "VALUE_INVALID")]
    found: list[dict[str, str]] = []
    if len(params) > _MAX_PARAMS:
        found.append(_message(f"{where}.params", "Too many parameters.", "EXCEEDED_MAX_ENTITIES"))
    for key, value in params.items():
        if not _NAME.match(key) or key.startswith(_RESERVED_PREFIXES):
            found.append(_message(f"{where}.params", f"Param name [{key}] is invalid.", "NAME_INVALID"))
        elif isinstance(value, str) and len(value) > _MAX_VALUE_CHARS:
            found.append(_message(f"{where}.params.{key}", "Value is too long.", "VALUE_OUT_OF_BOUNDS"))
    if "value" in params and not params.get("currency"):
        found.append(_message(f"{where}.params.currency", "currency is required with value.", "VALUE_REQUIRED"))
    return found


class FakeGa4(LoopbackFake):
    """A fake GA4 Measurement Protocol on 127.0.0.1 (a free port unless ``port`` is given)."""

    kind = "ga4"

    def __init__(self, port: int = 0, *, seed: int | None = None) -> None:
        self.received: list[dict[str, Any]] = []
        self.streams: dict[str, str] = {}  # measurement id → its API secret
        self._init_failures(seed)
        self._lock = threading.RLock()
        self._listen(port, json_handler(self._answer), "fake-ga4")

    def add_stream(self, measurement_id: str, api_secret: str) -> None:
        """Declare a property's web stream: from then on only its secret gets hits of that stream counted."""
        with self._lock:
            self.streams[measurement_id] = api_secret

    def settings_env(self) -> dict[str, str]:
        """The environment that points BTRIX at this fake."""
        return {"BTRIX_GA4_API_URL": self.url, "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true"}

    def hits(self, measurement_id: str | None = None) -> list[dict[str, Any]]:
        """The events a property would count, each with its request's ids: ``{measurementId, clientId, userId,
        name, params, consent}``."""
        with self._lock:
            return [
                {**event, "measurementId": entry["measurementId"]}
                for entry in self.received
                if entry["accepted"] and (measurement_id is None or entry["measurementId"] == measurement_id)
                for event in entry["events"]
            ]

    def configure(self, **config: Any) -> dict[str, Any]:
        """What ``POST /_config`` does, from Python."""
        with self._lock:
            failures = self._configure_failures(config)
            return failures

    def _answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Answer:
        parts = urlsplit(target)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        with self._lock:
            if parts.path == "/_received":
                return Answer(200, self._received_log(method))
            if parts.path == "/_hits":
                return Answer(200, {"hits": self.hits()})
            if parts.path == "/_config" and method == "POST":
                return Answer(200, self.configure(**json.loads(body or b"{}")))
            if method != "POST" or parts.path not in ("/mp/collect", "/debug/mp/collect"):
                return Answer(404, None)
            if self._failing():
                return Answer(self.fail_status, None)
            try:
                sent: Any = json.loads(body or b"null")
            except ValueError:
                sent = None
            problems = validation_messages(sent)
            if parts.path == "/debug/mp/collect":
                if not query.get("measurement_id"):
                    problems.insert(0, _message("measurement_id", "measurement_id is required.", "VALUE_REQUIRED"))
                return Answer(200, {"validationMessages": problems})
            self.received.append(self._entry(query, sent, problems))
        return Answer(204, None)

    def _entry(self, query: dict[str, str], sent: Any, problems: list[dict[str, str]]) -> dict[str, Any]:
        measurement_id, secret = query.get("measurement_id", ""), query.get("api_secret", "")
        reasons = [p["description"] for p in problems]
        if not measurement_id:
            reasons.append("no measurement_id")
        elif self.streams and self.streams.get(measurement_id) != secret:
            reasons.append("unknown stream or API secret")
        body: dict[str, Any] = sent if isinstance(sent, dict) else {}
        events = [
            {
                "clientId": body.get("client_id"),
                "userId": body.get("user_id"),
                "timestampMicros": body.get("timestamp_micros"),
                "consent": body.get("consent"),
                "name": event.get("name"),
                "params": event.get("params") or {},
            }
            for event in (body.get("events") or [])
            if isinstance(event, dict)
        ]
        return {"measurementId": measurement_id, "accepted": not reasons, "reasons": reasons, "events": events}
