"""SQS batches with partial failures: each record is handled on its own; failed ones are reported back so
that only they return to the queue (and, after the queue's maxReceiveCount, to its DLQ).

On a FIFO queue a failure also holds back the rest of its message group in the batch (they are reported failed
too, untouched), so a conversation is never relayed out of order; other groups go on.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.core import aws
from chalicelib.core.resources import queue_url

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

__all__ = ["full_jitter", "hide_record", "process_sqs_batch"]


def process_sqs_batch(
    raw_event: dict[str, Any], handle: Callable[[SQSRecord], None], *, fifo: bool = False
) -> dict[str, Any]:
    """Run ``handle`` on every record of an SQS Lambda event; returns ``{"batchItemFailures": [...]}``."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        SqsFifoPartialProcessor,
        process_partial_response,
    )

    processor: BatchProcessor = (
        SqsFifoPartialProcessor(skip_group_on_error=True)
        if fifo
        else BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    )
    return dict(process_partial_response(event=raw_event, record_handler=handle, processor=processor))


def hide_record(record: SQSRecord, seconds: int) -> None:
    """Make ``record``'s message visible again in ``seconds`` (a backoff before its next attempt; 0: at once)."""
    name = record.event_source_arn.rsplit(":", 1)[-1]
    aws.sqs().change_message_visibility(
        QueueUrl=queue_url(name), ReceiptHandle=record.receipt_handle, VisibilityTimeout=seconds
    )


def full_jitter(attempt: int, base_s: float, cap_s: float) -> int:
    """Seconds to wait after failed ``attempt``: uniform in [0, min(cap, base * 2^(attempt-1))] (full jitter)."""
    ceiling = min(cap_s, base_s * 2 ** max(attempt - 1, 0))
    return round(random.uniform(0, ceiling))  # noqa: S311 - jitter, not security
