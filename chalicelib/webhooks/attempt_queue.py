"""The webhook-attempts queue: each attempt queued delayed until it is due, on Svix's retry schedule (SQS delays at
most 15 minutes, so a later attempt is re-sent with what remains until it is due)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from chalicelib.core import aws, clock
from chalicelib.core.config import get_settings
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.resources import QueueKind, queue_name, queue_url
from chalicelib.webhooks.models import AttemptMessage

__all__ = ["DUE_TOLERANCE_S", "MAX_ATTEMPTS", "RETRY_SCHEDULE_S", "enqueue", "parse_moment", "retry_delay_s"]

# Seconds to wait before attempt 1, 2, …, 8 (Svix): the last ends about 28 hours after the first.
RETRY_SCHEDULE_S: tuple[int, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE_S)
SQS_MAX_DELAY_S = 900
# A message up to this early is sent now: DelaySeconds are whole seconds.
DUE_TOLERANCE_S = 1.0


def retry_delay_s(attempt: int) -> float:
    """Seconds between attempt ``attempt - 1`` and ``attempt`` (scaled by ``BTRIX_WEBHOOK_RETRY_SCALE``)."""
    return RETRY_SCHEDULE_S[attempt - 1] * get_settings().webhook_retry_scale


def parse_moment(value: str) -> datetime:
    """A stored ISO 8601 moment (``Z`` or an offset) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _delay_s(remaining: float) -> int:
    # Whole seconds, at most SQS's 15 minutes; what is due within the tolerance goes now (the handler sends it).
    return 0 if remaining <= DUE_TOLERANCE_S else min(SQS_MAX_DELAY_S, math.ceil(remaining))


def enqueue(messages: Sequence[AttemptMessage]) -> None:
    """Queue attempts, each delayed until it is due (at most 15 minutes at a time)."""
    if not messages:
        return
    url = queue_url(queue_name(QueueKind.WEBHOOK_ATTEMPTS))
    now = clock.now().timestamp()
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        entries: list[Any] = [
            {"Id": str(i), "MessageBody": message.model_dump_json(), "DelaySeconds": _delay_s(message.due_at - now)}
            for i, message in enumerate(chunk)
        ]
        response = aws.sqs().send_message_batch(QueueUrl=url, Entries=entries)
        if response.get("Failed"):
            raise DependencyUnavailable(
                detail=f"the webhook attempts queue refused {len(response['Failed'])} message(s)"
            )
