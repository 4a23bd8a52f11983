"""The gateway's WhatsApp Cloud API client against the fake Meta: sends, read receipts, media downloads, and
Meta's errors classified the way the relay acts on them (retry later, send a template, stop)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from chalicelib.core.config import get_settings
from chalicelib.integrations.meta import client
from chalicelib.integrations.meta.client import MetaApiError, MetaNumber
from localdev.fakes import FakeProvider

TOKEN = "EAAG-gateway-token"
NUMBER = MetaNumber(phone_number_id="1098765432", access_token=TOKEN)
CUSTOMER = "5511987654321"


@pytest.fixture(scope="module")
def meta() -> Iterator[FakeProvider]:
    """The fake Meta Graph API, accepting only ``TOKEN``, with the settings pointing at it."""
    fake = FakeProvider("meta", seed=3).start()
    fake.accept_tokens = {TOKEN}
    patch = pytest.MonkeyPatch()
    patch.setenv("BTRIX_META_GRAPH_URL", fake.url)
    patch.setenv("BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK", "true")
    get_settings.cache_clear()
    try:
        yield fake
    finally:
        patch.undo()
        get_settings.cache_clear()
        fake.stop()


@pytest.fixture(autouse=True)
def clean(meta: FakeProvider) -> Iterator[None]:
    """Every test starts with nothing received and no failure configured."""
    meta.received.clear()
    yield
    _configure(meta, failRate=0.0, failStatus=503, failNext=0, failCode=None, closedWindows=[])


@pytest.fixture
def graph_url(meta: FakeProvider) -> Iterator[Callable[[str], None]]:
    """Points the client somewhere else for one test."""
    patch = pytest.MonkeyPatch()

    def point(url: str) -> None:
        patch.setenv("BTRIX_META_GRAPH_URL", url)
        get_settings.cache_clear()

    yield point
    patch.setenv("BTRIX_META_GRAPH_URL", meta.url)
    get_settings.cache_clear()


def _configure(meta: FakeProvider, **config: Any) -> None:
    assert httpx.post(f"{meta.url}/_config", json=config).status_code == 200


def _sent(meta: FakeProvider, wamid: str) -> dict[str, Any]:
    [request] = [r for r in meta.accepted() if r["messageId"] == wamid]
    assert request["path"] == f"/{get_settings().meta_graph_version}/{NUMBER.phone_number_id}/messages"
    return dict(request["body"])


def test_text_goes_to_the_customer_and_comes_back_with_its_wamid(meta: FakeProvider) -> None:
    wamid = client.send_message(NUMBER, client.text_payload("+" + CUSTOMER, "Olá! *Pedido* confirmado"))

    assert wamid.startswith("wamid.")
    assert _sent(meta, wamid) == {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "text",
        "text": {"body": "Olá! *Pedido* confirmado"},
    }


def test_template_carries_name_language_and_components(meta: FakeProvider) -> None:
    components = [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]
    wamid = client.send_message(NUMBER, client.template_payload(CUSTOMER, "follow_up", "pt_BR", components))

    assert _sent(meta, wamid)["template"] == {
        "name": "follow_up",
        "language": {"code": "pt_BR"},
        "components": components,
    }


def test_media_by_link_keeps_caption_and_document_name(meta: FakeProvider) -> None:
    link = "https://files.example.com/invoice.pdf"
    wamid = client.send_message(NUMBER, client.media_payload(CUSTOMER, "document", link, "Sua fatura", "fatura.pdf"))

    assert _sent(meta, wamid)["document"] == {"link": link, "caption": "Sua fatura", "filename": "fatura.pdf"}


def test_media_payload_refuses_a_caption_whatsapp_would_not_show() -> None:
    with pytest.raises(ValueError, match="caption"):
        client.media_payload(CUSTOMER, "audio", "https://files.example.com/a.ogg", caption="listen")
    with pytest.raises(ValueError, match="kind"):
        client.media_payload(CUSTOMER, "hologram", "https://files.example.com/a.bin")


def test_mark_read_sends_the_read_receipt(meta: FakeProvider) -> None:
    client.mark_read(NUMBER, "wamid.HBgLNTUxMTk4NzY1NDMyMRUCABIYFjNFQjA")

    [receipt] = meta.accepted()
    assert receipt["body"] == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.HBgLNTUxMTk4NzY1NDMyMRUCABIYFjNFQjA",
    }


def test_fetch_media_downloads_the_bytes_with_type_and_name(meta: FakeProvider) -> None:
    photo = bytes(range(256)) * 40
    meta.add_media("778899001", photo, "image/jpeg")

    media = client.fetch_media(NUMBER, "778899001")

    assert (media.content, media.mime_type, media.filename) == (photo, "image/jpeg", "778899001.jpg")
    lookup, download = meta.accepted()
    assert (lookup["method"], lookup["path"]) == ("GET", f"/{get_settings().meta_graph_version}/778899001")
    assert (download["method"], download["path"]) == ("GET", "/_media/778899001")


def test_fetch_media_keeps_the_senders_file_name_without_its_path(meta: FakeProvider) -> None:
    content = base64.b64encode(b"%PDF-1.7 quote").decode()
    registered = httpx.post(f"{meta.url}/_media", json={"id": "5566", "mimeType": "application/pdf", "base64": content})
    assert registered.json() == {"id": "5566"}

    media = client.fetch_media(NUMBER, "5566", filename="../../Orçamento março.pdf")

    assert media.content == b"%PDF-1.7 quote"
    assert media.filename == "Orçamento março.pdf"


def test_voice_note_gets_an_ogg_name(meta: FakeProvider) -> None:
    meta.add_media("voice-1", b"OggS\x00voice", "audio/ogg; codecs=opus")

    media = client.fetch_media(NUMBER, "voice-1")

    assert (media.mime_type, media.filename) == ("audio/ogg; codecs=opus", "voice-1.ogg")


def test_unknown_media_is_an_error_a_retry_does_not_fix(meta: FakeProvider) -> None:
    with pytest.raises(MetaApiError) as raised:
        client.fetch_media(NUMBER, "does-not-exist")

    assert (raised.value.status, raised.value.code, raised.value.retryable) == (400, "100", False)


def test_outside_the_24_hour_window_is_not_retryable_and_a_template_still_goes(meta: FakeProvider) -> None:
    _configure(meta, closedWindows=[CUSTOMER])

    with pytest.raises(MetaApiError) as raised:
        client.send_message(NUMBER, client.text_payload(CUSTOMER, "are you there?"))
    wamid = client.send_message(NUMBER, client.template_payload(CUSTOMER, "follow_up", "pt_BR"))

    error = raised.value
    assert (error.status, error.code, error.outside_window, error.retryable) == (400, "131047", True, False)
    assert "24 hours" in error.message
    assert wamid.startswith("wamid.")


def test_injected_131047_is_outside_the_window(meta: FakeProvider) -> None:
    _configure(meta, failNext=1, failStatus=400, failCode=131047)

    with pytest.raises(MetaApiError) as raised:
        client.send_message(NUMBER, client.text_payload(CUSTOMER, "hello"))

    assert raised.value.outside_window
    assert not raised.value.retryable


@pytest.mark.parametrize(("status", "code"), [(429, 130429), (400, 131056), (400, 4)])
def test_throughput_and_pacing_limits_are_retryable(meta: FakeProvider, status: int, code: int) -> None:
    _configure(meta, failNext=1, failStatus=status, failCode=code)

    with pytest.raises(MetaApiError) as raised:
        client.send_message(NUMBER, client.text_payload(CUSTOMER, "hello"))

    assert (raised.value.status, raised.value.code) == (status, str(code))
    assert raised.value.retryable
    assert raised.value.rate_limited
    assert not raised.value.outside_window


def test_meta_unavailable_is_retryable_and_the_next_send_succeeds(meta: FakeProvider) -> None:
    _configure(meta, failNext=1, failStatus=503)

    with pytest.raises(MetaApiError) as raised:
        client.send_message(NUMBER, client.text_payload(CUSTOMER, "hello"))
    wamid = client.send_message(NUMBER, client.text_payload(CUSTOMER, "hello"))

    assert (raised.value.status, raised.value.retryable, raised.value.rate_limited) == (503, True, False)
    assert _sent(meta, wamid)["text"] == {"body": "hello"}


def test_a_failed_download_is_retryable(meta: FakeProvider) -> None:
    meta.add_media("flaky", b"bytes", "image/png")
    _configure(meta, failNext=1, failStatus=500)

    with pytest.raises(MetaApiError) as raised:
        client.fetch_media(NUMBER, "flaky")

    assert raised.value.retryable
    assert client.fetch_media(NUMBER, "flaky").content == b"bytes"


def test_a_bad_token_is_refused_and_not_retried(meta: FakeProvider) -> None:
    stranger = MetaNumber(phone_number_id=NUMBER.phone_number_id, access_token="EAAG-revoked")

    with pytest.raises(MetaApiError) as raised:
        client.send_message(stranger, client.text_payload(CUSTOMER, "hello"))

    error = raised.value
    assert (error.status, error.code, error.refused, error.retryable) == (401, "190", True, False)
    assert meta.accepted() == []
    assert "EAAG-revoked" not in repr(stranger)


def test_media_downloads_need_the_token(meta: FakeProvider) -> None:
    meta.add_media("private", b"secret photo", "image/jpeg")

    assert httpx.get(f"{meta.url}/_media/private").status_code == 401
    with pytest.raises(MetaApiError) as raised:
        client.fetch_media(MetaNumber(NUMBER.phone_number_id, "EAAG-wrong"), "private")
    assert raised.value.refused


def test_unreachable_meta_is_retryable(graph_url: Callable[[str], None]) -> None:
    graph_url("http://127.0.0.1:9")

    with pytest.raises(MetaApiError) as raised:
        client.send_message(NUMBER, client.text_payload(CUSTOMER, "hello"))

    assert raised.value.retryable
    assert raised.value.status is None


def test_plain_http_outside_loopback_is_refused(graph_url: Callable[[str], None]) -> None:
    graph_url("http://graph.example.com")

    with pytest.raises(MetaApiError, match="only https") as raised:
        client.send_message(NUMBER, client.text_payload(CUSTOMER, "hello"))

    assert not raised.value.retryable


def test_a_failed_status_notification_reads_as_the_same_error() -> None:
    status = {
        "id": "wamid.X",
        "status": "failed",
        "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "24 hours passed"}}],
    }

    error = client.error_from_status(status)

    assert error is not None
    assert error.outside_window
    assert not error.retryable
    assert client.error_from_status({"id": "wamid.X", "status": "delivered"}) is None
