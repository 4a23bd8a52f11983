"""What ``/platform/queues`` shows and takes."""

from __future__ import annotations

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.core.resources import QueueKind

__all__ = ["QueueList", "QueueView", "RedriveRequest", "RedriveResult"]


class QueueView(ApiModel):
    """A job queue and its dead-letter queue, in SQS's approximate counts."""

    queue: QueueKind
    fifo: bool
    waiting: int = Field(description="Messages ready to be handled")
    in_flight: int = Field(description="Messages being handled (received, not yet deleted)")
    delayed: int = Field(description="Messages waiting for their delay (retries with backoff, webhook attempts)")
    dead: int = Field(description="Messages in the DLQ: given up after their attempts, kept for a redrive")


class QueueList(ApiModel):
    """Every job queue of the stage."""

    items: list[QueueView]


class RedriveRequest(ApiModel):
    """How many dead messages to move back at most (a bigger DLQ takes several calls)."""

    limit: int = Field(default=100, ge=1, le=1000)


class RedriveResult(ApiModel):
    """What a redrive moved, and what is left in the DLQ."""

    queue: QueueKind
    moved: int
    dead: int = Field(description="Messages still in the DLQ after the move")
