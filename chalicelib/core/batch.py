"""SQS batches with partial failures: each record is handled on its own; failed ones are reported back so
that only they return to the queue (and, after the queue's maxReceiveCount, to its DLQ)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

__all__ = ["process_sqs_batch"]


def process_sqs_batch(raw_event: dict[str, Any], handle: Callable[[SQSRecord], None]) -> dict[str, Any]:
    """Run ``handle`` on every record of an SQS Lambda event; returns ``{"batchItemFailures": [...]}``."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=raw_event, record_handler=handle, processor=processor))
