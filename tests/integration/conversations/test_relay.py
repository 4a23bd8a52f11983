"""The WhatsApp <-> Bitrix24 gateway, both ways, through the real webhook functions, queues and consumers, against
fake Meta and Bitrix24 servers."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.integration.conversations.conftest import Fakes, Gateway, connect, post_bitrix, post_meta
from tests.support.gateway import meta_message, meta_notification, meta_status
from tests.support.identity import call

Work = Callable[..., None]


def _wa_id() -> str:
    return "55119" + "".join(secrets.choice("0123456789") for _ in range(8))  # a valid São Paulo mobile


def _wamid() -> str:
    return "wamid." + secrets.token_urlsafe(18)


def _relayed(fakes: Fakes, gateway: Gateway, wa_id: str | None = None) -> list[dict[str, Any]]:
    messages = fakes.bitrix.portal(gateway.domain).messages
    return [m for m in messages if wa_id is None or m["user"]["id"] == wa_id]


def _conversations(api: Any, gateway: Gateway, query: str = "") -> list[dict[str, Any]]:
    answer = call(api, "GET", f"/conversations{query}", None, gateway.admin.headers())
    assert answer.status_code == 200, answer.body
    return list(answer.json_body["items"])


def _messages(api: Any, gateway: Gateway, conversation_id: str) -> list[dict[str, Any]]:
    answer = call(api, "GET", f"/conversations/{conversation_id}/messages?limit=100", None, gateway.admin.headers())
    assert answer.status_code == 200, answer.body
    return list(answer.json_body["items"])


def _meta_sent(fakes: Fakes, to: str) -> list[dict[str, Any]]:
    return [r["body"] for r in fakes.meta.accepted() if isinstance(r["body"], dict) and r["body"].get("to") == to]


def test_a_text_reaches_the_open_line_once_with_a_crm_contact_and_is_marked_read(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    wa_id, wamid = _wa_id(), _wamid()
    payload = meta_notification(
        gateway.phone_number_id, messages=[meta_message(wa_id, wamid, "Olá, vocês abrem hoje?")]
    )
    assert post_meta(hooks, payload).status_code == 200

    work(lambda: len(_relayed(fakes, gateway, wa_id)) == 1)
    relayed = _relayed(fakes, gateway, wa_id)[0]
    assert relayed["message"]["text"] == "Olá, vocês abrem hoje?"
    assert relayed["user"]["phone"] == f"+{wa_id}"
    assert relayed["user"]["name"] == "Maria Cliente"
    assert relayed["line"] == gateway.line
    portal = fakes.bitrix.portal(gateway.domain)
    assert [c["PHONE"][0]["VALUE"] for c in portal.contacts.values()] == [f"+{wa_id}"]
    work(lambda: any(b.get("status") == "read" and b.get("message_id") == wamid for b in _all_meta(fakes)))

    [conversation] = _conversations(api, gateway)
    assert conversation["phone"] == f"+{wa_id}"
    assert conversation["windowOpen"] is True
    assert conversation["bitrixChatId"] == str(relayed["chatId"])
    assert conversation["messagesIn"] == 1
    [message] = _messages(api, gateway, conversation["id"])
    assert message["status"] == "relayed"
    assert message["direction"] == "in"
    # The provider ids match the message across WhatsApp, Bitrix24 and BTRIX.
    assert message["wamids"] == [wamid]
    assert (message["bitrixChatId"], message["bitrixMessageId"]) == (str(relayed["chatId"]), str(relayed["messageId"]))


def _all_meta(fakes: Fakes) -> list[dict[str, Any]]:
    return [r["body"] for r in fakes.meta.accepted() if isinstance(r["body"], dict)]


def test_the_same_webhook_three_times_at_once_is_one_bitrix24_message(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work, settle: Callable[[], None]
) -> None:
    gateway = connect(api, hooks, fakes, work)
    wa_id = _wa_id()
    payload = meta_notification(gateway.phone_number_id, messages=[meta_message(wa_id, _wamid(), "pedido 42?")])
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: post_meta(hooks, payload), range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200]

    work(lambda: len(_relayed(fakes, gateway, wa_id)) >= 1)
    settle()
    assert len(_relayed(fakes, gateway, wa_id)) == 1
    [conversation] = _conversations(api, gateway)
    assert conversation["messagesIn"] == 1


def test_fifty_messages_of_one_contact_arrive_in_their_order(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    wa_id = _wa_id()
    second = int(time.time()) - 100  # a burst: WhatsApp's timestamps have whole seconds, so all 50 share one
    for i in range(50):
        message = meta_message(wa_id, _wamid(), f"mensagem {i}", at=second)
        assert post_meta(hooks, meta_notification(gateway.phone_number_id, messages=[message])).status_code == 200

    work(lambda: len(_relayed(fakes, gateway, wa_id)) == 50, timeout_s=180)
    expected = [f"mensagem {i}" for i in range(50)]
    assert [m["message"]["text"] for m in _relayed(fakes, gateway, wa_id)] == expected
    [conversation] = _conversations(api, gateway)
    logged = _messages(api, gateway, conversation["id"])  # newest first
    assert [m["text"] for m in reversed(logged)] == expected


def test_an_image_is_kept_and_handed_to_bitrix24_as_a_link_that_downloads_it(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    wa_id, media_id = _wa_id(), str(secrets.randbelow(10**15))
    picture = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(2048)
    registered = httpx.post(
        f"{fakes.meta.url}/_media",
        json={"id": media_id, "mimeType": "image/png", "base64": base64.b64encode(picture).decode()},
    )
    assert registered.status_code == 200
    image = {"id": media_id, "mime_type": "image/png", "caption": "a bike"}
    message = meta_message(wa_id, _wamid(), type="image", image=image)
    payload = meta_notification(gateway.phone_number_id, messages=[message])
    assert post_meta(hooks, payload).status_code == 200

    work(lambda: len(_relayed(fakes, gateway, wa_id)) == 1)
    relayed = _relayed(fakes, gateway, wa_id)[0]["message"]
    assert "a bike" in relayed["text"]
    [file] = relayed["files"]
    assert httpx.get(file["url"]).content == picture

    # the conversation's log in BTRIX shows the picture too, from the copy we keep (Meta's links expire)
    [conversation] = _conversations(api, gateway)
    [logged] = _messages(api, gateway, conversation["id"])
    [kept] = logged["files"]
    assert (kept["kind"], kept["mimeType"], kept["caption"]) == ("image", "image/png", "a bike")
    assert httpx.get(kept["url"]).content == picture
    downloads = [r for r in fakes.meta.received if r["method"] == "GET" and r["path"] == f"/_media/{media_id}"]
    assert len(downloads) == 1  # fetched from Meta once


def _operator_message(
    gateway: Gateway, conversation_id: str, text: str, message_id: int, **extra: Any
) -> dict[str, Any]:
    return {
        "CONNECTOR": "btrix_whatsapp",
        "LINE": gateway.line,
        "MESSAGES": [
            {
                "im": {"chat_id": "900", "message_id": str(message_id)},
                "message": {"text": text, **extra},
                "chat": {"id": conversation_id},
            }
        ],
    }


def _open_conversation(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work, gateway: Gateway, *, at: int | None = None
) -> tuple[str, dict[str, Any]]:
    wa_id = _wa_id()
    payload = meta_notification(gateway.phone_number_id, messages=[meta_message(wa_id, _wamid(), "oi", at=at)])
    assert post_meta(hooks, payload).status_code == 200
    work(lambda: len(_relayed(fakes, gateway, wa_id)) == 1)
    [conversation] = _conversations(api, gateway)
    return wa_id, conversation


def test_an_operator_reply_goes_to_whatsapp_formatted_and_its_statuses_come_back(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    second = int(time.time())  # the reply is written in the second of the question
    wa_id, conversation = _open_conversation(api, hooks, fakes, work, gateway, at=second)
    data = _operator_message(gateway, conversation["id"], "[b]Abrimos[/b] às 9h", 5001)
    assert post_bitrix(hooks, gateway, "ONIMCONNECTORMESSAGEADD", data, ts=second).status_code == 200

    work(lambda: len(_meta_sent(fakes, wa_id)) == 1)
    sent = _meta_sent(fakes, wa_id)[0]
    assert sent["type"] == "text"
    assert sent["text"]["body"] == "*Abrimos* às 9h"
    portal = fakes.bitrix.portal(gateway.domain)
    work(lambda: any(s["kind"] == "delivery" for s in portal.statuses))
    delivery = next(s for s in portal.statuses if s["kind"] == "delivery")
    assert delivery["im"]["message_id"] == "5001"

    wamid = next(
        r["messageId"] for r in fakes.meta.accepted() if r["body"] is not None and r["body"].get("to") == wa_id
    )
    payload = meta_notification(gateway.phone_number_id, statuses=[meta_status(wamid, wa_id, "read")])
    assert post_meta(hooks, payload).status_code == 200
    work(lambda: any(s["kind"] == "reading" for s in portal.statuses))
    reply, question = _messages(api, gateway, conversation["id"])  # newest first
    assert (question["direction"], question["text"]) == ("in", "oi")
    assert (reply["direction"], reply["status"]) == ("out", "read")
    assert (reply["bitrixMessageId"], reply["wamids"]) == ("5001", [wamid])


def test_outside_the_24_hour_window_the_operator_is_told_why_nothing_was_sent(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    yesterday = int(time.time()) - 25 * 3600
    wa_id, conversation = _open_conversation(api, hooks, fakes, work, gateway, at=yesterday)
    assert conversation["windowOpen"] is False
    data = _operator_message(gateway, conversation["id"], "ainda quer a bike?", 5002)
    assert post_bitrix(hooks, gateway, "ONIMCONNECTORMESSAGEADD", data).status_code == 200

    portal = fakes.bitrix.portal(gateway.domain)
    work(lambda: len(portal.system_messages) == 1)
    assert "24 hours" in portal.system_messages[0]["MESSAGE"]
    assert _meta_sent(fakes, wa_id) == []
    [message, _] = _messages(api, gateway, conversation["id"])
    assert message["status"] == "not_sent"
    assert "template" in message["error"]


def test_outside_the_window_the_numbers_template_is_sent_instead(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work, template=True)
    wa_id, conversation = _open_conversation(api, hooks, fakes, work, gateway, at=int(time.time()) - 30 * 3600)
    data = _operator_message(gateway, conversation["id"], "ainda quer a bike?", 5003)
    assert post_bitrix(hooks, gateway, "ONIMCONNECTORMESSAGEADD", data).status_code == 200

    work(lambda: len(_meta_sent(fakes, wa_id)) == 1)
    sent = _meta_sent(fakes, wa_id)[0]
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "retomar_conversa"
    message = _messages(api, gateway, conversation["id"])[0]
    assert message["status"] == "sent"
    assert message["template"] == "retomar_conversa"


def test_an_expired_token_mid_flow_is_refreshed_once_and_the_message_delivered(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    refreshes = fakes.bitrix.refreshes
    fakes.bitrix.configure(expireTokens=True)
    wa_id = _wa_id()
    payload = meta_notification(gateway.phone_number_id, messages=[meta_message(wa_id, _wamid(), "token?")])
    assert post_meta(hooks, payload).status_code == 200

    work(lambda: len(_relayed(fakes, gateway, wa_id)) == 1)
    assert fakes.bitrix.refreshes == refreshes + 1


def test_bitrix24_answering_503_for_a_while_still_delivers_after_retries(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    wa_id = _wa_id()
    fakes.bitrix.configure(failNext=3, failStatus=503, failError="QUERY_LIMIT_EXCEEDED")
    try:
        payload = meta_notification(gateway.phone_number_id, messages=[meta_message(wa_id, _wamid(), "aguardo")])
        assert post_meta(hooks, payload).status_code == 200
        work(lambda: len(_relayed(fakes, gateway, wa_id)) == 1)
    finally:
        fakes.bitrix.configure(failNext=0)
    [conversation] = _conversations(api, gateway)
    [message] = _messages(api, gateway, conversation["id"])
    assert message["status"] == "relayed"


def test_an_agent_writes_from_btrix_and_the_operators_see_it_in_bitrix24(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    wa_id, conversation = _open_conversation(api, hooks, fakes, work, gateway)
    headers = gateway.admin.headers(**{"Idempotency-Key": secrets.token_hex(8)})
    path = f"/conversations/{conversation['id']}/messages"
    first = call(api, "POST", path, {"text": "Seu pedido saiu"}, headers)
    again = call(api, "POST", path, {"text": "Seu pedido saiu"}, headers)
    assert first.status_code == 202
    assert again.json_body["id"] == first.json_body["id"]
    assert first.json_body["status"] == "queued"

    portal = fakes.bitrix.portal(gateway.domain)
    work(lambda: len(portal.system_messages) == 1)
    assert [m["text"]["body"] for m in _meta_sent(fakes, wa_id)] == ["Seu pedido saiu"]
    assert "Seu pedido saiu" in portal.system_messages[0]["MESSAGE"]
    sent = _messages(api, gateway, conversation["id"])[0]
    assert sent["status"] == "sent"
    assert sent["wamids"] == [r["messageId"] for r in fakes.meta.accepted() if r["body"].get("to") == wa_id]


def test_conversations_are_listed_by_channel_and_contact_and_stay_in_their_tenant(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    other = connect(api, hooks, fakes, work)
    wa_id, conversation = _open_conversation(api, hooks, fakes, work, gateway)
    assert [c["id"] for c in _conversations(api, gateway, f"?contact=%2B{wa_id}")] == [conversation["id"]]
    assert [c["id"] for c in _conversations(api, gateway, f"?channelId={gateway.channel_id}")] == [conversation["id"]]
    assert _conversations(api, gateway, "?contact=%2B5511000000000") == []
    assert _conversations(api, other) == []
    foreign = call(api, "GET", f"/conversations/{conversation['id']}", None, other.admin.headers())
    assert foreign.status_code == 404
    bad = call(api, "GET", "/conversations?contact=abc", None, gateway.admin.headers())
    assert bad.status_code in (400, 422)
    assert "contact" in bad.body.decode()


def _dead_letters(wamid: str) -> list[dict[str, Any]]:
    """The conversation DLQ's jobs about ``wamid`` (left in place: visible again at once)."""
    import json

    from chalicelib.core import aws
    from chalicelib.core.resources import QueueKind, dlq_name, queue_url

    sqs = aws.sqs()
    url = queue_url(dlq_name(QueueKind.WHATSAPP_INBOUND))
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    bodies = [json.loads(m["Body"]) for m in found]
    return [b for b in bodies if b.get("message", {}).get("id") == wamid]


def test_a_message_bitrix24_keeps_refusing_fails_visibly_goes_to_the_dlq_and_is_retried_once(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work, settle: Callable[[], None]
) -> None:
    from chalicelib.conversations.redrive import redrive
    from chalicelib.core.resources import QueueKind

    gateway = connect(api, hooks, fakes, work)
    wa_id, wamid = _wa_id(), _wamid()
    fakes.bitrix.configure(failRate=1.0, failStatus=503, failError="QUERY_LIMIT_EXCEEDED")
    try:
        payload = meta_notification(gateway.phone_number_id, messages=[meta_message(wa_id, wamid, "alô?")])
        assert post_meta(hooks, payload).status_code == 200

        def failed() -> bool:
            found = _conversations(api, gateway)
            return bool(found) and _messages(api, gateway, found[0]["id"])[0]["status"] == "failed"

        work(failed)
        work(lambda: bool(_dead_letters(wamid)))
    finally:
        fakes.bitrix.configure(failRate=0.0)
    [conversation] = _conversations(api, gateway)
    [message] = _messages(api, gateway, conversation["id"])
    assert "QUERY_LIMIT_EXCEEDED" in message["error"]
    assert _relayed(fakes, gateway, wa_id) == []
    channel = call(api, "GET", f"/channels/{gateway.channel_id}", None, gateway.admin.headers()).json_body
    assert channel["lastError"]

    path = f"/conversations/{conversation['id']}/messages/{message['id']}/retry"
    retried = call(api, "POST", path, None, gateway.admin.headers())
    assert retried.status_code == 202, retried.body
    work(lambda: len(_relayed(fakes, gateway, wa_id)) == 1)
    assert call(api, "POST", path, None, gateway.admin.headers()).status_code == 409

    # The dead job, redriven afterwards, finds its message relayed and relays nothing twice.
    assert redrive(QueueKind.WHATSAPP_INBOUND) >= 1
    work(lambda: not _dead_letters(wamid))
    settle()
    assert len(_relayed(fakes, gateway, wa_id)) == 1
    assert _messages(api, gateway, conversation["id"])[0]["status"] == "relayed"


def test_an_agent_message_that_could_not_be_queued_is_failed_visibly_and_retried(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.conversations import jobs
    from chalicelib.core.errors import DependencyUnavailable

    gateway = connect(api, hooks, fakes, work)
    wa_id, conversation = _open_conversation(api, hooks, fakes, work, gateway)

    def queue_down(*_: Any, **__: Any) -> None:
        raise DependencyUnavailable(detail="the whatsapp-inbound queue is not reachable")

    monkeypatch.setattr(jobs, "queue_send", queue_down)
    path = f"/conversations/{conversation['id']}/messages"
    answer = call(api, "POST", path, {"text": "Chegou?"}, gateway.admin.headers())
    monkeypatch.undo()

    assert answer.status_code == 202, answer.body
    assert answer.json_body["status"] == "failed"
    assert "could not be queued" in answer.json_body["error"]
    logged = _messages(api, gateway, conversation["id"])[0]
    assert (logged["id"], logged["status"]) == (answer.json_body["id"], "failed")
    retry = f"{path}/{answer.json_body['id']}/retry"
    assert call(api, "POST", retry, None, gateway.admin.headers()).status_code == 202
    work(lambda: [m["text"]["body"] for m in _meta_sent(fakes, wa_id)] == ["Chegou?"])


def test_a_queued_message_whose_job_was_lost_is_retried_once_it_is_stale(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.conversations import jobs
    from chalicelib.conversations.service import STALE_QUEUED
    from chalicelib.core import clock

    gateway = connect(api, hooks, fakes, work)
    wa_id, conversation = _open_conversation(api, hooks, fakes, work, gateway)
    monkeypatch.setattr(jobs, "queue_send", lambda *_, **__: None)  # the function died between the write and the send
    path = f"/conversations/{conversation['id']}/messages"
    answer = call(api, "POST", path, {"text": "Pedido pronto"}, gateway.admin.headers())
    monkeypatch.undo()
    assert answer.json_body["status"] == "queued"
    retry = f"{path}/{answer.json_body['id']}/retry"

    early = call(api, "POST", retry, None, gateway.admin.headers())
    assert early.status_code == 409
    assert "stale queued" in early.json_body["detail"]
    with clock.frozen_clock(clock.now() + STALE_QUEUED + timedelta(seconds=1)):
        assert call(api, "POST", retry, None, gateway.admin.headers()).status_code == 202
        work(lambda: [m["text"]["body"] for m in _meta_sent(fakes, wa_id)] == ["Pedido pronto"])
    assert _messages(api, gateway, conversation["id"])[0]["status"] == "sent"


def test_a_notification_from_the_number_shows_in_the_conversation_and_to_the_operators(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    from functions.outbox_publisher import handler as publish
    from localdev.worker import StreamWorker

    gateway = connect(api, hooks, fakes, work)
    wa_id, conversation = _open_conversation(api, hooks, fakes, work, gateway)
    stream = StreamWorker(publish, from_now=True)  # notifications travel as events: table stream → bus → queue
    text = "Seu pedido saiu para entrega"
    body = {"channel": "whatsapp", "address": f"+{wa_id}", "text": text, "urgent": True}
    created = call(api, "POST", "/notifications", body, gateway.admin.headers())
    assert created.status_code == 201, created.body

    portal = fakes.bitrix.portal(gateway.domain)
    work(lambda: stream.poll_once() >= 0 and any(text in m["MESSAGE"] for m in portal.system_messages))
    assert [m["text"]["body"] for m in _meta_sent(fakes, wa_id)] == [text]  # from the tenant's number, once
    newest = _messages(api, gateway, conversation["id"])[0]
    assert (newest["direction"], newest["source"], newest["status"], newest["text"]) == (
        "out",
        "notification",
        "sent",
        text,
    )
    assert _conversations(api, gateway)[0]["messagesOut"] == 1


def test_a_notification_to_a_new_contact_opens_the_conversation_and_the_reply_brings_the_name(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    from chalicelib.notifications.service import record_inbound
    from functions.outbox_publisher import handler as publish
    from localdev.worker import StreamWorker

    gateway = connect(api, hooks, fakes, work)
    wa_id = _wa_id()
    stream = StreamWorker(publish, from_now=True)
    body = {"channel": "whatsapp", "address": f"+{wa_id}", "text": "Lembrete: consulta amanhã às 9h", "urgent": True}
    # A free text needs the customer's 24-hour window open: they wrote to the business earlier today.
    record_inbound(gateway.admin.tenant_id, f"+{wa_id}", datetime.now(UTC))
    assert call(api, "POST", "/notifications", body, gateway.admin.headers()).status_code == 201
    work(lambda: stream.poll_once() >= 0 and len(_conversations(api, gateway)) == 1)
    [opened] = _conversations(api, gateway)
    assert _messages(api, gateway, opened["id"])[0]["source"] == "notification"

    answer = meta_message(wa_id, _wamid(), "Confirmo!")
    reply = meta_notification(gateway.phone_number_id, messages=[answer], name="Joana")
    assert post_meta(hooks, reply).status_code == 200
    work(lambda: len(_relayed(fakes, gateway, wa_id)) == 1)
    assert _relayed(fakes, gateway, wa_id)[0]["user"]["name"] == "Joana"


def test_a_notifications_delivery_only_queues_its_copy_the_conversation_queue_keeps_it(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    from chalicelib.notifications.delivery import deliver

    gateway = connect(api, hooks, fakes, work)
    wa_id, conversation = _open_conversation(api, hooks, fakes, work, gateway)
    text = "Sua mesa está pronta"
    body = {"channel": "whatsapp", "address": f"+{wa_id}", "text": text, "urgent": True}
    created = call(api, "POST", "/notifications", body, gateway.admin.headers())
    assert created.status_code == 201, created.body
    bitrix_calls = len(fakes.bitrix.accepted())

    assert deliver(gateway.admin.tenant_id, created.json_body["id"], 1) == "done"  # what the notifications worker runs

    assert [m["text"]["body"] for m in _meta_sent(fakes, wa_id)] == [text]
    assert len(fakes.bitrix.accepted()) == bitrix_calls  # no Bitrix24 call inside a notification's delivery
    assert [m["source"] for m in _messages(api, gateway, conversation["id"])] == ["whatsapp"]  # nor a write
    portal = fakes.bitrix.portal(gateway.domain)
    work(lambda: any(text in m["MESSAGE"] for m in portal.system_messages))  # the conversation's queue job
    newest = _messages(api, gateway, conversation["id"])[0]
    assert (newest["source"], newest["status"], newest["text"]) == ("notification", "sent", text)
    assert _conversations(api, gateway)[0]["messagesOut"] == 1
