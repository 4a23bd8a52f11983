"""The platform operator's queues: every queue's depth with its DLQ, a redrive that moves dead letters back (FIFO
ones to their message group), and who may do it."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.audit import store as audit_store
from chalicelib.core import aws
from chalicelib.core.db.keys import Kind
from chalicelib.core.resources import QUEUES, QueueKind, dlq_name, queue_name, queue_url
from tests.support.identity import call, platform_operator, signup


def _bury(kind: QueueKind, bodies: list[dict[str, Any]], group: str | None = None) -> None:
    url = queue_url(dlq_name(kind))
    for number, body in enumerate(bodies):
        extra = {"MessageGroupId": group, "MessageDeduplicationId": f"{group}-{number}"} if group else {}
        aws.sqs().send_message(QueueUrl=url, MessageBody=json.dumps(body), **extra)  # type: ignore[arg-type]


def _take_all(kind: QueueKind) -> list[dict[str, Any]]:
    url, taken = queue_url(queue_name(kind)), []
    while (
        messages := aws.sqs()
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        .get("Messages", [])
    ):
        for message in messages:
            taken.append(json.loads(message["Body"]))
            aws.sqs().delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return taken


def test_the_operator_sees_every_queue_and_its_dead_letters(api: Any) -> None:
    operator = platform_operator(api)
    _bury(QueueKind.EXPORTS, [{"probe": "dead-export"}])

    listed = call(api, "GET", "/platform/queues", None, operator.headers())

    assert listed.status_code == 200
    assert [q["queue"] for q in listed.json_body["items"]] == [q.kind.value for q in QUEUES]
    exports = next(q for q in listed.json_body["items"] if q["queue"] == "exports")
    assert exports["dead"] >= 1
    assert {"waiting", "inFlight", "delayed", "fifo"} <= exports.keys()


def test_a_redrive_moves_the_dead_letters_back_and_a_fifo_queue_keeps_each_group_in_order(api: Any) -> None:
    operator = platform_operator(api)
    _take_all(QueueKind.BITRIX24_OUTBOUND)
    _bury(QueueKind.BITRIX24_OUTBOUND, [{"probe": "b24", "n": n} for n in range(12)], group="portal-chat-1")

    first = call(api, "POST", "/platform/queues/bitrix24-outbound/redrive", {"limit": 5}, operator.headers())
    rest = call(api, "POST", "/platform/queues/bitrix24-outbound/redrive", {}, operator.headers())

    assert (first.status_code, first.json_body["moved"], first.json_body["dead"]) == (200, 5, 7)
    assert (rest.json_body["moved"], rest.json_body["dead"]) == (7, 0)
    back = [m["n"] for m in _take_all(QueueKind.BITRIX24_OUTBOUND) if m.get("probe") == "b24"]
    assert back == list(range(12))
    trail = audit_store.list_entries(
        operator.tenant_id,
        entity=(Kind.QUEUE, "bitrix24-outbound"),
        actor_id=None,
        between=("0", "9"),
        limit=10,
        start_key=None,
    ).items
    assert [(e.action, e.actor_id) for e in trail] == [("queue.redriven", operator.user_id)] * 2


def test_a_dead_letter_its_restart_cannot_read_goes_back_as_it_is(api: Any) -> None:
    operator = platform_operator(api)
    _take_all(QueueKind.NOTIFICATIONS)
    url = queue_url(dlq_name(QueueKind.NOTIFICATIONS))
    aws.sqs().send_message(QueueUrl=url, MessageBody="not json")

    moved = call(api, "POST", "/platform/queues/notifications/redrive", {}, operator.headers())

    assert moved.status_code == 200
    assert moved.json_body["moved"] >= 1
    back = aws.sqs().receive_message(QueueUrl=queue_url(queue_name(QueueKind.NOTIFICATIONS)), MaxNumberOfMessages=10)
    assert "not json" in [m["Body"] for m in back.get("Messages", [])]
    _take_all(QueueKind.NOTIFICATIONS)


def test_an_unknown_queue_is_a_404_a_bad_limit_a_422_and_a_tenant_admin_a_403(api: Any) -> None:
    operator = platform_operator(api)
    admin, _ = signup(api)

    unknown = call(api, "POST", "/platform/queues/nope/redrive", {}, operator.headers())
    too_many = call(api, "POST", "/platform/queues/exports/redrive", {"limit": 5000}, operator.headers())
    tenant = call(api, "GET", "/platform/queues", None, admin.headers())

    assert unknown.status_code == 404
    assert "exports" in unknown.json_body["detail"]
    assert too_many.status_code == 422
    assert too_many.json_body["errors"][0]["field"] == "body.limit"
    assert tenant.status_code == 403
