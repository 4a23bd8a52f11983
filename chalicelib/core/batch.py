"""SQS consumers: the one helper every queue handler of ``app.py`` runs through. It handles each record of a batch
on its own and reports the failed ones (``batchItemFailures``), so that only they return to the queue; it retries
a job that asked for it (``RetryLater``) after a backoff, and after the queue's last attempt hands it to the DLQ.

- A handler that raises ``RetryLater`` (an outage, a busy resource: later may work) gets its message hidden for a
  full-jitter exponential backoff (``ChangeMessageVisibility``) when the consumer has one, else for the queue's
  visibility timeout. At the queue's last attempt (its ``maxReceiveCount``) the consumer's ``give_up`` records why
  (the job's subject shows ``failed``), the message is made visible at once and SQS moves it to the DLQ at its next
  receive, where the redrive commands find it.
- Any other exception is a failure of that record alone: SQS delivers it again after the visibility timeout, and
  to the DLQ after the last attempt.
- On a FIFO queue a failure also holds back the rest of its message group in the batch (they are reported failed
  too, untouched, and hidden as long as the failed one: a backoff delays its group by the backoff only, not by the
  visibility timeout), so a conversation is never handled out of order; other groups go on. A batch where every
  record failed is a partial failure like any other (reported, not raised).
- ``parallel``: the records run at once on threads (each in a copy of the caller's context), for handlers that
  mostly wait on the network (webhook attempts).
- ``consume_grouped``: for a consumer that applies a batch's records together, one group at a time (the analytics
  queue folds a tenant's events into its aggregates in one write): a record whose group cannot be read fails alone,
  a group that fails fails whole, and SQS brings those back (then to the DLQ) as it does any failed record.
"""

from __future__ import annotations

import contextvars
import random
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core import aws
from chalicelib.core.errors import AppError
from chalicelib.core.observability import logger
from chalicelib.core.resources import QUEUES, QueueKind, queue_url

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

__all__ = ["Backoff", "GaveUp", "Job", "RetryLater", "consume", "consume_grouped"]


class RetryLater(Exception):
    """Raised by a job handler when the job may succeed later (a provider outage, a busy resource).

    ``attempt``: the attempts the handler counted itself, when they are not the queue's receives (a job held back
    behind others is received without being tried); its backoff grows with them.
    """

    def __init__(self, message: str, *, attempt: int | None = None) -> None:
        super().__init__(message)
        self.attempt = attempt


class GaveUp(Exception):
    """Raised (reported as the record's failure) when a job failed its queue's last attempt: it goes to the DLQ."""


@dataclass(frozen=True)
class Backoff:
    """Full-jitter exponential backoff: attempt n waits uniformly in [0, min(cap_s, base_s * 2^(n-1))] seconds."""

    base_s: float
    cap_s: float

    def seconds(self, attempt: int) -> int:
        """Seconds to wait after failed ``attempt``."""
        return _full_jitter(attempt, self.base_s, self.cap_s)


@dataclass(frozen=True)
class Job:
    """One queue message as its handler sees it: the body, and which attempt of how many this is."""

    record: SQSRecord
    body: str
    attempt: int
    max_attempts: int

    @property
    def last_attempt(self) -> bool:
        """After this attempt the queue gives the message up to its DLQ."""
        return self.attempt >= self.max_attempts


Handler = Callable[[Job], object]
GiveUp = Callable[[Job, RetryLater], None]


def consume(
    raw_event: dict[str, Any],
    handle: Handler,
    *,
    queue: QueueKind,
    backoff: Backoff | None = None,
    give_up: GiveUp | None = None,
    parallel: bool = False,
) -> dict[str, Any]:
    """Run ``handle`` on every record of an SQS Lambda event from ``queue``; returns ``{"batchItemFailures": [...]}``.

    ``backoff``: how long a ``RetryLater`` waits (None: the queue's visibility timeout). ``give_up``: called with the
    job and its last ``RetryLater`` before the message goes to the DLQ.
    """
    definition = next(q for q in QUEUES if q.kind is queue)
    hidden: dict[str, tuple[str, int]] = {}  # FIFO group → its failed record and how long it is hidden

    def attempt(record: SQSRecord) -> None:
        job = Job(
            record, record.body, int(record.attributes.approximate_receive_count or 1), definition.max_receive_count
        )
        try:
            handle(job)
        except RetryLater as exc:
            if job.last_attempt:
                if give_up is not None:
                    give_up(job, exc)
                _hide(record, 0, hidden)  # its next receive moves it to the DLQ
                raise GaveUp(f"{queue.value}: failed after {job.attempt} attempts: {exc}") from exc
            if backoff is not None:
                _hide(record, backoff.seconds(exc.attempt or job.attempt), hidden)
            logger.info(
                "queue job will retry", extra={"queue": queue.value, "attempt": job.attempt, "error": str(exc)[:200]}
            )
            raise

    if parallel:
        return _in_parallel(raw_event, attempt)
    if not definition.fifo:
        return _in_order(raw_event, attempt)
    result = _in_groups(raw_event, attempt)
    _hold_back(raw_event, result, hidden)
    return result


def consume_grouped(
    raw_event: dict[str, Any],
    group_of: Callable[[Job], str],
    handle: Callable[[str, list[Job]], object],
    *,
    queue: QueueKind,
) -> dict[str, Any]:
    """Run ``handle(group, jobs)`` once per group of an SQS Lambda event's records from ``queue`` (``group_of`` names
    a record's group; it raises ValueError, KeyError or TypeError for a record that belongs nowhere, which then
    fails alone); returns ``{"batchItemFailures": [...]}`` naming every record of a failed group."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    definition = next(q for q in QUEUES if q.kind is queue)
    failed: list[str] = []
    groups: dict[str, list[Job]] = {}
    for raw in raw_event.get("Records") or []:
        record = SQSRecord(raw)
        # A record as Lambda delivers it names its receive count; one built by hand (a redrive tool) may not.
        received = int((raw.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        job = Job(record, record.body, received, definition.max_receive_count)
        try:
            groups.setdefault(group_of(job), []).append(job)
        except (ValueError, KeyError, TypeError):
            logger.error(
                "queue message belongs to no group", extra={"queue": queue.value, "message_id": record.message_id}
            )
            failed.append(record.message_id)
    for group, jobs in groups.items():
        try:
            handle(group, jobs)
        except (AppError, ClientError, BotoCoreError):  # the group's records are reported failed and come back
            logger.exception("queue group failed", extra={"queue": queue.value, "group": group, "records": len(jobs)})
            failed += [job.record.message_id for job in jobs]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _in_order(raw_event: dict[str, Any], attempt: Callable[[SQSRecord], None]) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=raw_event, record_handler=attempt, processor=processor))


def _in_groups(raw_event: dict[str, Any], attempt: Callable[[SQSRecord], None]) -> dict[str, Any]:
    """A FIFO batch: each group's records in order; a failure fails the rest of its group untried."""
    from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # A batch where everything failed is reported like any partial failure (Powertools would raise, and the
    # records would come back only after the visibility timeout, whatever backoff they were given).
    processor.raise_on_entire_batch_failure = False
    return dict(process_partial_response(event=raw_event, record_handler=attempt, processor=processor))


def _hold_back(raw_event: dict[str, Any], result: dict[str, Any], hidden: dict[str, tuple[str, int]]) -> None:
    """The records held back behind a failed record of their group are hidden as long as it is: its group goes on
    after its backoff (or at once, when it goes to the DLQ), not after the visibility timeout."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
    for raw in raw_event.get("Records") or []:
        record = SQSRecord(raw)
        group = record.attributes.message_group_id
        if record.message_id in failed and group in hidden and hidden[group][0] != record.message_id:
            _hide(record, hidden[group][1])


def _in_parallel(raw_event: dict[str, Any], attempt: Callable[[SQSRecord], None]) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    records = [SQSRecord(raw) for raw in raw_event.get("Records") or []]
    if not records:
        return {"batchItemFailures": []}
    with ThreadPoolExecutor(max_workers=len(records)) as pool:
        futures: list[tuple[str, Future[None]]] = [
            (record.message_id, pool.submit(contextvars.copy_context().run, attempt, record)) for record in records
        ]
    failures = []
    for message_id, future in futures:
        error = future.exception()
        if error is not None:
            if not isinstance(error, (RetryLater, GaveUp)):
                logger.error("queue job failed", extra={"message_id": message_id}, exc_info=error)
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def _hide(record: SQSRecord, seconds: int, hidden: dict[str, tuple[str, int]] | None = None) -> None:
    """Make ``record``'s message visible again in ``seconds`` (a backoff before its next attempt; 0: at once);
    noted in ``hidden`` by its FIFO group, for the records held back behind it."""
    if hidden is not None and record.attributes.message_group_id:
        hidden[record.attributes.message_group_id] = (record.message_id, seconds)
    name = record.event_source_arn.rsplit(":", 1)[-1]
    aws.sqs().change_message_visibility(
        QueueUrl=queue_url(name), ReceiptHandle=record.receipt_handle, VisibilityTimeout=seconds
    )


def _full_jitter(attempt: int, base_s: float, cap_s: float) -> int:
    """Seconds to wait after failed ``attempt``: uniform in [0, min(cap, base * 2^(attempt-1))] (full jitter)."""
    ceiling = min(cap_s, base_s * 2 ** max(attempt - 1, 0))
    return round(random.uniform(0, ceiling))  # noqa: S311 - jitter, not security
