"""A provider failing a share of its calls delays a conversation by the relay's backoff only and never scrambles it:
8 contacts, 5 messages each, posted in order through the real webhook functions, consumed by the local queue worker
(``localdev.worker.QueueWorker``, as ``make run`` does), with the fake Bitrix24 (and, the other way, the fake Meta
too) refusing 30 % of the calls: every message arrives once, in its contact's order, and every message the queue had
to give back was hidden for the relay's backoff (at most its cap), never left to the queue's 120 s visibility timeout
(the stall this replaced). No wall time is asserted: the waits' limits only stop a hung test."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.integration.conversations.conftest import Fakes, Gateway, connect, post_bitrix, post_meta
from tests.integration.conversations.test_relay import (
    Work,
    _conversations,
    _messages,
    _meta_sent,
    _operator_message,
    _relayed,
    _wa_id,
    _wamid,
)
from tests.support.environment import settings_from
from tests.support.gateway import meta_message, meta_notification
from tests.support.identity import call

CONTACTS, MESSAGES = 8, 5
BACKOFF_CAP_S = 2.0
# Only stops a hung test (a loaded machine may be slow): what is asserted is how long each given-back message hid.
HANG_GUARD_S = 600.0


@pytest.fixture
def backoff(fakes: Fakes) -> Iterator[None]:
    """A small relay backoff (1 s doubling to 2 s), restored after the test; 10 attempts per message, so that at
    30 % faults the odds of a step failing all of them (0.3^10 per step) do not make the test flaky."""
    values = {
        "BTRIX_RELAY_RETRY_BASE_S": "1",
        "BTRIX_RELAY_RETRY_MAX_S": str(BACKOFF_CAP_S),
        "BTRIX_RELAY_MAX_ATTEMPTS": "10",
    }
    with settings_from(values):
        yield


@pytest.fixture
def faults(fakes: Fakes, settle: Callable[[], None]) -> Iterator[Callable[[float], None]]:
    """Makes both fakes refuse a share of their calls (503); afterwards they answer again and the queues are
    drained, so the module's other tests find them as they were."""

    def fail(rate: float) -> None:
        fakes.bitrix.configure(failRate=rate, failStatus=503, failError="QUERY_LIMIT_EXCEEDED")
        fakes.meta._configure({"failRate": rate, "failStatus": 503})

    try:
        yield fail
    finally:
        fail(0.0)
        settle()


@pytest.fixture
def hidden(monkeypatch: pytest.MonkeyPatch) -> list[tuple[set[str], dict[str, int]]]:
    """Per FIFO batch the consumers handled: the messages they gave back (batch item failures) and, for each message
    they hid, for how long (``core.batch``'s ChangeMessageVisibility). A given-back message that was not hidden comes
    back only after the queue's visibility timeout."""
    from chalicelib.core import batch

    batches: list[tuple[set[str], dict[str, int]]] = []
    hide, hold_back = batch._hide, batch._hold_back
    current: dict[str, int] = {}

    def recording_hide(record: Any, seconds: int, hidden: Any = None) -> None:
        current[record.message_id] = seconds
        hide(record, seconds, hidden)

    def recording_hold_back(raw_event: dict[str, Any], result: dict[str, Any], hidden: Any) -> None:
        hold_back(raw_event, result, hidden)
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        batches.append((failed, dict(current)))
        current.clear()

    monkeypatch.setattr(batch, "_hide", recording_hide)
    monkeypatch.setattr(batch, "_hold_back", recording_hold_back)
    return batches


def _given_back_after_the_backoff_only(batches: list[tuple[set[str], dict[str, int]]]) -> None:
    given_back = [(failed, hides) for failed, hides in batches if failed]
    assert given_back, "the faults made no message come back: the test proves nothing"
    for failed, hides in given_back:
        assert failed <= set(hides), "a given-back message waits for the queue's visibility timeout"
        assert all(hides[m] <= BACKOFF_CAP_S for m in failed), hides


def _texts(fakes: Fakes, gateway: Gateway, wa_id: str) -> list[str]:
    return [m["message"]["text"] for m in _relayed(fakes, gateway, wa_id)]


def test_whatsapp_messages_reach_bitrix24_once_in_order_after_backoffs_only_at_30_percent_faults(
    api: Any,
    hooks: httpx.Client,
    fakes: Fakes,
    work: Work,
    backoff: None,
    faults: Callable[[float], None],
    hidden: list[tuple[set[str], dict[str, int]]],
) -> None:
    gateway = connect(api, hooks, fakes, work)
    contacts = [_wa_id() for _ in range(CONTACTS)]
    faults(0.3)
    second = int(time.time())  # WhatsApp's timestamps have whole seconds: each contact's five share one
    for i in range(MESSAGES):
        for wa_id in contacts:
            message = meta_message(wa_id, _wamid(), f"{wa_id[-4:]} mensagem {i}", at=second)
            assert post_meta(hooks, meta_notification(gateway.phone_number_id, messages=[message])).status_code == 200

    expected = {wa_id: [f"{wa_id[-4:]} mensagem {i}" for i in range(MESSAGES)] for wa_id in contacts}
    work(lambda: sum(len(_relayed(fakes, gateway, w)) for w in contacts) >= CONTACTS * MESSAGES, timeout_s=HANG_GUARD_S)
    faults(0.0)
    work(lambda: all(_texts(fakes, gateway, w) == expected[w] for w in contacts), timeout_s=5)

    for conversation in _conversations(api, gateway, "?limit=100"):
        logged = list(reversed(_messages(api, gateway, conversation["id"])))  # oldest first
        wa_id = conversation["phone"].removeprefix("+")
        assert [m["text"] for m in logged] == expected[wa_id]
        assert {m["status"] for m in logged} == {"relayed"}
    _given_back_after_the_backoff_only(hidden)


def test_operator_messages_reach_whatsapp_once_in_order_after_backoffs_only_at_30_percent_faults(
    api: Any,
    hooks: httpx.Client,
    fakes: Fakes,
    work: Work,
    backoff: None,
    faults: Callable[[float], None],
    hidden: list[tuple[set[str], dict[str, int]]],
) -> None:
    gateway = connect(api, hooks, fakes, work)
    contacts = [_wa_id() for _ in range(CONTACTS)]
    for wa_id in contacts:  # each customer wrote first: the chats exist and the 24-hour windows are open
        message = meta_message(wa_id, _wamid(), "oi")
        assert post_meta(hooks, meta_notification(gateway.phone_number_id, messages=[message])).status_code == 200
    work(lambda: all(len(_relayed(fakes, gateway, w)) == 1 for w in contacts))
    chats = {c["phone"].removeprefix("+"): c["id"] for c in _conversations(api, gateway, "?limit=100")}

    hidden.clear()  # the customers' first messages went through without faults
    faults(0.3)
    bitrix_id = 7000
    for i in range(MESSAGES):
        for wa_id in contacts:
            bitrix_id += 1
            data = _operator_message(gateway, chats[wa_id], f"{wa_id[-4:]} resposta {i}", bitrix_id)
            assert post_bitrix(hooks, gateway, "ONIMCONNECTORMESSAGEADD", data).status_code == 200

    expected = {wa_id: [f"{wa_id[-4:]} resposta {i}" for i in range(MESSAGES)] for wa_id in contacts}

    def sent(wa_id: str) -> list[str]:
        return [m["text"]["body"] for m in _meta_sent(fakes, wa_id)]

    work(lambda: sum(len(sent(w)) for w in contacts) >= CONTACTS * MESSAGES, timeout_s=HANG_GUARD_S)
    faults(0.0)
    work(lambda: all(sent(w) == expected[w] for w in contacts), timeout_s=5)

    for wa_id in contacts:
        logged = list(reversed(_messages(api, gateway, chats[wa_id])))[1:]  # oldest first, after the customer's
        assert [m["text"] for m in logged] == expected[wa_id]
        assert {m["status"] for m in logged} == {"sent"}
    _given_back_after_the_backoff_only(hidden)


def _taken(wamids: list[str], timeout_s: float = 10.0) -> dict[str, dict[str, Any]]:
    """The conversation queue's messages about ``wamids``, received as Lambda event records (hidden for 60 s)."""
    from chalicelib.core import aws
    from chalicelib.core.resources import QueueKind, queue_name, queue_url
    from localdev.worker import QueueWorker

    sqs, url = aws.sqs(), queue_url(queue_name(QueueKind.WHATSAPP_INBOUND))
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    while len(found) < len(wamids) and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageSystemAttributeNames=["All"]
        ).get("Messages", []):
            wamid = json.loads(message["Body"]).get("message", {}).get("id")
            if wamid in wamids:
                found[wamid] = QueueWorker._record(message, arn)
    return found


def test_a_queue_handing_a_conversation_back_out_of_order_does_not_reorder_it(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    from chalicelib.conversations.worker import handle_conversation_batch
    from chalicelib.core import aws
    from chalicelib.core.resources import QueueKind, queue_name, queue_url

    gateway = connect(api, hooks, fakes, work)
    wa_id, wamids = _wa_id(), [_wamid() for _ in range(3)]
    for i, wamid in enumerate(wamids):
        message = meta_message(wa_id, wamid, f"parte {i}")
        assert post_meta(hooks, meta_notification(gateway.phone_number_id, messages=[message])).status_code == 200
    taken = _taken(wamids)
    assert sorted(taken) == sorted(wamids)

    # The queue hands the group back last first (as moto does after a hold-back): the first trigger relays all.
    result = handle_conversation_batch({"Records": [taken[w] for w in reversed(wamids)]})
    assert result["batchItemFailures"] == []
    for record in taken.values():
        aws.sqs().delete_message(
            QueueUrl=queue_url(queue_name(QueueKind.WHATSAPP_INBOUND)), ReceiptHandle=record["receiptHandle"]
        )
    assert _texts(fakes, gateway, wa_id) == ["parte 0", "parte 1", "parte 2"]


def _forget_dead_letters(wamid: str) -> None:
    """Delete the conversation DLQ's jobs about ``wamid`` (the test's own)."""
    from chalicelib.core import aws
    from chalicelib.core.resources import QueueKind, dlq_name, queue_url

    sqs, url = aws.sqs(), queue_url(dlq_name(QueueKind.WHATSAPP_INBOUND))
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []):
        if json.loads(message["Body"]).get("message", {}).get("id") == wamid:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_a_message_failing_all_its_attempts_is_failed_dead_lettered_and_its_conversation_goes_on(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work, settle: Callable[[], None]
) -> None:
    from tests.integration.conversations.test_relay import _dead_letters

    gateway = connect(api, hooks, fakes, work)
    wa_id, first, second = _wa_id(), _wamid(), _wamid()
    with settings_from({"BTRIX_RELAY_MAX_ATTEMPTS": "3"}):
        fakes.bitrix.configure(failNext=3, failStatus=503, failError="QUERY_LIMIT_EXCEEDED")  # each attempt's 1st call
        try:
            for wamid, text in ((first, "primeira"), (second, "segunda")):
                message = meta_message(wa_id, wamid, text)
                assert (
                    post_meta(hooks, meta_notification(gateway.phone_number_id, messages=[message])).status_code == 200
                )
            work(lambda: len(_relayed(fakes, gateway, wa_id)) == 1)
        finally:
            fakes.bitrix.configure(failNext=0)
        settle()
    assert _texts(fakes, gateway, wa_id) == ["segunda"]
    [conversation] = _conversations(api, gateway)
    newest, oldest = _messages(api, gateway, conversation["id"])
    assert (oldest["text"], oldest["status"]) == ("primeira", "failed")
    assert "gave up after 3 attempts" in oldest["error"]
    assert "QUERY_LIMIT_EXCEEDED" in oldest["error"]
    assert (newest["text"], newest["status"]) == ("segunda", "relayed")
    assert _dead_letters(first)  # where the redrive command finds it
    _forget_dead_letters(first)

    # Retried, it reaches Bitrix24 once, after the one that went on without it.
    retried = call(
        api, "POST", f"/conversations/{conversation['id']}/messages/{oldest['id']}/retry", None, gateway.admin.headers()
    )
    assert retried.status_code == 202, retried.body
    work(lambda: _texts(fakes, gateway, wa_id) == ["segunda", "primeira"])


def test_a_message_whose_relay_keeps_raising_an_unexpected_error_does_not_hold_its_conversation_for_good(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.conversations import openlines
    from chalicelib.core.errors import Conflict

    gateway = connect(api, hooks, fakes, work)
    wa_id, broken = _wa_id(), _wamid()
    relay = openlines.relay

    def refuse_one(conversation: Any, portal_id: str, line: str, message: dict[str, Any]) -> Any:
        if message["text"] == "quebrada":
            raise Conflict(detail="a refusal nobody expected")
        return relay(conversation, portal_id, line, message)

    monkeypatch.setattr(openlines, "relay", refuse_one)
    with settings_from({"BTRIX_RELAY_MAX_ATTEMPTS": "2"}):
        for wamid, text in ((broken, "quebrada"), (_wamid(), "inteira")):
            message = meta_message(wa_id, wamid, text)
            assert post_meta(hooks, meta_notification(gateway.phone_number_id, messages=[message])).status_code == 200
        work(lambda: _texts(fakes, gateway, wa_id) == ["inteira"])
    [conversation] = _conversations(api, gateway)
    newest, oldest = _messages(api, gateway, conversation["id"])
    assert (oldest["status"], newest["status"]) == ("failed", "relayed")
    assert "a refusal nobody expected" in oldest["error"]
    _forget_dead_letters(broken)
