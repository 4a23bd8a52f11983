"""The current time, injectable so that timers, TTLs and expiries can be tested without sleeping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

__all__ = ["frozen_clock", "isoformat", "now", "now_iso", "to_epoch"]

_source: ContextVar[Callable[[], datetime] | None] = ContextVar("clock_source", default=None)


def now() -> datetime:
    """The current UTC time (timezone-aware), from the injected source when one is set."""
    source = _source.get()
    return source() if source is not None else datetime.now(UTC)


@contextmanager
def frozen_clock(at: datetime) -> Iterator[Callable[[timedelta], None]]:
    """Freeze ``now()`` at ``at`` inside the block; yields a function that moves the clock forward."""
    current = [at.astimezone(UTC)]

    def advance(by: timedelta) -> None:
        current[0] = current[0] + by

    token = _source.set(lambda: current[0])
    try:
        yield advance
    finally:
        _source.reset(token)


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z`` suffix, the one format stored and returned."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    """``now()`` as stored and returned (``isoformat``)."""
    return isoformat(now())


def to_epoch(moment: datetime) -> int:
    """Whole seconds since the epoch (DynamoDB TTL attributes use this)."""
    return int(moment.timestamp())
