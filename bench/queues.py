"""What the benches that go through queues share: the app's queue handlers run in threads, and emptying a queue."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalice.app import Chalice
    from mypy_boto3_sqs import SQSClient

__all__ = ["QueueConsumers", "drain_queue"]


class QueueConsumers:
    """``count`` threads running the app's handlers of ``queues`` (their kinds: ``integrations``…), as Lambda's
    event sources would."""

    def __init__(self, app: Chalice, count: int, queues: Iterable[str]) -> None:
        from chalicelib.core.resources import QueueKind, queue_name
        from localdev.worker import QueueWorker

        names = {queue_name(QueueKind(kind)) for kind in queues}
        self._stop = threading.Event()
        self._threads = []
        for _ in range(count):
            worker = QueueWorker(app, wait_seconds=0)
            worker.consumers = [(source, handler) for source, handler in worker.consumers if source.queue in names]
            self._threads.append(threading.Thread(target=self._loop, args=(worker,), daemon=True))

    def _loop(self, worker: Any) -> None:
        while not self._stop.is_set():
            if not worker.poll_once():
                self._stop.wait(0.02)

    def __enter__(self) -> QueueConsumers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def drain_queue(sqs: SQSClient, url: str) -> None:
    """Receive and delete whatever the queue holds."""
    while True:
        found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = found.get("Messages", [])
        if not messages:
            return
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
