"""Move the notifications DLQ back to its queue: ``python -m chalicelib.notifications.redrive [--limit N]``.

Each dead message's failed notification is put back to ``queued`` (a fresh set of attempts) before the message is
sent to the queue again, so the consumer tries it once more; messages whose notification is no longer failed
(retried through the API meanwhile, or sent) go back too and do nothing. Shows a progress bar (tqdm) on a terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from chalicelib.core import aws
from chalicelib.core import redrive as dead_letters
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.redrive import register_restart
from chalicelib.core.resources import QueueKind, dlq_name, queue_name, queue_url
from chalicelib.notifications import service
from chalicelib.notifications.queue_messages import workflow_notification_id

__all__ = ["main", "redrive", "register", "restart"]


def _notification_ref(body: str) -> tuple[str, str] | None:
    message = json.loads(body)
    if message.get("detail-type") == "notification.requested":
        return str(message["detail"]["tenantId"]), str(message["detail"]["data"]["notificationId"])
    if message.get("source") == "workflow":
        return str(message["tenantId"]), workflow_notification_id(message)
    if message.get("kind") == "send":
        return str(message["tenantId"]), str(message["notificationId"])
    return None


def restart(body: str) -> str:
    """Put the dead message's failed notification back to ``queued``; the message goes back as it is."""
    ref = _notification_ref(body)
    if ref is not None:
        with tenant_scope(ref[0]):  # the dead message's tenant, also inside the platform operator's request
            service.requeue_failed(*ref)
    return body


def register() -> None:
    """Have every redrive of the notifications DLQ (this command, the platform operator's route) restart the
    notification first."""
    register_restart(QueueKind.NOTIFICATIONS, restart)


def redrive(limit: int | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Move up to ``limit`` messages (all by default) from the DLQ back to the notifications queue; returns how
    many moved. ``progress(n)`` is called after each batch with the number just moved."""
    register()
    return dead_letters.redrive(QueueKind.NOTIFICATIONS, limit, progress)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="Redrive the notifications DLQ")
    parser.add_argument("--limit", type=int, default=None, help="move at most this many messages")
    arguments = parser.parse_args(argv)
    attributes = aws.sqs().get_queue_attributes(
        QueueUrl=queue_url(dlq_name(QueueKind.NOTIFICATIONS)), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    total = int(attributes.get("ApproximateNumberOfMessages", 0))
    if arguments.limit is not None:
        total = min(total, arguments.limit)
    try:
        from tqdm import tqdm  # type: ignore[import-untyped]
    except ImportError:  # tqdm is a development tool; without it, plain progress lines
        done = redrive(arguments.limit, lambda n: print(f"moved {n}", file=sys.stderr))
    else:
        with tqdm(total=total, unit="msg", desc="redrive notifications DLQ") as bar:
            done = redrive(arguments.limit, bar.update)
    print(f"{done} message(s) moved back to {queue_name(QueueKind.NOTIFICATIONS)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
