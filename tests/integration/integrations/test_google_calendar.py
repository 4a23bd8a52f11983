"""Google Calendar: connecting by OAuth consent, the access token refreshed once for everyone, a dead refresh token
disconnecting the integration (ADMINs told); against the fake Google."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.access.permissions import Role
from chalicelib.core.db.store import Table
from chalicelib.integrations import service, tokens
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.google_calendar import client as calendar
from chalicelib.integrations.http import Failure, ProviderError
from chalicelib.integrations.store import integration_key
from chalicelib.notifications.outbox import list_messages
from localdev.fake_google import FakeGoogle
from tests.support.consent import allow, callback
from tests.support.identity import Account, add_user, call


def _consent(api: Any, admin: Account, google: FakeGoogle) -> dict[str, str]:
    """Start the consent as the ADMIN, let the fake Google's user allow it; returns the callback's query."""
    return allow(api, admin, "google-calendar", None)


def _callback(api: Any, query: dict[str, str]) -> Any:
    return callback(api, "google-calendar", query)


def test_consent_connects_the_calendar_and_keeps_the_refresh_token_encrypted(
    api: Any, admin: Account, google: FakeGoogle
) -> None:
    started = call(api, "POST", "/integrations/google-calendar/connect", None, admin.headers()).json_body
    consent = parse_qs(urlsplit(started["url"]).query)
    assert consent["access_type"] == ["offline"]
    assert consent["prompt"] == ["consent"]
    assert "https://www.googleapis.com/auth/calendar.events" in consent["scope"][0].split()
    connected = _callback(api, _consent(api, admin, google))
    assert connected.status_code == 200, connected.body
    assert connected.json_body["status"] == "connected"
    assert connected.json_body["summary"] == {"calendarId": "primary", "account": google.account}
    listed = call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
    assert next(i for i in listed if i["provider"] == "google_calendar")["connected"] is True
    raw = Table().get(*integration_key(admin.tenant_id, Provider.GOOGLE_CALENDAR))
    assert raw is not None
    assert "1//" not in str(raw)  # the refresh token is only in the encrypted field
    # The connection works: an access token is there and the calendar answers with it.
    name = tokens.with_google_token(admin.tenant_id, lambda creds, token: calendar.calendar_summary(token, "primary"))
    assert name == google.account
    assert google.refreshes == 0  # the consent's own access token was kept


def test_a_forged_reused_or_refused_consent_connects_nothing(api: Any, admin: Account, google: FakeGoogle) -> None:
    query = _consent(api, admin, google)
    payload, _, signature = query["state"].partition(".")
    forged = _callback(api, {**query, "state": f"{payload}.{signature[::-1]}"})
    assert forged.status_code == 422
    assert [e["field"] for e in forged.json_body["errors"]] == ["query.state"]
    assert _callback(api, query).status_code == 200
    again = _callback(api, query)
    assert again.status_code == 422
    assert "used" in again.json_body["detail"]
    google.configure(denyConsent=True)
    refused = _callback(api, _consent(api, admin, google))
    assert refused.status_code == 403
    assert refused.json_body["type"].endswith("consent-refused")


def test_the_consent_is_bound_to_a_user_who_may_still_manage_integrations(
    api: Any, admin: Account, google: FakeGoogle
) -> None:
    other = add_user(api, admin, Role.ADMIN)
    query = _consent(api, other, google)
    version = call(api, "GET", f"/users/{other.user_id}", headers=admin.headers()).json_body["version"]
    change = {"role": "MANAGER", "version": version}
    demoted = call(api, "PATCH", f"/users/{other.user_id}", change, admin.headers())
    assert demoted.status_code == 200, demoted.body
    answer = _callback(api, query)
    assert answer.status_code == 403
    assert service.find_credentials(admin.tenant_id, Provider.GOOGLE_CALENDAR) is None


def test_eight_concurrent_calls_with_an_expired_token_refresh_it_once(
    api: Any, admin: Account, google: FakeGoogle
) -> None:
    assert _callback(api, _consent(api, admin, google)).status_code == 200
    google.configure(expireTokens=True)
    names: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            names.append(
                tokens.with_google_token(
                    admin.tenant_id, lambda creds, token: calendar.calendar_summary(token, creds.calendar_id)
                )
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert names == [google.account] * 8
    assert google.refreshes == 1


def test_a_dead_refresh_token_disconnects_the_integration_and_tells_the_admins(
    api: Any, admin: Account, google: FakeGoogle
) -> None:
    assert _callback(api, _consent(api, admin, google)).status_code == 200
    google.configure(expireTokens=True, invalidGrant=True)
    with pytest.raises(ProviderError) as refused:
        tokens.with_google_token(admin.tenant_id, lambda creds, token: calendar.calendar_summary(token, "primary"))
    assert refused.value.failure is Failure.FATAL
    listed = call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
    shown = next(i for i in listed if i["provider"] == "google_calendar")
    assert (shown["connected"], shown["status"]) == (False, "disconnected")
    assert "invalid_grant" in shown["disconnectedReason"]
    told = [m for m in list_messages(admin.tenant_id) if m.template == "integration.disconnected"]
    assert [(m.to, m.channel) for m in told] == [("role:ADMIN", "email")]
    assert service.find_credentials(admin.tenant_id, Provider.GOOGLE_CALENDAR) is None
    logs = call(api, "GET", "/integrations/google_calendar/logs", headers=admin.headers()).json_body["items"]
    assert logs[0]["operation"] == "disconnect"
    # Reconnecting by consent clears it.
    google.configure(invalidGrant=False)
    again = _callback(api, _consent(api, admin, google))
    assert again.status_code == 200
    assert again.json_body["status"] == "connected"
