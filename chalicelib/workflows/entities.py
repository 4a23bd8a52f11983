"""The entity types the workflow engine runs: what each is (its partition kind, the fields naming its customer and
assignee), what its owner adds to a transition, and the one explicit list of owners.

An owning capability declares its ``EntitySpec`` as a constant of its service module and is listed in
``entity_specs``; nothing registers itself at import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from chalicelib.access.principal import Principal
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import WriteOp
from chalicelib.workflows.models import EntityType, WorkflowDefinition

__all__ = [
    "STATUS",
    "STATUS_CHANGED_AT",
    "WORKFLOW_VERSION",
    "EntitySpec",
    "OnTransition",
    "SystemTrigger",
    "TransitionContext",
    "TransitionEffects",
    "Trigger",
    "entity_specs",
    "find_spec",
    "spec_of",
]

# What made a status change: a user, a timer, or BTRIX itself when something happened to the entity (``payment``:
# paid through a payment link; ``shipped`` / ``delivered``: the carrier's tracking said so).
SystemTrigger = Literal["payment", "shipped", "delivered"]
Trigger = Literal["user", "timer", "payment", "shipped", "delivered"]
# Attributes of the entity item the engine sets and owners must not change themselves.
STATUS = "status"
STATUS_CHANGED_AT = "statusChangedAt"
WORKFLOW_VERSION = "workflowVersion"


@dataclass(frozen=True)
class TransitionContext:
    """What an owner's ``on_transition`` hook sees: the entity as read and the change being made."""

    tenant_id: str
    entity_type: EntityType
    entity_id: str
    entity: Mapping[str, Any]
    from_status: str
    to_status: str
    actor: Principal
    trigger: Trigger
    note: str | None
    at: str
    definition: WorkflowDefinition


@dataclass(frozen=True)
class TransitionEffects:
    """What an owner adds to a transition, all in the same transaction as the status change.

    ``changes``: more attributes set on the entity item (e.g. the GSI key of a by-status list, ``completedAt``);
    ``ops``: more transaction writes (inventory reserve/release/consume…), each naming the error its failed
    condition means (``WriteOp.conflict``, e.g. a stock shortage); ``event_data``: more fields in the
    ``<entity_type>.status_changed`` event (declared in the catalog's ``StatusChangedData``).
    """

    changes: Mapping[str, Any] = field(default_factory=dict)
    ops: Sequence[WriteOp] = ()
    event_data: Mapping[str, Any] = field(default_factory=dict)


OnTransition = Callable[[TransitionContext], TransitionEffects | None]


@dataclass(frozen=True)
class EntitySpec:
    """An entity type run by the engine: where its items live and what its owner adds to transitions.

    ``customer_field`` / ``assignee_field``: the entity attributes holding the customer id and the assigned user
    id, used to address messages (``to: customer`` / ``assigned_user``) and copied into events.
    """

    entity_type: EntityType
    kind: Kind
    on_transition: OnTransition | None = None
    customer_field: str = "customerId"
    assignee_field: str = "assignedTo"


@cache
def entity_specs() -> dict[EntityType, EntitySpec]:
    """Every entity type the engine runs, with its owner's spec (built once, on first use)."""
    # Imported here rather than at the top: each owner imports the engine to declare its spec.
    from chalicelib.appointments import service as appointments
    from chalicelib.leads import service as leads
    from chalicelib.marketplace import service as marketplace
    from chalicelib.orders import service as orders
    from chalicelib.sales import service as sales

    specs: dict[EntityType, EntitySpec] = {}
    for spec in (orders.WORKFLOW, appointments.WORKFLOW, sales.WORKFLOW, leads.WORKFLOW, marketplace.WORKFLOW):
        if spec.entity_type in specs:
            raise ValueError(f"{spec.entity_type.value} has two owners")
        specs[spec.entity_type] = spec
    return specs


def find_spec(entity_type: EntityType | str) -> EntitySpec | None:
    """The spec of ``entity_type``, or None when no capability owns it (or it is no entity type)."""
    try:
        return entity_specs().get(EntityType(entity_type))
    except ValueError:
        return None


def spec_of(entity_type: EntityType | str) -> EntitySpec:
    """The spec of ``entity_type``; ``LookupError`` when no capability owns it (a programming error)."""
    spec = find_spec(entity_type)
    if spec is None:
        raise LookupError(f"no capability runs entity type {entity_type!r} with the workflow engine")
    return spec
