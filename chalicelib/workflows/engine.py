"""The workflow engine, as entity capabilities (orders, appointments…) use it.

An owner declares its ``EntitySpec`` (listed in ``entities.entity_specs``), puts ``initial_fields`` on each new
entity item, calls ``start`` once the item exists, and routes status changes through ``transition``. The work is
split by job: ``transitions`` (status changes, history, timers re-armed), ``changes`` (an entity's own fields
changed: ``EntityChanges``), ``machines`` (Step Functions: machines, executions, task answers) and ``tasks`` (the park
and timer tasks the machines send back).
"""

from __future__ import annotations

from chalicelib.workflows.changes import EntityChanges
from chalicelib.workflows.entities import (
    STATUS,
    STATUS_CHANGED_AT,
    WORKFLOW_VERSION,
    EntitySpec,
    OnTransition,
    TransitionContext,
    TransitionEffects,
)
from chalicelib.workflows.machines import ensure_machine
from chalicelib.workflows.transitions import (
    TransitionResult,
    find_entity,
    history,
    initial_fields,
    refresh_timers,
    start,
    transition,
    transition_on,
)

__all__ = [
    "STATUS",
    "STATUS_CHANGED_AT",
    "WORKFLOW_VERSION",
    "EntityChanges",
    "EntitySpec",
    "OnTransition",
    "TransitionContext",
    "TransitionEffects",
    "TransitionResult",
    "ensure_machine",
    "find_entity",
    "history",
    "initial_fields",
    "refresh_timers",
    "start",
    "transition",
    "transition_on",
]
