"""What Lambda's event sources do in AWS, done locally: drain the job queues into the app's SQS handlers,
read the table stream into the outbox publisher, and fire the app's rate schedules.

The handlers called are the very ones Lambda would call, with events of the same shape.
"""

from __future__ import annotations

import queue
import re
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from chalice.app import Chalice, ScheduledEventConfig, SQSEventConfig
from chalice.local import LambdaContext

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.observability import logger
from localdev.logs import invocation

__all__ = [
    "PartitionedQueueWorker",
    "QueueWorker",
    "Scheduler",
    "StreamWorker",
    "Worker",
    "rate_seconds",
    "restore_empty_maps",
]

Handler = Callable[[dict[str, Any], Any], Any]
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_BACKLOG_PER_PARTITION = 2


def _context(function_name: str) -> LambdaContext:
    """A Lambda context like the one the function would get in AWS (15 minutes to run)."""
    return LambdaContext(function_name=function_name, memory_size=512, max_runtime_ms=900_000)


def _failed_ids(result: Any) -> list[str]:
    if isinstance(result, dict):
        return [str(f["itemIdentifier"]) for f in result.get("batchItemFailures", [])]
    return []


class QueueWorker:
    """Receives from each queue an SQS handler of the app listens to, and calls that handler."""

    def __init__(self, app: Chalice, wait_seconds: int = 1) -> None:
        self.wait_seconds = wait_seconds
        self.consumers: list[tuple[SQSEventConfig, Handler]] = [
            (source, app.handler_map[source.name]) for source in app.event_sources if isinstance(source, SQSEventConfig)
        ]
        self._queues: dict[str, tuple[str, str]] = {}

    def _queue(self, name: str) -> tuple[str, str]:
        """(URL, ARN) of queue ``name``, looked up once: a round of polls then costs one call per queue."""
        if name not in self._queues:
            client = aws.sqs()
            url = client.get_queue_url(QueueName=name)["QueueUrl"]
            arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self._queues[name] = (url, arn)
        return self._queues[name]

    def poll_once(self) -> int:
        """One receive per queue; returns how many messages were handled successfully."""
        handled = 0
        for source, handler in self.consumers:
            messages = self.receive(source)
            if messages:
                handled += self.handle(source, handler, messages)
        return handled

    def receive(self, source: SQSEventConfig) -> list[dict[str, Any]]:
        """One receive from the queue of ``source`` (up to its batch size, at most 10)."""
        url, _ = self._queue(str(source.queue))
        found = aws.sqs().receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(source.batch_size, 10),
            WaitTimeSeconds=self.wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [dict(message) for message in found.get("Messages", [])]

    def handle(self, source: SQSEventConfig, handler: Handler, messages: list[dict[str, Any]]) -> int:
        """Call ``handler`` with ``messages`` as one batch and delete those it did not report failed (all of them
        stay when it raises, as Lambda leaves them); returns how many were deleted."""
        url, arn = self._queue(str(source.queue))
        event = {"Records": [self._record(m, arn) for m in messages]}
        context = _context(source.name)
        with invocation(context):  # the failure's line names the function too, as in AWS
            try:
                failed = set(_failed_ids(handler(event, context)))
            except Exception:  # noqa: BLE001 - as Lambda does: log, leave the batch for redelivery / DLQ
                logger.exception("queue handler failed", extra={"queue": source.queue})
                return 0
        done = [m for m in messages if m["MessageId"] not in failed]
        client = aws.sqs()
        for message in done:
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(done)

    @staticmethod
    def _record(message: Mapping[str, Any], arn: str) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": get_settings().region,
        }


class PartitionedQueueWorker:
    """The app's queue handlers run by ``partitions`` consumer threads behind one receiver: each received message
    goes to the partition of its message group (CRC-32 of ``MessageGroupId``; of the message id on a standard
    queue) and each partition handles its messages one batch at a time, in the order they were received.

    So a conversation (one FIFO group) is handled by one consumer at a time and in its order, however many run,
    while different conversations go on in parallel, as Lambda runs one batch per message group in AWS. Receiving
    once and partitioning here is what keeps that promise locally: moto's SQS can hand one FIFO group to two
    receivers at once (SQS never does). The receiver stops taking messages while the partitions hold
    ``_BACKLOG_PER_PARTITION`` batches each, so nothing waits long enough for its visibility timeout to pass.
    """

    def __init__(self, app: Chalice, partitions: int, queues: set[str] | None = None) -> None:
        self.partitions = max(1, partitions)
        self._worker = QueueWorker(app, wait_seconds=0)
        if queues is not None:
            self._worker.consumers = [(s, h) for s, h in self._worker.consumers if str(s.queue) in queues]
        self._inboxes: list[queue.Queue[tuple[SQSEventConfig, Handler, list[dict[str, Any]]] | None]] = [
            queue.Queue() for _ in range(self.partitions)
        ]
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._consume, args=(inbox,), name=f"btrix-partition-{i}", daemon=True)
            for i, inbox in enumerate(self._inboxes)
        ]
        self._threads.append(threading.Thread(target=self._receive, name="btrix-receiver", daemon=True))
        self.handled = 0
        self._lock = threading.Lock()

    def partition_of(self, message: Mapping[str, Any]) -> int:
        """The partition that handles ``message``: the same for every message of a FIFO group."""
        group = (message.get("Attributes") or {}).get("MessageGroupId") or message["MessageId"]
        return zlib.crc32(str(group).encode()) % self.partitions

    def _receive(self) -> None:
        while not self._stop.is_set():
            if sum(inbox.qsize() for inbox in self._inboxes) >= _BACKLOG_PER_PARTITION * self.partitions:
                self._stop.wait(0.005)
                continue
            received = 0
            for source, handler in self._worker.consumers:
                try:
                    messages = self._worker.receive(source)
                except Exception:  # noqa: BLE001 - keep receiving, as Lambda's poller would
                    logger.exception("queue receive failed", extra={"queue": source.queue})
                    continue
                received += len(messages)
                batches: dict[int, list[dict[str, Any]]] = {}
                for message in messages:
                    batches.setdefault(self.partition_of(message), []).append(message)
                for partition, batch in batches.items():
                    self._inboxes[partition].put((source, handler, batch))
            if not received:
                self._stop.wait(0.02)

    def _consume(self, inbox: queue.Queue[tuple[SQSEventConfig, Handler, list[dict[str, Any]]] | None]) -> None:
        while (work := inbox.get()) is not None:
            source, handler, messages = work
            done = self._worker.handle(source, handler, messages)
            with self._lock:
                self.handled += done

    def __enter__(self) -> PartitionedQueueWorker:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for inbox in self._inboxes:
            inbox.put(None)
        for thread in self._threads:
            thread.join(timeout=60)


def restore_empty_maps(image: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB Local's stream writes an empty map as ``{}`` where DynamoDB Streams writes ``{"M": {}}``;
    put the type back so handlers receive what Lambda would give them."""

    def fix(value: Any) -> Any:
        if value == {}:
            return {"M": {}}
        if isinstance(value, dict) and "M" in value:
            return {"M": {k: fix(v) for k, v in value["M"].items()}}
        if isinstance(value, dict) and "L" in value:
            return {"L": [fix(v) for v in value["L"]]}
        return value

    return {name: fix(value) for name, value in image.items()}


class StreamWorker:
    """Reads the table's stream shard by shard and hands batches to ``handler`` (the outbox publisher)."""

    def __init__(self, handler: Handler, table_name: str | None = None, *, from_now: bool = False) -> None:
        """``from_now``: skip what the stream holds already (the shards open now are read from their end), as
        a new event source mapping starting at LATEST would; by default everything is read (TRIM_HORIZON)."""
        self.handler = handler
        self.table_name = table_name or get_settings().table_name
        self._iterators: dict[str, str] = {}
        self._finished: set[str] = set()
        self._stream_arn: str | None = None
        if from_now:
            self._discover("LATEST")

    def _discover(self, position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON") -> None:
        client = aws.dynamodb_streams()
        if self._stream_arn is None:
            self._stream_arn = aws.dynamodb().describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]
        description = client.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators and shard_id not in self._finished:
                self._iterators[shard_id] = client.get_shard_iterator(
                    StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType=position
                )["ShardIterator"]

    def _record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        change = {
            name: restore_empty_maps(value) if name in ("Keys", "NewImage", "OldImage") else value
            for name, value in record["dynamodb"].items()
        }
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = created.timestamp()
        return {**record, "dynamodb": change, "eventSourceARN": self._stream_arn}

    def poll_once(self) -> int:
        """Deliver what the stream holds now; returns the number of records delivered successfully."""
        self._discover()
        client = aws.dynamodb_streams()
        delivered = 0
        for shard_id, iterator in list(self._iterators.items()):
            response = client.get_records(ShardIterator=iterator, Limit=100)
            records = response.get("Records", [])
            if records:
                context = _context("outbox-publisher")
                with invocation(context):
                    try:
                        batch = {"Records": [self._record(r) for r in records]}
                        result = self.handler(batch, context)
                    except Exception:  # noqa: BLE001 - as Lambda does: the whole batch is retried on the next poll
                        logger.exception("stream handler failed", extra={"shard": shard_id})
                        continue
                failed = _failed_ids(result)
                if failed:
                    # As Lambda does with ReportBatchItemFailures: retry from the first failed record.
                    self._iterators[shard_id] = client.get_shard_iterator(
                        StreamArn=str(self._stream_arn),
                        ShardId=shard_id,
                        ShardIteratorType="AT_SEQUENCE_NUMBER",
                        SequenceNumber=failed[0],
                    )["ShardIterator"]
                    sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
                    delivered += sequence.index(failed[0]) if failed[0] in sequence else 0
                    continue
                delivered += len(records)
            following = response.get("NextShardIterator")
            if following:
                self._iterators[shard_id] = following
            else:
                del self._iterators[shard_id]
                self._finished.add(shard_id)
        return delivered


def rate_seconds(expression: str) -> int | None:
    """Seconds between runs of ``rate(N unit)``; None for cron expressions."""
    match = _RATE.match(expression.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


class Scheduler:
    """Fires the app's ``rate(...)`` schedules at their rates, with a scheduled-event payload."""

    def __init__(self, app: Chalice, started: float | None = None) -> None:
        start = time.monotonic() if started is None else started
        self.jobs: list[tuple[str, int, Handler]] = []
        self.skipped: list[str] = []
        self._due: dict[str, float] = {}
        for source in app.event_sources:
            if not isinstance(source, ScheduledEventConfig):
                continue
            expression = source.schedule_expression
            text = expression if isinstance(expression, str) else expression.to_string()
            every = rate_seconds(text)
            if every is None:
                self.skipped.append(f"{source.name}: {text}")
                continue
            self.jobs.append((source.name, every, app.handler_map[source.name]))
            self._due[source.name] = start + every

    def tick(self, now: float | None = None) -> list[str]:
        """Run every job that is due at ``now`` (monotonic seconds); returns their names."""
        moment = time.monotonic() if now is None else now
        fired = []
        for name, every, handler in self.jobs:
            if moment >= self._due[name]:
                self._due[name] = moment + every
                context = _context(name)
                with invocation(context):  # one job failing stops no other, as separate rules would not
                    try:
                        handler(self._event(name), context)
                    except Exception:  # noqa: BLE001 - as Lambda does: logged; the schedule fires again
                        logger.exception("scheduled function failed", extra={"schedule": name})
                fired.append(name)
        return fired

    @staticmethod
    def _event(name: str) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "000000000000",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": get_settings().region,
            "resources": [f"arn:aws:events:{get_settings().region}:000000000000:rule/{name}"],
            "detail": {},
        }


class Worker(threading.Thread):
    """Runs the queue, stream and schedule loops until ``stop()``."""

    def __init__(self, app: Chalice, stream_handler: Handler) -> None:
        super().__init__(name="btrix-worker", daemon=True)
        # Short polls: a long poll per empty queue would add up to seconds per round across the queues.
        self.queues = QueueWorker(app, wait_seconds=0)
        self.stream = StreamWorker(stream_handler)
        self.scheduler = Scheduler(app)
        self._stop_event = threading.Event()
        self._rounds = threading.Condition()
        self._round = 0  # rounds done
        self._idle_since = 0  # the first round of the current run of rounds that found nothing to do (0: busy)

    def run(self) -> None:
        while not self._stop_event.is_set():
            busy = False
            for step in (self.stream.poll_once, self.queues.poll_once, self.scheduler.tick):
                try:
                    busy = bool(step()) or busy
                except Exception:  # noqa: BLE001 - keep the local worker alive, as Lambda retries would
                    logger.exception("worker step failed", extra={"step": step.__qualname__})
            with self._rounds:
                self._round += 1
                self._idle_since = 0 if busy else (self._idle_since or self._round)
                self._rounds.notify_all()
            if not busy:
                self._stop_event.wait(0.25)  # idle: poll again soon; while busy, go straight on

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until two whole rounds begun after this call found nothing to do (the stream read, every queue
        empty, no schedule due): what was written before the call has been handled. False on timeout."""
        with self._rounds:
            after = self._round + 2  # the round under way may have begun before the call
            return self._rounds.wait_for(
                lambda: self._idle_since != 0 and self._round >= max(self._idle_since, after) + 1, timeout_s
            )

    def stop(self) -> None:
        """Ask the loops to end (the thread finishes its current step)."""
        self._stop_event.set()
