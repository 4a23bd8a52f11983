"""The fake Bitrix24 answers as Bitrix24 does: REST with JSON or form bodies, its errors, one-use refresh tokens,
failure injection, and what it received."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from localdev.fake_bitrix24 import FakeBitrix24

DOMAIN = "acme.bitrix24.com"


@pytest.fixture
def fake() -> Iterator[FakeBitrix24]:
    server = FakeBitrix24(seed=1).start()
    try:
        yield server
    finally:
        server.stop()


def _rest(fake: FakeBitrix24, method: str, token: str, **params: Any) -> httpx.Response:
    return httpx.post(f"{fake.url}/{DOMAIN}/rest/{method}", json={**params, "auth": token})


def _refresh(fake: FakeBitrix24, refresh_token: str) -> httpx.Response:
    query = {"grant_type": "refresh_token", "client_id": "c", "client_secret": "s", "refresh_token": refresh_token}
    return httpx.get(fake.oauth_url, params=query)


def test_rest_answers_with_result_for_json_and_form_bodies(fake: FakeBitrix24) -> None:
    auth = fake.install(DOMAIN, "m1")

    json_answer = _rest(fake, "profile", auth["access_token"])
    form_answer = httpx.post(f"{fake.url}/{DOMAIN}/rest/profile.json", data={"auth": auth["access_token"]})
    missing = _rest(fake, "profile", "")
    foreign = httpx.post(f"{fake.url}/other.bitrix24.com/rest/profile", json={"auth": auth["access_token"]})

    assert json_answer.json()["result"]["NAME"] == "Ana"
    assert form_answer.json()["result"]["ID"] == "1"
    assert (missing.status_code, missing.json()["error"]) == (401, "NO_AUTH_FOUND")
    assert foreign.status_code == 404


def test_expired_tokens_refresh_once_each(fake: FakeBitrix24) -> None:
    auth = fake.install(DOMAIN, "m1")
    fake.configure(expireTokens=True)

    expired = _rest(fake, "profile", auth["access_token"])
    first = _refresh(fake, auth["refresh_token"])
    reused = _refresh(fake, auth["refresh_token"])

    assert (expired.status_code, expired.json()["error"]) == (401, "expired_token")
    assert first.status_code == 200
    assert first.json()["client_endpoint"] == f"https://{DOMAIN}/rest/"
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert _rest(fake, "profile", first.json()["access_token"]).status_code == 200
    received = httpx.get(f"{fake.url}/_received").json()
    assert received["refreshes"] == 2
    shown = [r["body"] for r in received["received"] if r.get("kind") == "oauth"]
    assert shown == [{"grant_type": "refresh_token", "client_id": "c"}] * 2  # no secret, no refresh token


def test_invalid_grant_and_failures_on_demand(fake: FakeBitrix24) -> None:
    auth = fake.install(DOMAIN, "m1")
    httpx.post(f"{fake.url}/_config", json={"invalidGrant": True, "failNext": 2, "failStatus": 503})

    refused = _refresh(fake, auth["refresh_token"])
    failing = [_rest(fake, "profile", auth["access_token"]).status_code for _ in range(3)]

    assert refused.json()["error"] == "invalid_grant"
    assert failing == [503, 503, 200]
    assert _rest(fake, "profile", auth["access_token"]).status_code == 200


def test_open_lines_and_crm_keep_state(fake: FakeBitrix24) -> None:
    token = fake.install(DOMAIN, "m1")["access_token"]
    icon = {"DATA_IMAGE": "data:image/svg+xml,x"}
    unregistered = _rest(fake, "imconnector.activate", token, CONNECTOR="wa", LINE="3", ACTIVE=1)
    _rest(fake, "imconnector.register", token, ID="wa", NAME="WA", ICON=icon, PLACEMENT_HANDLER="https://h")
    _rest(fake, "imconnector.activate", token, CONNECTOR="wa", LINE="3", ACTIVE=1)
    message = {"user": {"id": "55"}, "message": {"id": "w1", "date": 1, "text": "Oi"}, "chat": {"id": "c1"}}

    first = _rest(fake, "imconnector.send.messages", token, CONNECTOR="wa", LINE="3", MESSAGES=[message])
    second = _rest(fake, "imconnector.send.messages", token, CONNECTOR="wa", LINE="3", MESSAGES=[message])
    closed = _rest(fake, "imconnector.send.messages", token, CONNECTOR="wa", LINE="4", MESSAGES=[message])
    contact = _rest(fake, "crm.contact.add", token, fields={"NAME": "Maria", "PHONE": [{"VALUE": "+55 11 98888-7777"}]})
    found = _rest(fake, "crm.duplicate.findbycomm", token, type="PHONE", values=["5511988887777"])
    nothing = _rest(fake, "crm.duplicate.findbycomm", token, type="PHONE", values=["5511000000000"])

    assert unregistered.status_code == 400
    chats = [r.json()["result"]["DATA"]["RESULT"][0]["chat"]["id"] for r in (first, second)]
    assert chats[0] == chats[1]
    assert (closed.status_code, closed.json()["error"]) == (400, "NOT_ACTIVE_LINE")
    assert found.json()["result"] == {"CONTACT": [contact.json()["result"]]}
    assert nothing.json()["result"] == []
    assert len(fake.portal(DOMAIN).messages) == 2
    assert len(fake.calls("imconnector.send.messages")) == 2
    httpx.delete(f"{fake.url}/_received")
    assert fake.received == []


def test_an_operator_finishing_a_dialog_names_the_connectors_chat_and_the_portals_own(fake: FakeBitrix24) -> None:
    token = fake.install(DOMAIN, "m1")["access_token"]
    icon = {"DATA_IMAGE": "data:image/svg+xml,x"}
    _rest(fake, "imconnector.register", token, ID="wa", NAME="WA", ICON=icon, PLACEMENT_HANDLER="https://h")
    _rest(fake, "imconnector.activate", token, CONNECTOR="wa", LINE="3", ACTIVE=1)
    message = {"user": {"id": "55"}, "message": {"id": "w1", "date": 1, "text": "Oi"}, "chat": {"id": "c1"}}
    sent = _rest(fake, "imconnector.send.messages", token, CONNECTOR="wa", LINE="3", MESSAGES=[message])
    portal_chat = sent.json()["result"]["DATA"]["RESULT"][0]["chat"]["id"]

    finished = fake.finish_dialog(DOMAIN, "wa", "3", "c1")
    [dialog] = finished["DATA"]
    assert (finished["CONNECTOR"], finished["LINE"]) == ("wa", "3")
    assert (dialog["connector"]["chat_id"], dialog["chat"]["id"], dialog["session"]["closed"]) == (
        "c1",
        portal_chat,
        "Y",
    )
    assert fake.portal(DOMAIN).finished == ["c1"]
    with pytest.raises(KeyError):
        fake.finish_dialog(DOMAIN, "wa", "3", "never-opened")
