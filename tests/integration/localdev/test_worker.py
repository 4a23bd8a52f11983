"""The local worker calls the app's own SQS and schedule handlers as Lambda would, against moto's SQS."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from chalice.app import Chalice, Rate, SQSEvent

from chalicelib.core import aws
from chalicelib.core.ids import new_id
from localdev.worker import PartitionedQueueWorker, QueueWorker, Scheduler

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def queue_with_dlq() -> Any:
    """A queue whose messages go to its DLQ after two failed receives (1 s visibility)."""
    client = aws.sqs()
    name = f"worker-test-{new_id().lower()}"
    dlq_url = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = client.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    yield name, url, dlq_url
    client.delete_queue(QueueUrl=url)
    client.delete_queue(QueueUrl=dlq_url)


def _bodies(url: str) -> list[str]:
    messages = aws.sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [m["Body"] for m in messages.get("Messages", [])]


def test_queue_handler_gets_messages_and_failed_ones_end_in_the_dlq(queue_with_dlq: Any) -> None:
    name, url, dlq_url = queue_with_dlq
    app = Chalice(app_name="worker-test")
    handled: list[str] = []

    @app.on_sqs_message(queue=name, batch_size=10)
    def consume(event: SQSEvent) -> dict[str, Any]:
        failures = []
        for record in event:
            if record.body == "poison":
                failures.append({"itemIdentifier": record.to_dict()["messageId"]})
            else:
                handled.append(record.body)
        return {"batchItemFailures": failures}

    client = aws.sqs()
    for body in ("first", "poison", "second"):
        client.send_message(QueueUrl=url, MessageBody=body)
    worker = QueueWorker(app, wait_seconds=1)
    deadline = time.monotonic() + 20
    dead: list[str] = []
    while not dead and time.monotonic() < deadline:
        worker.poll_once()
        time.sleep(1.1)
        dead = _bodies(dlq_url)
    assert sorted(handled) == ["first", "second"]
    assert dead == ["poison"]
    assert _bodies(url) == []


def test_scheduler_fires_rate_schedules_when_due_and_skips_cron() -> None:
    app = Chalice(app_name="schedule-test")
    fired: list[dict[str, Any]] = []

    @app.schedule(Rate(15, unit=Rate.MINUTES))
    def poll_invoices(event: Any) -> None:
        fired.append(event.to_dict())

    @app.schedule("cron(0 3 * * ? *)")
    def nightly(event: Any) -> None:
        fired.append({"nightly": True})

    scheduler = Scheduler(app, started=0.0)
    assert scheduler.tick(now=899.0) == []
    assert scheduler.tick(now=900.0) == ["poll_invoices"]
    assert scheduler.tick(now=901.0) == []
    assert scheduler.tick(now=1800.0) == ["poll_invoices"]
    assert [e["detail-type"] for e in fired] == ["Scheduled Event", "Scheduled Event"]
    assert scheduler.skipped == ["nightly: cron(0 3 * * ? *)"]


def test_a_queue_handler_that_raises_is_logged_naming_its_function(queue_with_dlq: Any, tmp_path: Path) -> None:
    from localdev.logs import RunLogs

    name, url, _ = queue_with_dlq
    app = Chalice(app_name="worker-test")

    @app.on_sqs_message(queue=name, batch_size=10)
    def relay_messages(event: SQSEvent) -> None:
        raise RuntimeError("the provider is down")

    aws.sqs().send_message(QueueUrl=url, MessageBody="hello")
    run_logs = RunLogs(tmp_path)
    run_logs.install()
    try:
        deadline = time.monotonic() + 20
        while "queue handler failed" not in run_logs.path.read_text() and time.monotonic() < deadline:
            assert QueueWorker(app, wait_seconds=1).poll_once() == 0
    finally:
        run_logs.uninstall()
    lines = [json.loads(line) for line in run_logs.path.read_text().splitlines() if line.startswith('{"level"')]
    failed = [line for line in lines if line["message"] == "queue handler failed"]
    assert failed, lines
    assert {line["function_name"] for line in failed} == {"relay_messages"}


def test_partitioned_consumers_keep_each_groups_order_on_one_consumer_and_share_the_groups() -> None:
    client = aws.sqs()
    name = f"worker-test-{new_id().lower()}.fifo"
    url = client.create_queue(QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})[
        "QueueUrl"
    ]
    app = Chalice(app_name="worker-test")
    handled: list[tuple[str, int, str]] = []
    lock = threading.Lock()

    @app.on_sqs_message(queue=name, batch_size=10)
    def consume(event: SQSEvent) -> None:
        for record in event:
            group, number = record.body.split(":")
            time.sleep(0.002)  # long enough for the partitions to overlap
            with lock:
                handled.append((group, int(number), threading.current_thread().name))

    groups, per_group = [f"g{i}" for i in range(8)], 6
    for number in range(per_group):
        for group in groups:
            client.send_message(QueueUrl=url, MessageBody=f"{group}:{number}", MessageGroupId=group)
    try:
        worker = PartitionedQueueWorker(app, 3, {name})
        with worker:
            deadline = time.monotonic() + 60
            while len(handled) < len(groups) * per_group and time.monotonic() < deadline:
                time.sleep(0.05)
        assert worker.handled == len(groups) * per_group
        for group in groups:
            mine = [(number, thread) for g, number, thread in handled if g == group]
            assert [number for number, _ in mine] == list(range(per_group)), group  # in order, once each
            assert len({thread for _, thread in mine}) == 1, group  # one consumer per group
        assert len({thread for _, _, thread in handled}) > 1  # the groups are shared out
        assert client.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    finally:
        client.delete_queue(QueueUrl=url)
