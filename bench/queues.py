"""What the benches that go through queues share: the app's queue handlers run in threads, and emptying a queue."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalice.app import Chalice
    from mypy_boto3_sqs import SQSClient

__all__ = ["QueueConsumers", "drain_queue"]


class QueueConsumers:
    """``count`` consumers running the app's handlers of ``queues`` (their kinds: ``integrations``…), as Lambda's
    event sources would: ``localdev.worker.PartitionedQueueWorker``, one partition per consumer (a FIFO message
    group always to the same one, so a conversation keeps its order however many run)."""

    def __init__(self, app: Chalice, count: int, queues: Iterable[str]) -> None:
        from chalicelib.core.resources import QueueKind, queue_name
        from localdev.worker import PartitionedQueueWorker

        self._worker = PartitionedQueueWorker(app, count, {queue_name(QueueKind(kind)) for kind in queues})

    def __enter__(self) -> QueueConsumers:
        self._worker.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._worker.__exit__(*exc)


def drain_queue(sqs: SQSClient, url: str) -> None:
    """Receive and delete whatever the queue holds."""
    while True:
        found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = found.get("Messages", [])
        if not messages:
            return
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
