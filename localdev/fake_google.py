"""A fake Google (OAuth 2.0 consent and token endpoints, Calendar API v3 events) on loopback, for tests and for
``make run`` without a Google account.

Point the settings at it: ``google_oauth_authorize_url`` = ``<url>/o/oauth2/v2/auth``, ``google_oauth_token_url`` =
``<url>/token``, ``google_calendar_api_url`` = ``<url>/calendar/v3`` (``settings_env()`` gives all three).

- Consent: ``GET /o/oauth2/v2/auth?client_id&redirect_uri&response_type=code&scope&state&access_type&prompt``
  answers what the user's "Allow" does: a 302 to ``redirect_uri?code=…&state=…`` (``{"denyConsent": true}``:
  ``?error=access_denied&state=…``). As with Google, the code's exchange brings a refresh token only when consent
  asked for ``access_type=offline`` and ``prompt=consent``.
- ``POST /token`` (form): ``authorization_code`` (a code works once, with the same ``redirect_uri``) and
  ``refresh_token``; a wrong client → 401 ``invalid_client``; a dead code or refresh token (revoked with
  ``revoke()``, or all of them after ``{"invalidGrant": true}``) → 400 ``invalid_grant``. ``refreshes`` counts the
  refresh grants asked for.
- Calendar: ``GET /calendar/v3/calendars/<id>`` (``primary`` is the account's address), events
  ``POST …/events`` with a client-chosen ``id`` (base32hex ``[a-v0-9]{5,1024}``; a repeated id → 409 ``duplicate``,
  even for a deleted event), ``GET|PATCH|DELETE …/events/<id>`` (deleting or changing a deleted event → 410
  ``deleted``, except a PATCH to ``status: confirmed``, which restores it;
  unknown → 404), ``sendUpdates`` recorded. Bearer tokens must be the fake's live access tokens, else 401
  (``{"expireTokens": true}`` expires the current ones). ``{"rateLimitNext": n}``: the next n calls get 403
  ``rateLimitExceeded``; ``failRate`` / ``failStatus`` / ``failNext`` fail calls with a 5xx.
- ``GET|DELETE /_received``, ``GET /_events`` (every event of every account).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from localdev.fake_base import Answer, LoopbackFake, json_handler

__all__ = ["FakeGoogle"]

ACCESS_TOKEN_LIFETIME_S = 3599
_EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
_CALENDAR = "/calendar/v3/calendars/"


@dataclass
class _Grant:
    """A refresh token: whose, for which client, still honoured or not."""

    account: str
    client_id: str
    scope: str
    revoked: bool = False


@dataclass
class _Code:
    account: str
    client_id: str
    redirect_uri: str
    scope: str
    offline: bool


@dataclass
class _Token:
    account: str
    expires_at: float
    expired: bool = False


@dataclass
class _Calendar:
    id: str
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


def _google_error(status: int, reason: str, message: str) -> Answer:
    """A Google API error body (``{"error": {"code", "message", "errors": [{"reason"}]}}``)."""
    errors = [{"domain": "global", "reason": reason, "message": message}]
    return Answer(status, {"error": {"code": status, "message": message, "errors": errors}})


def _oauth_error(status: int, code: str, description: str) -> Answer:
    return Answer(status, {"error": code, "error_description": description})


class FakeGoogle(LoopbackFake):
    """Fake Google OAuth and Calendar on 127.0.0.1 (a free port unless ``port`` is given).

    ``client_id``/``client_secret``: the OAuth client the token endpoint accepts (None: any non-empty pair).
    ``account``: the Google account that consents (its ``primary`` calendar is named after it).
    """

    kind = "google"

    def __init__(
        self,
        port: int = 0,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        account: str = "owner@nordisk-salg.example",
        seed: int | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.account = account
        self.deny_consent = False
        self.invalid_grant = False
        self.rate_limit_next = 0
        self.received: list[dict[str, Any]] = []
        self._codes: dict[str, _Code] = {}
        self._grants: dict[str, _Grant] = {}
        self._tokens: dict[str, _Token] = {}
        self._calendars: dict[tuple[str, str], _Calendar] = {}
        self._refreshes = 0
        self._init_failures(seed)
        self._lock = threading.RLock()
        self._listen(port, json_handler(self._answer), "fake-google")

    # --- python helpers for tests and make run ----------------------------------------------------------------------

    def settings_env(self) -> dict[str, str]:
        """The environment that points BTRIX's Google settings at this fake."""
        return {
            "BTRIX_GOOGLE_OAUTH_AUTHORIZE_URL": f"{self.url}/o/oauth2/v2/auth",
            "BTRIX_GOOGLE_OAUTH_TOKEN_URL": f"{self.url}/token",
            "BTRIX_GOOGLE_CALENDAR_API_URL": f"{self.url}/calendar/v3",
        }

    @property
    def refreshes(self) -> int:
        """How many refresh grants were asked for (honoured or not)."""
        with self._lock:
            return self._refreshes

    def events(self, account: str | None = None, calendar_id: str = "primary") -> dict[str, dict[str, Any]]:
        """The events (deleted ones with ``status: cancelled``) of ``account``'s calendar, by id."""
        with self._lock:
            owner = account or self.account
            calendar = self._calendars.get((owner, self._calendar_name(owner, calendar_id)))
            return {} if calendar is None else {k: dict(v) for k, v in calendar.events.items()}

    def issue_refresh_token(self, account: str | None = None, client_id: str = "any-client") -> str:
        """A refresh token as a past consent gave it (for tests that connect without the consent round trip)."""
        with self._lock:
            token = "1//" + secrets.token_urlsafe(32)
            self._grants[token] = _Grant(account or self.account, client_id, "calendar.events")
            return token

    def revoke(self, refresh_token: str) -> None:
        """The user removed the app's access: the refresh token answers ``invalid_grant`` from now on."""
        with self._lock:
            self._grants[refresh_token].revoked = True

    def configure(self, **config: Any) -> dict[str, Any]:
        """What ``POST /_config`` does, from Python."""
        with self._lock:
            if config.get("expireTokens"):
                for token in self._tokens.values():
                    token.expired = True
            self.deny_consent = bool(config.get("denyConsent", self.deny_consent))
            self.invalid_grant = bool(config.get("invalidGrant", self.invalid_grant))
            self.rate_limit_next = int(config.get("rateLimitNext", self.rate_limit_next))
            failures = self._configure_failures(config)
            if "account" in config:
                self.account = str(config["account"])
            return {
                "denyConsent": self.deny_consent,
                "invalidGrant": self.invalid_grant,
                "rateLimitNext": self.rate_limit_next,
                **failures,
                "account": self.account,
            }

    # --- serving ----------------------------------------------------------------------------------------------------

    def _answer(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Answer:
        parts = urlsplit(target)
        path = parts.path
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        common = self._common_control(method, path, body, refreshes=self._refreshes)
        if common is not None:
            return common
        if path == "/_events":
            with self._lock:
                every = {f"{a}/{c}": dict(cal.events) for (a, c), cal in self._calendars.items()}
            return Answer(200, {"calendars": every})
        entry: dict[str, Any] = {"method": method, "path": path, "query": query}
        with self._lock:
            if path == "/o/oauth2/v2/auth" and method == "GET":
                reply = self._consent(query)
            elif path == "/token" and method == "POST":
                form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
                reply = self._token(form)
                entry["body"] = {k: v for k, v in form.items() if k not in ("client_secret", "refresh_token", "code")}
            elif path.startswith(_CALENDAR):
                reply = self._calendar(method, path, query, body, headers)
                entry["body"] = _json(body)
            else:
                reply = _google_error(404, "notFound", f"Not Found: {path}")
            entry["status"] = reply.status
            self.received.append(entry)
        return reply

    # --- OAuth ------------------------------------------------------------------------------------------------------

    def _consent(self, query: dict[str, str]) -> Answer:
        redirect = query.get("redirect_uri", "")
        if not query.get("client_id") or not redirect.startswith(("http://", "https://")):
            return _oauth_error(400, "invalid_request", "client_id and redirect_uri are required")
        if query.get("response_type") != "code" or not query.get("scope"):
            return _oauth_error(400, "invalid_request", "response_type=code and a scope are required")
        state = query.get("state", "")
        if self.deny_consent:
            answer = {"error": "access_denied", "state": state}
        else:
            code = "4/" + secrets.token_urlsafe(24)
            offline = query.get("access_type") == "offline" and "consent" in query.get("prompt", "").split()
            self._codes[code] = _Code(self.account, query["client_id"], redirect, query["scope"], offline)
            answer = {"code": code, "state": state, "scope": query["scope"]}
        separator = "&" if "?" in redirect else "?"
        return Answer(302, None, (("Location", f"{redirect}{separator}{urlencode(answer)}"),))

    def _client_ok(self, form: dict[str, str]) -> bool:
        if not form.get("client_id") or not form.get("client_secret"):
            return False
        if self.client_id is None:
            return True
        return form["client_id"] == self.client_id and form["client_secret"] == self.client_secret

    def _issue(self, account: str) -> str:
        token = "ya29." + secrets.token_urlsafe(32)
        self._tokens[token] = _Token(account, time.time() + ACCESS_TOKEN_LIFETIME_S)
        return token

    def _token(self, form: dict[str, str]) -> Answer:
        if not self._client_ok(form):
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            code = self._codes.pop(form.get("code", ""), None)
            if code is None or code.client_id != form["client_id"] or code.redirect_uri != form.get("redirect_uri"):
                return _oauth_error(400, "invalid_grant", "Malformed auth code.")
            answer: dict[str, Any] = {
                "access_token": self._issue(code.account),
                "expires_in": ACCESS_TOKEN_LIFETIME_S,
                "scope": code.scope,
                "token_type": "Bearer",
            }
            if code.offline:
                refresh = "1//" + secrets.token_urlsafe(32)
                self._grants[refresh] = _Grant(code.account, code.client_id, code.scope)
                answer["refresh_token"] = refresh
            return Answer(200, answer)
        if grant_type == "refresh_token":
            self._refreshes += 1
            grant = self._grants.get(form.get("refresh_token", ""))
            if grant is None or grant.revoked or self.invalid_grant:
                return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            answer = {
                "access_token": self._issue(grant.account),
                "expires_in": ACCESS_TOKEN_LIFETIME_S,
                "scope": grant.scope,
                "token_type": "Bearer",
            }
            return Answer(200, answer)
        return _oauth_error(400, "unsupported_grant_type", "Invalid grant_type.")

    # --- Calendar ---------------------------------------------------------------------------------------------------

    def _calendar_name(self, account: str, calendar_id: str) -> str:
        return account if calendar_id == "primary" else calendar_id

    def _calendar_of(self, account: str, calendar_id: str) -> _Calendar:
        name = self._calendar_name(account, calendar_id)
        return self._calendars.setdefault((account, name), _Calendar(name))

    def _calendar(self, method: str, path: str, query: dict[str, str], body: bytes, headers: dict[str, str]) -> Answer:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        found = self._tokens.get(token) if scheme == "Bearer" else None
        if found is None or found.expired or found.expires_at <= time.time():
            return _google_error(401, "authError", "Request had invalid authentication credentials.")
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return _google_error(403, "rateLimitExceeded", "Rate Limit Exceeded")
        if self._failing():
            return _google_error(self.fail_status, "backendError", "Backend Error")
        segments = path[len(_CALENDAR) :].split("/")
        calendar = self._calendar_of(found.account, segments[0])
        if len(segments) == 1 and method == "GET":
            return Answer(200, {"kind": "calendar#calendar", "id": calendar.id, "summary": calendar.id})
        if len(segments) < 2 or segments[1] != "events":
            return _google_error(404, "notFound", "Not Found")
        if len(segments) == 2 and method == "POST":
            return self._insert(calendar, _json(body), query)
        if len(segments) != 3:
            return _google_error(404, "notFound", "Not Found")
        event = calendar.events.get(segments[2])
        if event is None:
            return _google_error(404, "notFound", "Not Found")
        if method == "GET":
            return Answer(200, dict(event))
        changes = _json(body) if method == "PATCH" else None
        restore = isinstance(changes, dict) and changes.get("status") == "confirmed"
        if event["status"] == "cancelled" and not restore:
            # The organizer's calendar keeps a deleted event, so it can be restored (a PATCH to status confirmed).
            return _google_error(410, "deleted", "Resource has been deleted")
        if method == "DELETE":
            event.update(status="cancelled", sendUpdates=query.get("sendUpdates"))
            return Answer(204)
        if method == "PATCH":
            if not isinstance(changes, dict):
                return _google_error(400, "badRequest", "The body must be a JSON object")
            refused = _event_refusal({**event, **changes})
            if refused:
                return _google_error(400, "invalid", refused)
            event.update({k: v for k, v in changes.items() if k != "id"})
            event.update(sequence=int(event["sequence"]) + 1, sendUpdates=query.get("sendUpdates"))
            return Answer(200, dict(event))
        return _google_error(404, "notFound", "Not Found")

    def _insert(self, calendar: _Calendar, sent: Any, query: dict[str, str]) -> Answer:
        if not isinstance(sent, dict):
            return _google_error(400, "badRequest", "The body must be a JSON object")
        event_id = str(sent.get("id") or secrets.token_hex(13))
        if not _EVENT_ID.match(event_id):
            return _google_error(400, "invalid", "Invalid resource id value.")
        if event_id in calendar.events:
            return _google_error(409, "duplicate", "The requested identifier already exists.")
        refused = _event_refusal(sent)
        if refused:
            return _google_error(400, "invalid", refused)
        event = {
            **sent,
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "sequence": 0,
            "htmlLink": f"{self.url}/calendar/event?eid={event_id}",
            "organizer": {"email": calendar.id, "self": True},
            "sendUpdates": query.get("sendUpdates"),
        }
        calendar.events[event_id] = event
        return Answer(200, dict(event))


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _event_refusal(event: dict[str, Any]) -> str | None:
    """Why Google would refuse the event (None: it takes it): times with a zone, end after start."""
    start, end = event.get("start") or {}, event.get("end") or {}
    if not start.get("dateTime") or not end.get("dateTime"):
        return "Missing start or end time."
    if not (start.get("timeZone") or str(start["dateTime"]).endswith("Z") or "+" in str(start["dateTime"])[10:]):
        return "Missing time zone definition for start time."
    if str(end["dateTime"]) <= str(start["dateTime"]):
        return "The specified time range is empty."
    return None
