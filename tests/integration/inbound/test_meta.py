"""The Meta (WhatsApp Cloud API) function: challenge, signature, multi-entry split, FIFO ids, once only."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from chalicelib.core.db.store import Table
from chalicelib.core.ids import new_id
from chalicelib.core.resources import QueueKind
from chalicelib.inbound.routing import whatsapp_route_op
from tests.support.inbound_hooks import (
    SECRETS,
    meta_signature,
    notification_status,
    receipt,
    sent_notification,
    take_messages,
)


def _phone_id() -> str:
    return str(random.randint(10**14, 10**15 - 1))  # noqa: S311 - an id, not a secret


def _connect(tenant_id: str) -> str:
    phone_number_id = _phone_id()
    Table().transact([whatsapp_route_op(tenant_id, phone_number_id, channel_id="CH1")])
    return phone_number_id


def _value(
    phone_number_id: str, messages: list[dict[str, Any]], statuses: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": f"Contact {m['from']}"}, "wa_id": m["from"]} for m in messages],
        "messages": messages,
    }
    if statuses:
        value["statuses"] = statuses
    return value


def _text(wa_id: str, wamid: str, body: str = "hi") -> dict[str, Any]:
    return {"from": wa_id, "id": wamid, "timestamp": "1718000000", "type": "text", "text": {"body": body}}


def _payload(*values: dict[str, Any], waba_id: str = "1029384756") -> bytes:
    entries = [{"id": waba_id, "changes": [{"field": "messages", "value": v}]} for v in values]
    return json.dumps({"object": "whatsapp_business_account", "entry": entries}).encode()


def _post(hooks: httpx.Client, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return hooks.post("/meta", content=body, headers=headers)


def _ours(phone_number_id: str) -> Any:
    return lambda body: body.get("phoneNumberId") == phone_number_id


def test_the_subscription_challenge_is_echoed_only_with_the_verify_token(hooks: httpx.Client) -> None:
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": SECRETS["meta-verify-token"]}
    answer = hooks.get("/meta", params=query)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    assert answer.headers["content-type"].startswith("text/plain")
    wrong = hooks.get("/meta", params={**query, "hub.verify_token": "guess"})
    assert wrong.status_code == 403
    assert wrong.headers["content-type"] == "application/problem+json"
    assert "1158201444" not in wrong.text


def test_a_bad_or_missing_signature_is_401_and_nothing_is_recorded_or_queued(
    hooks: httpx.Client, tenant_id: str
) -> None:
    phone_number_id = _connect(tenant_id)
    wamid = f"wamid.{tenant_id}.bad"
    body = _payload(_value(phone_number_id, [_text("5511988887777", wamid)]))
    forged = meta_signature(body, secret="not-the-app-secret")
    tampered = meta_signature(body.replace(b"hi", b"yo"))
    for signature in (None, forged, tampered, "sha1=abc", "sha256="):
        answer = _post(hooks, body, signature)
        assert answer.status_code == 401, signature
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 401
    assert receipt("meta", wamid) is None
    assert take_messages(QueueKind.WHATSAPP_INBOUND, _ours(phone_number_id)) == []


def test_a_multi_entry_payload_becomes_one_fifo_message_per_message(hooks: httpx.Client, tenant_id: str) -> None:
    first, second = _connect(tenant_id), _connect(tenant_id)
    unknown = _phone_id()  # a number nobody connected: skipped, not an error
    ana, bia = "5511900000001", "5511900000002"
    body = _payload(
        _value(first, [_text(ana, f"wamid.{tenant_id}.1"), _text(bia, f"wamid.{tenant_id}.2")]),
        _value(second, [_text(ana, f"wamid.{tenant_id}.3")]),
        _value(unknown, [_text(ana, f"wamid.{tenant_id}.4")]),
    )
    answer = _post(hooks, body, meta_signature(body))
    assert answer.status_code == 200
    assert answer.json()["recorded"] == 3
    found = take_messages(QueueKind.WHATSAPP_INBOUND, lambda b: b.get("phoneNumberId") in (first, second, unknown))
    got = {
        body["message"]["id"]: (body["tenantId"], attributes["MessageGroupId"], attributes["MessageDeduplicationId"])
        for body, attributes in found
    }
    assert got == {
        f"wamid.{tenant_id}.1": (tenant_id, f"{first}:{ana}", f"wamid.{tenant_id}.1"),
        f"wamid.{tenant_id}.2": (tenant_id, f"{first}:{bia}", f"wamid.{tenant_id}.2"),
        f"wamid.{tenant_id}.3": (tenant_id, f"{second}:{ana}", f"wamid.{tenant_id}.3"),
    }
    message = next(body for body, _ in found if body["message"]["id"] == f"wamid.{tenant_id}.2")
    assert (message["contactName"], message["channelId"], message["message"]["text"]["body"]) == (
        f"Contact {bia}",
        "CH1",
        "hi",
    )


def test_the_same_message_delivered_three_times_at_once_is_queued_once(hooks: httpx.Client, tenant_id: str) -> None:
    phone_number_id = _connect(tenant_id)
    wamid = f"wamid.{tenant_id}.race"
    body = _payload(_value(phone_number_id, [_text("5511977776666", wamid)]))
    signature = meta_signature(body)
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: _post(hooks, body, signature), range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert sum(a.json()["recorded"] for a in answers) == 1
    record = receipt("meta", wamid)
    assert record is not None
    assert record["status"] == "COMPLETED"
    assert len(take_messages(QueueKind.WHATSAPP_INBOUND, _ours(phone_number_id))) == 1
    # Meta retries later: still once.
    assert _post(hooks, body, signature).json() == {"received": True, "recorded": 0, "duplicates": 1}
    assert take_messages(QueueKind.WHATSAPP_INBOUND, _ours(phone_number_id)) == []


def test_statuses_update_the_notification_that_sent_the_message_once(hooks: httpx.Client, tenant_id: str) -> None:
    phone_number_id = _connect(tenant_id)
    wamid = f"wamid.{tenant_id}.out"
    notification_id = sent_notification(tenant_id, "whatsapp", "+5511955554444", "meta", wamid, sent_by=phone_number_id)
    delivered = {"id": wamid, "status": "delivered", "timestamp": "1718000001", "recipient_id": "5511955554444"}
    body = _payload(_value(phone_number_id, [], [delivered]))
    assert _post(hooks, body, meta_signature(body)).json()["recorded"] == 1
    assert notification_status(tenant_id, notification_id) == "delivered"
    assert _post(hooks, body, meta_signature(body)).json() == {"received": True, "recorded": 0, "duplicates": 1}
    read = {**delivered, "status": "read", "timestamp": "1718000002"}
    body = _payload(_value(phone_number_id, [], [read]))
    assert _post(hooks, body, meta_signature(body)).json()["recorded"] == 1
    assert notification_status(tenant_id, notification_id) == "read"
    # Applied, so not handed to the gateway as well.
    assert take_messages(QueueKind.WHATSAPP_INBOUND, _ours(phone_number_id)) == []


def _report(hooks: httpx.Client, number: str, wamid: str, status: str) -> httpx.Response:
    """A signed status of ``wamid`` for ``number``; what was not applied goes to that number's gateway, taken off."""
    sent = {"id": wamid, "status": status, "timestamp": "1718000003", "recipient_id": "5511955553333"}
    body = _payload(_value(number, [], [sent]))
    answer = _post(hooks, body, meta_signature(body))
    assert answer.status_code == 200, answer.text
    take_messages(QueueKind.WHATSAPP_INBOUND, _ours(number))
    return answer


def test_a_status_changes_only_a_message_its_number_sent(hooks: httpx.Client, tenant_id: str) -> None:
    victim_number, other_number = _connect(tenant_id), _connect(new_id())
    wamid = f"wamid.{tenant_id}.theirs"
    notification_id = sent_notification(tenant_id, "whatsapp", "+5511955553333", "meta", wamid, sent_by=victim_number)
    for number in (other_number, _connect(tenant_id)):  # another tenant's number, another number of the same tenant
        _report(hooks, number, wamid, "failed")
        assert notification_status(tenant_id, notification_id) == "sent"
    assert _report(hooks, victim_number, wamid, "failed").json()["recorded"] == 1  # not held off as a duplicate
    assert notification_status(tenant_id, notification_id) == "failed"


def test_a_message_looked_up_without_its_number_changes_only_on_a_number_of_its_tenant(
    hooks: httpx.Client, tenant_id: str
) -> None:
    number, stranger = _connect(tenant_id), _connect(new_id())
    wamid = f"wamid.{tenant_id}.older"
    # A lookup as written before the sending number was recorded on it.
    notification_id = sent_notification(tenant_id, "whatsapp", "+5511955553333", "meta", wamid, sent_by=None)
    _report(hooks, stranger, wamid, "read")
    assert notification_status(tenant_id, notification_id) == "sent"
    assert _report(hooks, number, wamid, "read").json()["recorded"] == 1
    assert notification_status(tenant_id, notification_id) == "read"


def test_statuses_of_messages_no_notification_sent_go_to_the_gateway_in_order(
    hooks: httpx.Client, tenant_id: str
) -> None:
    phone_number_id = _connect(tenant_id)
    wamid = f"wamid.{tenant_id}.gateway"
    failed = {
        "id": wamid,
        "status": "failed",
        "timestamp": "1718000002",
        "recipient_id": "5511955554444",
        "errors": [{"code": 131047, "title": "Re-engagement message"}],
    }
    body = _payload(_value(phone_number_id, [], [failed]))
    assert _post(hooks, body, meta_signature(body)).json()["recorded"] == 1
    found = take_messages(QueueKind.WHATSAPP_INBOUND, _ours(phone_number_id))
    assert [(b["type"], b["status"]["errors"][0]["code"]) for b, _ in found] == [("whatsapp.status", 131047)]
    attributes = found[0][1]
    assert (attributes["MessageGroupId"], attributes["MessageDeduplicationId"]) == (
        f"{phone_number_id}:5511955554444",
        f"{wamid}:failed",
    )


def test_other_methods_are_405_naming_the_allowed_ones(hooks: httpx.Client) -> None:
    refused = hooks.put("/meta", content=b"{}")
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, POST")
    assert refused.headers["content-type"] == "application/problem+json"
    assert hooks.get("/stripe").status_code == 405
