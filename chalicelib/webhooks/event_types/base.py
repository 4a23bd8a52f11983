"""What every event type is made of: its declaration (``EventTypeDef``: name, meaning, data model, origin) and the
base models of its data shared by several families.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chalicelib.core.models import ApiModel

__all__ = ["ChangedData", "EventData", "EventTypeDef", "NamedData", "NoData", "Origin"]

Origin = Literal["domain", "workflow", "webhooks"]


class EventData(ApiModel):
    """Base of every event payload: camelCase, and no field the declaration does not name."""


class NoData(EventData):
    """Nothing beyond the event's subject (the entity id)."""


class ChangedData(EventData):
    """Which fields changed (their API names); read the entity for the new values."""

    changed: list[str]


class NamedData(EventData):
    """The name of the category or brand."""

    name: str


@dataclass(frozen=True)
class EventTypeDef:
    """One event type: its name (``order.created``), what it means, the model of its data, and its origin."""

    name: str
    description: str
    data: type[EventData]
    origin: Origin = "domain"
