"""The job queues for the platform operator: their depths, and dead letters moved back (``core/redrive.py``, through
the restart each capability registered, so a failed notification or relay job is tried again, not skipped)."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import redrive
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table
from chalicelib.core.errors import NotFound
from chalicelib.core.observability import logger
from chalicelib.core.resources import QUEUES, QueueKind
from chalicelib.operations.models import QueueList, QueueView, RedriveRequest, RedriveResult

__all__ = ["list_queues", "redrive_queue"]


def _view(depth: redrive.QueueDepth) -> QueueView:
    return QueueView(
        queue=depth.kind,
        fifo=depth.fifo,
        waiting=depth.waiting,
        in_flight=depth.in_flight,
        delayed=depth.delayed,
        dead=depth.dead,
    )


def list_queues(principal: Principal) -> QueueList:
    """Every job queue with what waits in it and in its DLQ."""
    require(principal, Permission.PLATFORM_QUEUES)
    return QueueList(items=[_view(redrive.depth(q.kind)) for q in QUEUES])


def _kind(queue: str) -> QueueKind:
    try:
        return QueueKind(queue)
    except ValueError:
        raise NotFound(detail=f"no queue {queue!r}; the queues are {', '.join(k.value for k in QueueKind)}") from None


def redrive_queue(principal: Principal, queue: str, body: RedriveRequest) -> RedriveResult:
    """Move up to ``body.limit`` dead messages of ``queue`` back to it (audited)."""
    require(principal, Permission.PLATFORM_QUEUES)
    kind = _kind(queue)
    moved = redrive.redrive(kind, body.limit)
    logger.info("dead letters redriven", extra={"queue": kind.value, "moved": moved})
    Table().transact([audit_op(principal, "queue.redriven", Kind.QUEUE, kind.value, after={"moved": moved})])
    return RedriveResult(queue=kind, moved=moved, dead=redrive.depth(kind).dead)
