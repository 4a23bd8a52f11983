"""The events of the status flows: a flow's new version, an entity's status change, and the ``emit_webhook``
events the built-in flows declare (``workflow_events``, read from the flows themselves).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import Field

from chalicelib.webhooks.event_types.base import EventData, EventTypeDef
from chalicelib.workflows.models import EntityType

__all__ = [
    "EVENTS",
    "StatusChangedData",
    "WorkflowActionData",
    "WorkflowUpdatedData",
    "workflow_events",
]


class WorkflowUpdatedData(EventData):
    """A tenant's status flow for an entity type got a new version."""

    entity_type: EntityType
    version: int
    customized: bool


class StatusChangedData(EventData):
    """An entity moved from one status to another (by a user, by a timer, by a confirmed payment, or by the carrier's
    tracking of its shipping label)."""

    entity_type: EntityType
    from_: str = Field(alias="from")
    to: str
    actor_id: str = Field(description="The user who made the change, or 'system' for a timer or a payment")
    trigger: Literal["user", "timer", "payment", "shipped", "delivered"]
    note: str | None = None
    version: int = Field(description="The entity's version after the change")
    at: str
    customer_id: str | None = None
    assigned_to: str | None = None
    channel: str | None = Field(default=None, description="Orders: where the order came from (web, ifood, rappi…)")
    outcome: Literal["completed", "cancelled"] | None = Field(
        default=None, description="Orders: how the order ended, when the new status is a terminal one"
    )


class WorkflowActionData(EventData):
    """An entity entered a status whose flow emits this event (``emit_webhook`` action)."""

    entity_type: str
    entity_id: str
    status: str
    at: str = Field(description="When the entity entered the status")


# Entity types whose status events carry more than the engine's fields (declared with their own model in sales).
_OWN_STATUS_EVENTS = frozenset({EntityType.SALE, EntityType.LEAD})


EVENTS: tuple[EventTypeDef, ...] = (
    EventTypeDef("workflow.updated", "A status flow got a new version.", WorkflowUpdatedData),
    *(
        EventTypeDef(f"{entity.value}.status_changed", f"A {entity.value} changed status.", StatusChangedData)
        for entity in EntityType
        if entity not in _OWN_STATUS_EVENTS
    ),
)


def workflow_events() -> Iterable[EventTypeDef]:
    """The events the built-in flows' ``emit_webhook`` actions emit, each naming the statuses that emit it."""
    from chalicelib.workflows.defaults import all_defaults

    entered: dict[str, list[str]] = {}
    for _, definition in all_defaults():
        for status in definition.statuses:
            for action in status.on_enter:
                if action.kind == "emit_webhook":
                    entered.setdefault(action.event, [])
                    if status.name not in entered[action.event]:
                        entered[action.event].append(status.name)
    for name, statuses in sorted(entered.items()):
        where = " or ".join(statuses)
        yield EventTypeDef(name, f"Built-in flows: the entity entered {where}.", WorkflowActionData, "workflow")
