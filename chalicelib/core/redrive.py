"""Dead letters back to their queue, for every job queue: the one loop the redrive commands and the platform
operator's ``POST /platform/queues/{queue}/redrive`` share.

A capability whose jobs keep a record of their failure registers a ``restart`` for its queue (``app.py`` does, as it
registers the queues' handlers): it gets each dead message's body before the message goes back, puts the record
back to a state the consumer tries again, and returns the body to send (the same one, or a rewritten one). Messages
of a FIFO queue go back to their message group, under a new deduplication id (the original one may still be inside
SQS's five-minute window), so each group keeps its order.

SQS's own ``StartMessageMoveTask`` moves messages too, but calls no code on the way (the records would stay
``failed``) and moto does not run it locally; this loop is short and does both.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.core import aws, capabilities
from chalicelib.core.observability import logger
from chalicelib.core.resources import QUEUES, QueueKind, dlq_name, queue_name, queue_url

__all__ = ["QueueDepth", "Restart", "depth", "redrive", "register_restart"]

Restart = Callable[[str], str]
_RESTARTS: dict[QueueKind, Restart] = {}
_BATCH = 10
_HIDE_S = 60  # a message being moved is hidden this long: a crash mid-way leaves it in the DLQ, not lost


def register_restart(kind: QueueKind, restart: Restart) -> None:
    """Have ``restart(body) -> body`` run on each of ``kind``'s dead messages before it goes back."""
    _RESTARTS[kind] = restart


@dataclass(frozen=True)
class QueueDepth:
    """What a queue and its DLQ hold (SQS's approximate counts)."""

    kind: QueueKind
    fifo: bool
    waiting: int
    in_flight: int
    delayed: int
    dead: int


def _counts(url: str) -> dict[str, int]:
    attributes = aws.sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {name: int(value) for name, value in attributes.items() if name.startswith("ApproximateNumberOf")}


def depth(kind: QueueKind) -> QueueDepth:
    """How many messages wait in ``kind``, are being handled, are delayed, and lie in its DLQ."""
    queued, dead = _counts(queue_url(queue_name(kind))), _counts(queue_url(dlq_name(kind)))
    return QueueDepth(
        kind=kind,
        fifo=next(q.fifo for q in QUEUES if q.kind is kind),
        waiting=queued.get("ApproximateNumberOfMessages", 0),
        in_flight=queued.get("ApproximateNumberOfMessagesNotVisible", 0),
        delayed=queued.get("ApproximateNumberOfMessagesDelayed", 0),
        dead=dead.get("ApproximateNumberOfMessages", 0),
    )


def _restarted(restart: Restart | None, body: str, kind: QueueKind) -> str:
    """The body to send back: through the queue's restart, or as it is when the restart cannot read it (the consumer
    decides again what an unreadable message is; a redrive never loses one)."""
    if restart is None:
        return body
    try:
        return restart(body)
    except (ValueError, KeyError, TypeError) as exc:
        logger.warning("dead letter not restarted: sent back as it is", extra={"queue": kind.value, "error": str(exc)})
        return body


def redrive(kind: QueueKind, limit: int | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Move up to ``limit`` messages (all by default) from ``kind``'s DLQ back to ``kind``, each through the
    queue's registered restart; returns how many moved. ``progress(n)`` is called after each batch."""
    sqs = aws.sqs()
    fifo = next(q.fifo for q in QUEUES if q.kind is kind)
    source, target = queue_url(dlq_name(kind)), queue_url(queue_name(kind))
    capabilities.load_registrations()  # the capability restarting this queue's messages may not be imported yet
    restart = _RESTARTS.get(kind)
    moved = 0
    while limit is None or moved < limit:
        wanted = _BATCH if limit is None else min(_BATCH, limit - moved)
        messages = sqs.receive_message(
            QueueUrl=source,
            MaxNumberOfMessages=wanted,
            VisibilityTimeout=_HIDE_S,
            MessageSystemAttributeNames=["MessageGroupId"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            body = _restarted(restart, message["Body"], kind)
            if fifo:
                group = message.get("Attributes", {}).get("MessageGroupId") or "redrive"
                sqs.send_message(
                    QueueUrl=target,
                    MessageBody=body,
                    MessageGroupId=group,
                    MessageDeduplicationId=f"redrive-{uuid.uuid4().hex}",
                )
            else:
                sqs.send_message(QueueUrl=target, MessageBody=body)
            sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
        moved += len(messages)
        if progress is not None:
            progress(len(messages))
    return moved
