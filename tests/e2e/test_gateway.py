"""The WhatsApp <-> Bitrix24 gateway against ``make run`` over HTTP: the demo number of the restaurant relays to the
fake Bitrix24 portal both ways, a photo arrives as a link to BTRIX's copy, an operator who answers outside the
24-hour window is told why nothing was sent, and the banner's shell lines play a signed message end to end."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from localdev.demo_gateway import (
    DEMO_APPLICATION_TOKEN,
    DEMO_CUSTOMER,
    DEMO_DOMAIN,
    DEMO_LINE,
    DEMO_MEMBER_ID,
    DEMO_PHONE_NUMBER_ID,
)
from localdev.seed import DEMO_PASSWORD
from tests.e2e.conftest import Runner
from tests.support.gateway import bitrix_event, meta_message, meta_notification, meta_status, signed_meta

_TIMEOUT_S = 60.0


@dataclass
class Demo:
    """What the banner told about the gateway demo, and the restaurant ADMIN's session."""

    runner: Runner
    meta: str
    bitrix: str
    play: str
    token: str
    banner: list[str]

    def api(self, path: str, **params: Any) -> Any:
        """GET ``path`` from the REST API as the restaurant's ADMIN."""
        answer = httpx.get(
            f"{self.runner.api}{path}",
            params=params or None,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text[:2000]
        return answer.json()

    def post_meta(self, payload: dict[str, Any]) -> None:
        """A signed notification to the Meta function, as Meta posts it."""
        body, headers = signed_meta(payload)
        answer = httpx.post(f"{self.runner.hooks}/hooks/meta", content=body, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text

    def post_operator(self, conversation_id: str, text: str) -> str:
        """An operator's message in the Open Lines chat, posted by the portal to the Bitrix24 function; returns
        its Bitrix24 message id."""
        message_id = str(secrets.randbelow(10**9))
        data = {
            "CONNECTOR": "btrix_whatsapp",
            "LINE": DEMO_LINE,
            "MESSAGES": [
                {
                    "im": {"chat_id": "77", "message_id": message_id},
                    "message": {"text": text},
                    "chat": {"id": conversation_id},
                }
            ],
        }
        auth = {
            "domain": DEMO_DOMAIN,
            "member_id": DEMO_MEMBER_ID,
            "application_token": DEMO_APPLICATION_TOKEN,
            "access_token": "unused",
            "client_endpoint": f"https://{DEMO_DOMAIN}/rest/",
        }
        answer = httpx.post(
            f"{self.runner.hooks}/hooks/bitrix24",
            content=bitrix_event("ONIMCONNECTORMESSAGEADD", auth, data),
            headers={"content-type": "application/x-www-form-urlencoded"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return message_id

    def bitrix_calls(self, method: str) -> list[dict[str, Any]]:
        """The REST calls of ``method`` the fake portal accepted, oldest first."""
        received = httpx.get(f"{self.bitrix}/_received", timeout=30).json()["received"]
        return [r for r in received if r.get("method_name") == method and 200 <= int(r["status"]) < 300]

    def relayed(self, wa_id: str) -> list[dict[str, Any]]:
        """The messages of ``wa_id`` that reached the Open Line (``imconnector.send.messages``)."""
        items = [m for call in self.bitrix_calls("imconnector.send.messages") for m in call["body"]["MESSAGES"]]
        return [m for m in items if m["user"]["id"] == wa_id]

    def meta_sent(self, wa_id: str) -> list[dict[str, Any]]:
        """The messages the fake Meta accepted to send to ``wa_id`` (request ``body`` and the ``messageId`` it
        answered; read receipts have no recipient)."""
        received = httpx.get(f"{self.meta}/_received", timeout=30).json()["received"]
        return [
            r
            for r in received
            if 200 <= int(r["status"]) < 300 and isinstance(r["body"], dict) and r["body"].get("to") == wa_id
        ]

    def conversation(self, wa_id: str) -> dict[str, Any]:
        """The conversation with ``wa_id``, from ``GET /conversations?contact=``."""
        [found] = self.api("/conversations", contact=f"+{wa_id}")["items"]
        return dict(found)

    def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        """``GET /conversations/{id}/messages``, newest first."""
        return list(self.api(f"/conversations/{conversation_id}/messages", limit=100)["items"])


def _until(condition: Callable[[], bool], what: str, timeout_s: float = _TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _banner_section(runner: Runner) -> list[str]:
    """The banner's lines from the gateway demo on (the banner is printed before the ready file is written)."""
    lines = "".join(runner.output).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("WhatsApp <-> Bitrix24 gateway"))
    return lines[start:]


def _commands(section: list[str], after: str) -> str:
    """The indented shell lines that follow the line starting with ``after``, as one script."""
    start = next(i for i, line in enumerate(section) if line.startswith(after)) + 1
    while not section[start].startswith("    "):
        start += 1
    end = start
    while end < len(section) and section[end].startswith("    "):
        end += 1
    return "\n".join(line[4:] for line in section[start:end])


@pytest.fixture(scope="module")
def demo(runner: Runner) -> Demo:
    """The gateway demo of the running server, and a session of the restaurant's ADMIN."""
    fakes = runner.ready["fakes"]
    assert {"meta", "bitrix24"} <= set(fakes), "".join(runner.output)
    section = _banner_section(runner)
    assert DEMO_PHONE_NUMBER_ID in section[0], section[0]
    assert DEMO_DOMAIN in section[0], section[0]
    login = httpx.post(
        f"{runner.api}/auth/login",
        json={"identifier": "admin@cantina.example.com", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": "10.66.0.1"},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    play = _commands(section, "Paste these lines")
    return Demo(runner, fakes["meta"], fakes["bitrix24"], play, login.json()["accessToken"], section)


def _wa_id() -> str:
    return "5521" + "".join(secrets.choice("0123456789") for _ in range(9))


def _wamid() -> str:
    return "wamid." + secrets.token_urlsafe(18)


def test_the_banner_lines_play_a_signed_whatsapp_message_into_the_open_line(demo: Demo) -> None:
    wa_id, name = DEMO_CUSTOMER
    before = len(demo.relayed(wa_id))

    played = subprocess.run(["bash", "-c", demo.play], capture_output=True, text=True, timeout=60, check=False)

    assert played.returncode == 0, played.stderr
    assert played.stdout.strip().endswith("HTTP 200"), played.stdout
    _until(lambda: len(demo.relayed(wa_id)) == before + 1, "the played message in Bitrix24")
    relayed = demo.relayed(wa_id)[-1]
    assert relayed["message"]["text"] == "Oi! Tem mesa para 4 hoje?"
    assert relayed["user"] == {"id": wa_id, "name": name, "phone": f"+{wa_id}"}
    assert demo.conversation(wa_id)["messagesIn"] >= 1


def test_the_banner_lines_log_in_and_list_the_conversations(demo: Demo) -> None:
    wa_id, _ = DEMO_CUSTOMER
    demo.post_meta(meta_notification(DEMO_PHONE_NUMBER_ID, messages=[meta_message(wa_id, _wamid(), "olá")]))
    _until(lambda: bool(demo.api("/conversations", contact=f"+{wa_id}")["items"]), "the demo customer's conversation")
    bitrix = next(line for line in demo.banner if "/_received" in line)
    assert f"curl -s {demo.bitrix}/_received" in bitrix
    listing = _commands(demo.banner, "and in BTRIX")

    listed = subprocess.run(["bash", "-c", listing], capture_output=True, text=True, timeout=60, check=False)

    assert listed.returncode == 0, listed.stderr
    phones = [c["phone"] for c in json.loads(listed.stdout)["items"]]
    assert f"+{wa_id}" in phones


def test_a_customer_message_and_the_operator_reply_cross_both_ways(demo: Demo) -> None:
    wa_id = _wa_id()
    payload = meta_notification(
        DEMO_PHONE_NUMBER_ID, messages=[meta_message(wa_id, _wamid(), "Vocês fazem entrega?")], name="Ana Cliente"
    )
    demo.post_meta(payload)

    _until(lambda: len(demo.relayed(wa_id)) == 1, "the customer's message in Bitrix24")
    relayed = demo.relayed(wa_id)[0]
    assert relayed["message"]["text"] == "Vocês fazem entrega?"
    conversation_id = relayed["chat"]["id"]
    assert demo.conversation(wa_id)["id"] == conversation_id

    bitrix_message_id = demo.post_operator(conversation_id, "[b]Sim[/b], até as 23h")

    _until(lambda: len(demo.meta_sent(wa_id)) == 1, "the operator's reply on WhatsApp")
    [sent] = demo.meta_sent(wa_id)
    assert sent["body"]["type"] == "text"
    assert sent["body"]["text"]["body"] == "*Sim*, até as 23h"

    def reported(method: str) -> bool:
        calls = demo.bitrix_calls(method)
        return any(m["im"]["message_id"] == bitrix_message_id for c in calls for m in c["body"]["MESSAGES"])

    _until(lambda: reported("imconnector.send.status.delivery"), "the delivery status in Bitrix24")
    [out, _] = demo.messages(conversation_id)
    assert (out["direction"], out["source"], out["status"]) == ("out", "bitrix24", "sent")

    demo.post_meta(meta_notification(DEMO_PHONE_NUMBER_ID, statuses=[meta_status(sent["messageId"], wa_id, "read")]))

    _until(lambda: reported("imconnector.send.status.reading"), "the read status in Bitrix24")
    _until(lambda: demo.messages(conversation_id)[0]["status"] == "read", "the message read in BTRIX")


def test_a_photo_reaches_bitrix24_as_a_link_that_downloads_it(demo: Demo) -> None:
    wa_id, media_id = _wa_id(), str(secrets.randbelow(10**15))
    picture = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(4096)
    registered = httpx.post(
        f"{demo.meta}/_media",
        json={"id": media_id, "mimeType": "image/png", "base64": base64.b64encode(picture).decode()},
        timeout=30,
    )
    assert registered.status_code == 200, registered.text
    image: dict[str, Any] = {
        "type": "image",
        "image": {"id": media_id, "mime_type": "image/png", "caption": "o cardápio"},
    }
    demo.post_meta(meta_notification(DEMO_PHONE_NUMBER_ID, messages=[meta_message(wa_id, _wamid(), **image)]))

    _until(lambda: len(demo.relayed(wa_id)) == 1, "the photo in Bitrix24")
    message = demo.relayed(wa_id)[0]["message"]
    assert "o cardápio" in message["text"]
    [file] = message["files"]
    assert httpx.get(file["url"], timeout=30).content == picture


def test_outside_the_24_hour_window_the_operator_is_told_and_nothing_goes_to_whatsapp(demo: Demo) -> None:
    wa_id = _wa_id()
    yesterday = int(time.time()) - 25 * 3600
    message = meta_message(wa_id, _wamid(), "Ainda tem a promoção?", at=yesterday)
    demo.post_meta(meta_notification(DEMO_PHONE_NUMBER_ID, messages=[message]))
    _until(lambda: len(demo.relayed(wa_id)) == 1, "yesterday's message in Bitrix24")
    conversation = demo.conversation(wa_id)
    assert conversation["windowOpen"] is False
    told_before = len(demo.bitrix_calls("im.message.add"))

    demo.post_operator(conversation["id"], "Tem sim! Quer reservar?")

    _until(lambda: demo.messages(conversation["id"])[0]["status"] == "not_sent", "the reply marked not sent")
    _until(lambda: len(demo.bitrix_calls("im.message.add")) > told_before, "the system message to the operator")
    told = [c["body"] for c in demo.bitrix_calls("im.message.add")]
    chat_id = demo.conversation(wa_id)["bitrixChatId"]
    mine = [t for t in told if t["DIALOG_ID"] == f"chat{chat_id}"]
    [system] = mine
    assert system["SYSTEM"] == "Y"
    assert "24 hours" in system["MESSAGE"]
    assert demo.meta_sent(wa_id) == []
    reply = demo.messages(conversation["id"])[0]
    assert reply["direction"] == "out"
    assert "template" in reply["error"]


def test_the_banner_lines_switch_the_number_to_the_shop_assistant_and_buy_with_a_payment_link(demo: Demo) -> None:
    # Last in the module: the demo number answers with the assistant until it is switched back (finally).
    assert "llm" in demo.runner.ready["fakes"]
    shop = _commands(demo.banner, "paste these lines into bash (the last ones print")
    [channel_id] = [c["id"] for c in demo.api("/channels")["items"] if c.get("phoneNumberId") == DEMO_PHONE_NUMBER_ID]
    try:
        bought = subprocess.run(["bash", "-c", shop], capture_output=True, text=True, timeout=120, check=False)
        assert bought.returncode == 0, bought.stderr
        received = [line for line in bought.stdout.splitlines() if line.startswith("<- ")]
        assert received, bought.stdout
        # The assistant's checkout answer carries the link; the order's own confirmation (a notification of the
        # orders flow) may reach the customer before or after it.
        ordered = [line for line in received if line.startswith("<- Pedido #")]
        assert ordered, received
        assert f"{demo.runner.api}/pay/pay_" in ordered[-1], ordered[-1]
        assert any("2 x Pizza Margherita" in line for line in received), received
    finally:
        back = httpx.put(
            f"{demo.runner.api}/channels/{channel_id}/assistant",
            json={"mode": "gateway"},
            headers={"Authorization": f"Bearer {demo.token}"},
            timeout=30,
        )
        assert back.status_code == 200, back.text
