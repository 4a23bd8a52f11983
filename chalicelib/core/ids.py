"""Identifiers: ULIDs, sortable by creation time, as strings; and the shape every id the API accepts must have."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

__all__ = ["ID_PATTERN", "PLATFORM_TENANT_ID", "EntityId", "is_entity_id", "new_id"]

# The tenant id of BTRIX itself (its own billing accounts' events, platform-wide records).
PLATFORM_TENANT_ID = "platform"

# The ids BTRIX hands out (ULIDs, and names such as "platform"): letters, digits, "_" and "-", at most 64. An id
# of another shape names nothing of ours, and could not even be part of a key (a "#" bends it, "" or a long one
# is refused by DynamoDB), so the API refuses it with a 422 naming the field before anything reads it.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_ID = re.compile(ID_PATTERN)

EntityId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]


def new_id(at: datetime | None = None) -> str:
    """A new ULID string; ``at`` fixes its time part (for ids that must sort with an injected clock)."""
    from ulid import ULID  # imported by the first write, not by a new container whose first request only reads

    return str(ULID.from_datetime(at) if at is not None else ULID())


def is_entity_id(value: object) -> bool:
    """True when ``value`` has the shape of an id BTRIX hands out (``EntityId``)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None
