"""Identifiers: ULIDs, sortable by creation time, as strings."""

from __future__ import annotations

from datetime import datetime

from ulid import ULID

__all__ = ["new_id"]


def new_id(at: datetime | None = None) -> str:
    """A new ULID string; ``at`` fixes its time part (for ids that must sort with an injected clock)."""
    return str(ULID.from_datetime(at) if at is not None else ULID())
