"""The queue helper every consumer runs through, against SQS: a job that asks for a retry comes back after its
backoff, one that fails its last attempt is given up (its subject told why) and handed on to the DLQ, any other
failure waits for the queue's redelivery, and only failed records are reported."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.core.batch import Backoff, Job, RetryLater, consume
from chalicelib.core.resources import QUEUES, QueueKind, queue_name, queue_url
from localdev.worker import QueueWorker

pytestmark = pytest.mark.usefixtures("stack")

# A queue no consumer of the app reads, so the test's messages stay its own.
QUEUE = QueueKind.INTEGRATIONS
MAX_ATTEMPTS = next(q.max_receive_count for q in QUEUES if q.kind is QUEUE)
NO_WAIT = Backoff(0, 0)


def _send(marker: str) -> None:
    body = json.dumps({"marker": marker})
    aws.sqs().send_message(QueueUrl=queue_url(queue_name(QUEUE)), MessageBody=body)


def _receive_all(*markers: str, queue: QueueKind = QUEUE, timeout_s: float = 10.0) -> dict[str, dict[str, Any]]:
    """The queue's messages carrying ``markers`` as Lambda event records (hidden for 60 s), by marker: those that
    came in time."""
    sqs, url = aws.sqs(), queue_url(queue_name(queue))
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    while len(found) < len(markers) and time.monotonic() < deadline:
        for message in sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", []):
            marker = json.loads(message["Body"]).get("marker")
            if marker in markers:
                found[marker] = QueueWorker._record(message, arn)
    return found


def _receive(marker: str, *, timeout_s: float = 10.0) -> dict[str, Any] | None:
    """The queue's message carrying ``marker`` as a Lambda event record, or None if it did not come in time."""
    return _receive_all(marker, timeout_s=timeout_s).get(marker)


def _at_attempt(record: dict[str, Any], attempt: int) -> dict[str, Any]:
    return {**record, "attributes": {**record["attributes"], "ApproximateReceiveCount": str(attempt)}}


def _failed(result: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def test_a_job_asking_for_a_retry_comes_back_after_its_backoff() -> None:
    marker = secrets.token_hex(8)
    _send(marker)
    record = _receive(marker)
    assert record is not None

    def busy(job: Job) -> None:
        raise RetryLater("the provider is busy")

    result = consume({"Records": [record]}, busy, queue=QUEUE, backoff=NO_WAIT)

    assert _failed(result) == [record["messageId"]]
    again = _receive(marker, timeout_s=5)  # hidden for 60 s at receive, visible again after its 0 s backoff
    assert again is not None
    assert int(again["attributes"]["ApproximateReceiveCount"]) == 2


def test_a_job_failing_its_last_attempt_is_given_up_and_left_for_the_dlq() -> None:
    marker = secrets.token_hex(8)
    _send(marker)
    record = _receive(marker)
    assert record is not None
    given_up: list[tuple[int, str]] = []

    def busy(job: Job) -> None:
        raise RetryLater("still down")

    result = consume(
        {"Records": [_at_attempt(record, MAX_ATTEMPTS)]},
        busy,
        queue=QUEUE,
        backoff=Backoff(3600, 3600),  # a backoff would hide it for an hour: the last attempt does not wait
        give_up=lambda job, exc: given_up.append((job.attempt, str(exc))),
    )

    assert _failed(result) == [record["messageId"]]
    assert given_up == [(MAX_ATTEMPTS, "still down")]
    assert _receive(marker, timeout_s=5) is not None  # visible at once: its next receive moves it to the DLQ


def test_an_unexpected_failure_waits_for_the_queues_redelivery_and_only_failed_records_are_reported() -> None:
    good, bad = secrets.token_hex(8), secrets.token_hex(8)
    _send(good)
    _send(bad)
    received = _receive_all(good, bad)
    records = [received[good], received[bad]]
    handled: list[str] = []

    def handle(job: Job) -> None:
        marker = json.loads(job.body)["marker"]
        if marker == bad:
            raise ValueError("a bug, not an outage")
        handled.append(marker)

    for parallel in (False, True):
        handled.clear()
        result = consume({"Records": records}, handle, queue=QUEUE, backoff=NO_WAIT, parallel=parallel)
        assert _failed(result) == [records[1]["messageId"]]
        assert handled == [good]
    assert _receive(bad, timeout_s=3) is None  # no backoff asked: still hidden for the visibility timeout


FIFO = QueueKind.BITRIX24_OUTBOUND  # no consumer runs in this module: its messages stay the test's


def _send_fifo(group: str, *markers: str) -> None:
    url = queue_url(queue_name(FIFO))
    for marker in markers:
        body = json.dumps({"marker": marker})
        aws.sqs().send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=marker)


def test_a_fifo_failure_holds_its_group_back_for_its_backoff_only_and_an_all_failed_batch_is_reported() -> None:
    group, other = secrets.token_hex(8), secrets.token_hex(8)
    first, second, third, alone = (secrets.token_hex(8) for _ in range(4))
    _send_fifo(group, first, second, third)
    _send_fifo(other, alone)
    received = _receive_all(first, second, third, alone, queue=FIFO)
    records = [received[m] for m in (first, second, third)]
    handled: list[str] = []

    def handle(job: Job) -> None:
        marker = json.loads(job.body)["marker"]
        if marker == first:
            raise RetryLater("the provider is busy")
        handled.append(marker)

    # Every record of the batch fails (the first, and the two held back behind it): reported, not raised.
    result = consume({"Records": records}, handle, queue=FIFO, backoff=NO_WAIT)
    assert _failed(result) == [r["messageId"] for r in records]
    assert handled == []

    # The group comes back after the first one's backoff (0 s), all of it, not after the 60 s visibility timeout.
    again = _receive_all(first, second, third, queue=FIFO, timeout_s=5)
    assert sorted(again) == sorted([first, second, third])
    result = consume({"Records": [again[m] for m in (first, second, third)]}, lambda job: None, queue=FIFO)
    assert _failed(result) == []
    done = consume({"Records": [received[alone]]}, lambda job: None, queue=FIFO)
    assert _failed(done) == []
    for record in [*again.values(), received[alone]]:  # leave the queue as it was
        aws.sqs().delete_message(QueueUrl=queue_url(queue_name(FIFO)), ReceiptHandle=record["receiptHandle"])
