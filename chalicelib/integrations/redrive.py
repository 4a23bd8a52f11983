"""Move the integrations DLQ back to its queue: ``python -m chalicelib.integrations.redrive [--limit N]``.

A job that failed is ``failed`` in its record, which does not stop it from running again: the redriven message gets
a fresh set of attempts. A dead letter names the handler that failed (``btrixHandler``) and runs that one only; jobs
that are done meanwhile (the same action redelivered and succeeded) do nothing; a message no handler took runs if a
capability handles its kind now.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from chalicelib.core import redrive as dead_letters
from chalicelib.core.resources import QueueKind, queue_name

__all__ = ["main", "redrive"]


def redrive(limit: int | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Move up to ``limit`` messages (all by default) from the integrations DLQ back to its queue; returns how
    many moved. ``progress(n)`` is called after each batch with the number just moved."""
    return dead_letters.redrive(QueueKind.INTEGRATIONS, limit, progress)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="Redrive the integrations DLQ")
    parser.add_argument("--limit", type=int, default=None, help="move at most this many messages")
    arguments = parser.parse_args(argv)
    done = redrive(arguments.limit)
    print(f"{done} message(s) moved back to {queue_name(QueueKind.INTEGRATIONS)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
