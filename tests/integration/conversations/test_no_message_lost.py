"""A provider failure never makes a customer's message disappear: a file WhatsApp will not hand over still lets its
message reach the operators (with the reason), an outage of the file is retried, and an operator's message that
cannot reach WhatsApp is told to the operators in their chat."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.integration.conversations.conftest import Fakes, connect, post_bitrix, post_meta
from tests.integration.conversations.test_relay import (
    Work,
    _conversations,
    _messages,
    _open_conversation,
    _operator_message,
    _relayed,
    _wa_id,
    _wamid,
)
from tests.support.gateway import meta_message, meta_notification


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the gateway metrics the inbound relay emits during the test."""
    from chalicelib.conversations import inbound
    from chalicelib.conversations.metrics import emit

    emitted: list[str] = []
    original = emit

    def record(name: str, *args: Any, **kwargs: Any) -> None:
        emitted.append(name)
        original(name, *args, **kwargs)

    monkeypatch.setattr(inbound, "emit", record)
    return emitted


def test_an_image_meta_will_not_hand_over_still_reaches_the_operator_with_its_caption_and_why(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work, metrics: list[str]
) -> None:
    gateway = connect(api, hooks, fakes, work)
    wa_id, media_id = _wa_id(), str(secrets.randbelow(10**15))  # never registered: Meta answers 400 for it
    image = {"id": media_id, "mime_type": "image/jpeg", "caption": "o pedal quebrou"}
    payload = meta_notification(
        gateway.phone_number_id, messages=[meta_message(wa_id, _wamid(), type="image", image=image)]
    )
    assert post_meta(hooks, payload).status_code == 200

    work(lambda: len(_relayed(fakes, gateway, wa_id)) == 1)
    relayed = _relayed(fakes, gateway, wa_id)[0]["message"]
    first, reason = relayed["text"].split("\n")
    assert first == "o pedal quebrou"
    assert "image could not be fetched from WhatsApp" in reason
    assert "does not exist" in reason  # Meta's own words
    assert not relayed.get("files")
    portal = fakes.bitrix.portal(gateway.domain)
    assert [c["PHONE"][0]["VALUE"] for c in portal.contacts.values()] == [f"+{wa_id}"]

    [conversation] = _conversations(api, gateway)
    [message] = _messages(api, gateway, conversation["id"])
    assert message["status"] == "relayed"
    [file] = message["files"]
    assert "does not exist" in file["error"]
    assert "url" not in file or file["url"] is None
    assert "MediaFailures" in metrics


def test_an_image_meta_fails_to_serve_for_a_while_is_retried_and_arrives(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    wa_id, media_id = _wa_id(), str(secrets.randbelow(10**15))
    picture = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(512)
    fakes.meta.add_media(media_id, picture, "image/png")
    image = {"id": media_id, "mime_type": "image/png", "caption": "a bike"}
    httpx.post(f"{fakes.meta.url}/_config", json={"failNext": 2, "failStatus": 503})
    try:
        message = meta_message(wa_id, _wamid(), type="image", image=image)
        assert post_meta(hooks, meta_notification(gateway.phone_number_id, messages=[message])).status_code == 200
        work(lambda: len(_relayed(fakes, gateway, wa_id)) == 1)
    finally:
        httpx.post(f"{fakes.meta.url}/_config", json={"failNext": 0})
    relayed = _relayed(fakes, gateway, wa_id)[0]["message"]
    assert relayed["text"] == "a bike"
    [file] = relayed["files"]
    assert httpx.get(file["url"]).content == picture


def test_an_image_meta_never_serves_goes_to_the_operator_without_it_at_the_last_attempt(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work, metrics: list[str]
) -> None:
    gateway = connect(api, hooks, fakes, work)
    wa_id, media_id = _wa_id(), str(secrets.randbelow(10**15))
    fakes.meta.add_media(media_id, b"GIF89a", "image/gif")
    image = {"id": media_id, "mime_type": "image/gif"}
    httpx.post(f"{fakes.meta.url}/_config", json={"failRate": 1.0, "failStatus": 503})
    try:
        message = meta_message(wa_id, _wamid(), type="image", image=image)
        assert post_meta(hooks, meta_notification(gateway.phone_number_id, messages=[message])).status_code == 200
        work(lambda: len(_relayed(fakes, gateway, wa_id)) == 1)
    finally:
        httpx.post(f"{fakes.meta.url}/_config", json={"failRate": 0.0})
    relayed = _relayed(fakes, gateway, wa_id)[0]["message"]
    assert relayed["text"].startswith("[image could not be fetched from WhatsApp: ")
    [conversation] = _conversations(api, gateway)
    [logged] = _messages(api, gateway, conversation["id"])
    assert logged["status"] == "relayed"
    assert logged["files"][0]["error"]
    assert metrics.count("MediaFailures") == 1


def test_an_operator_message_whatsapp_refuses_is_told_to_the_operators(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    _, conversation = _open_conversation(api, hooks, fakes, work, gateway)
    portal = fakes.bitrix.portal(gateway.domain)
    told = len(portal.system_messages)
    httpx.post(f"{fakes.meta.url}/_config", json={"failNext": 1, "failStatus": 400, "failCode": 100})
    try:
        data = _operator_message(gateway, conversation["id"], "segue o orçamento", 5101)
        assert post_bitrix(hooks, gateway, "ONIMCONNECTORMESSAGEADD", data).status_code == 200
        work(lambda: len(portal.system_messages) > told)
    finally:
        httpx.post(f"{fakes.meta.url}/_config", json={"failNext": 0, "failCode": None})
    assert "did not reach the customer" in portal.system_messages[-1]["MESSAGE"]
    reply = _messages(api, gateway, conversation["id"])[0]
    assert (reply["direction"], reply["status"]) == ("out", "failed")
