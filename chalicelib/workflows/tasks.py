"""Consumer of the workflow-tasks queue: the park and timer tasks the workflow machines send.

Each message is handled on its own (partial batch failures): a failure returns only that message to the queue,
and after the queue's redrive count to its DLQ. Handling is idempotent, so redelivery is harmless: a park stores
the same token again (or resumes a machine that is already ahead, which answers "stale token"), a timer finds
its transition already made or its reminder already claimed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.core.batch import process_sqs_batch
from chalicelib.workflows import engine
from chalicelib.workflows.models import TaskMessage

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

__all__ = ["handle_task", "handle_task_batch"]


def handle_task(body: str) -> None:
    """Handle one message of the workflow-tasks queue."""
    message = TaskMessage.model_validate_json(body)
    if message.kind == "park":
        engine.handle_park(message)
    else:
        engine.handle_timer(message)


def _record(record: SQSRecord) -> None:
    handle_task(record.body)


def handle_task_batch(event: dict[str, Any]) -> dict[str, Any]:
    """Handle an SQS batch of workflow tasks; returns the ``batchItemFailures`` Lambda expects."""
    return process_sqs_batch(event, _record)
