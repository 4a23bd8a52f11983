"""Move the gateway's dead letters back: ``python -m chalicelib.conversations.redrive [--limit N]``.

Both FIFO DLQs (conversation jobs, Bitrix24 events) go back to their queues in their message groups, so each
conversation keeps its order. A job's failed message gets a fresh set of attempts first (``failed`` → ``received``
or ``queued``); jobs whose message is no longer failed go back too and do nothing.
"""

from __future__ import annotations

import argparse
import json

from chalicelib.conversations import store
from chalicelib.conversations.inbound import inbound_message
from chalicelib.conversations.jobs import MESSAGE_JOB, SEND_JOB
from chalicelib.core import redrive as dead_letters
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.redrive import register_restart
from chalicelib.core.resources import QueueKind, queue_name

__all__ = ["main", "redrive", "register"]


def _restart(body: str) -> str:
    """Reset the failed message of a dead job; returns the job to put back: the job itself, also for the trigger
    of a pending job (which may be done or given up by now), so that it redoes its own message."""
    job = json.loads(body)
    tenant_id = str(job.get("tenantId") or "")
    with tenant_scope(tenant_id):
        if job.get("type") == SEND_JOB:
            record = store.get_message(tenant_id, str(job["conversationId"]), str(job["messageId"]), consistent=True)
            restart = "queued"
        elif job.get("type") == MESSAGE_JOB:
            record, restart = inbound_message(job), "received"
        else:
            return body
        if record is not None and record.status == "failed":
            changes = {"status": restart, "error": None, "attempts": record.attempts + 1}
            store.update_message(record, changes, from_status=["failed"])
    return json.dumps({k: v for k, v in job.items() if k != "pending"}, separators=(",", ":"), sort_keys=True)


def register() -> None:
    """Have every redrive of the gateway's DLQs (this command, the platform operator's route) restart the job's
    message first."""
    for kind in (QueueKind.WHATSAPP_INBOUND, QueueKind.BITRIX24_OUTBOUND):
        register_restart(kind, _restart)


def redrive(kind: QueueKind, limit: int | None = None) -> int:
    """Move up to ``limit`` messages (all by default) from ``kind``'s DLQ back to ``kind`` (same message groups,
    new deduplication ids); returns how many."""
    register()
    return dead_letters.redrive(kind, limit)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="Redrive the WhatsApp <-> Bitrix24 gateway's DLQs")
    parser.add_argument("--limit", type=int, default=None, help="move at most this many messages per queue")
    arguments = parser.parse_args(argv)
    for kind in (QueueKind.WHATSAPP_INBOUND, QueueKind.BITRIX24_OUTBOUND):
        moved = redrive(kind, arguments.limit)
        print(f"{moved} message(s) moved back to {queue_name(kind)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
