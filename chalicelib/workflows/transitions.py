"""Status changes of the entities the workflow engine runs: starting an entity's flow, moving it (from the API or
a timer), its history, and re-arming its timers.

DynamoDB is the source of truth: a transition is validated (the definition version the entity started with, the
actor's role, the current status, the version) and written in one conditional transaction with its history item,
its ``<entity_type>.status_changed`` event, its audit entry and the owner's own writes. The entity's Step
Functions execution follows: it is parked on a waitForTaskToken task whose token the workflow-tasks worker
stored, and the transition resumes it.

Races, and who wins:
- Two transitions: both condition on the entity's version; one commits, the other gets 409.
- A transition and a park (the token being stored): the transition also conditions on the runtime item's
  token (the one it read, or none); if a park stored one meanwhile, it reads again and uses it. A park stores
  its token only while the entity is still in the parked status; otherwise it resumes the machine at once
  with the current status, so the machine catches up.
- A transition and a timer: whichever commits first wins; the loser sees the other's status (timer) or a 409
  (API), and a machine whose token went stale catches up from the timer task.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.store import Table, TransactionConflict, VersionConflict, update_op
from chalicelib.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.observability import logger
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.workflows import machines, store
from chalicelib.workflows.entities import (
    STATUS,
    STATUS_CHANGED_AT,
    WORKFLOW_VERSION,
    EntitySpec,
    SystemTrigger,
    TransitionContext,
    TransitionEffects,
    Trigger,
    spec_of,
)
from chalicelib.workflows.models import EntityType, HistoryEntry, WorkflowDefinition
from chalicelib.workflows.service import system_actor, version_for_new_entity, workflow_version

__all__ = [
    "TransitionResult",
    "apply",
    "definition_of",
    "find_entity",
    "history",
    "initial_fields",
    "load_entity",
    "refresh_timers",
    "start",
    "transition",
    "transition_on",
]

_OWN_ATTRIBUTES = frozenset({STATUS, STATUS_CHANGED_AT, WORKFLOW_VERSION, "version", "PK", "SK"})
_TOKEN_RACE_ATTEMPTS = 3


@dataclass(frozen=True)
class TransitionResult:
    """A committed transition: the entity as written, and its history entry."""

    entity: dict[str, Any]
    from_status: str
    to_status: str
    version: int
    history: HistoryEntry


class _TokenMoved(Conflict):
    """Raised when a park stored a task token between a transition's read and its write."""


def initial_fields(tenant_id: str, entity_type: EntityType | str) -> dict[str, Any]:
    """The attributes a new entity item starts with: ``status`` (the initial one), ``statusChangedAt`` and
    ``workflowVersion`` (the definition version it keeps). The owner still sets ``version`` (1)."""
    record = version_for_new_entity(tenant_id, spec_of(entity_type).entity_type)
    return {
        STATUS: record.definition.initial,
        STATUS_CHANGED_AT: clock.now_iso(),
        WORKFLOW_VERSION: record.version,
    }


def find_entity(tenant_id: str, entity_type: EntityType | str, entity_id: str) -> dict[str, Any] | None:
    """The stored item of an entity the engine runs (read consistently), or None when it is gone."""
    return store.get_entity(tenant_id, spec_of(entity_type).kind, entity_id)


def load_entity(tenant_id: str, spec: EntitySpec, entity_id: str) -> dict[str, Any]:
    """The stored item of the entity (read consistently); ``NotFound`` when there is none."""
    item = store.get_entity(tenant_id, spec.kind, entity_id)
    if item is None:
        raise NotFound(detail=f"no {spec.entity_type.value.replace('_', ' ')} {entity_id}")
    return item


def definition_of(tenant_id: str, spec: EntitySpec, item: Mapping[str, Any]) -> WorkflowDefinition:
    """The definition the entity runs: the version it started with."""
    return workflow_version(tenant_id, spec.entity_type, int(item[WORKFLOW_VERSION])).definition


def start(tenant_id: str, entity_type: EntityType | str, entity_id: str) -> str:
    """Start the entity's execution (after its item is written); returns the execution ARN.

    Idempotent: a second call returns the execution already started.
    """
    spec = spec_of(entity_type)
    runtime = store.get_runtime(tenant_id, spec.kind, entity_id)
    if runtime.execution_arn:
        return runtime.execution_arn
    item = load_entity(tenant_id, spec, entity_id)
    arn = machines.start_execution(tenant_id, spec.entity_type, entity_id, definition_of(tenant_id, spec, item), item)
    store.set_execution(tenant_id, spec.kind, entity_id, arn)
    return arn


def _check(definition: WorkflowDefinition, current: str, to: str, actor: Principal, trigger: Trigger) -> None:
    if not definition.has_status(to):
        raise InvalidInput(
            detail=f"{to} is not a status of this workflow",
            errors=(
                FieldError("body.to", f"unknown status; statuses: {', '.join(s.name for s in definition.statuses)}"),
            ),
        )
    if definition.status(current).terminal:
        raise InvalidInput(
            detail=f"the status {current} is final",
            errors=(FieldError("body.to", f"{current} is a terminal status", "status-final"),),
        )
    declared = definition.find_transition(current, to)
    if declared is None:
        allowed = [t.to for t in definition.transitions if t.from_ == current]
        raise InvalidInput(
            detail=f"no transition from {current} to {to}",
            errors=(FieldError("body.to", f"from {current} the next statuses are {', '.join(allowed)}", "transition"),),
        )
    if trigger == "user" and actor.role not in declared.roles:
        raise Forbidden(detail=f"role {actor.role.value} may not move from {current} to {to}")


def _event_data(
    spec: EntitySpec, item: Mapping[str, Any], entry: HistoryEntry, effects: TransitionEffects
) -> dict[str, Any]:
    data: dict[str, Any] = {"entityType": spec.entity_type.value, **entry.model_dump(exclude={"id"})}
    for name in (spec.customer_field, spec.assignee_field):
        if item.get(name) is not None:
            data[name] = item[name]
    data.update(effects.event_data)
    return data


def _resume_after_commit(
    spec: EntitySpec, tenant_id: str, entity_id: str, token: str, definition: WorkflowDefinition, entity: dict[str, Any]
) -> None:
    # The committed transition stands whatever Step Functions says. When it cannot be reached, the token goes
    # back on the entity: the next transition (or the status's timer) resumes the machine with the status of
    # that moment, and the machine catches up.
    status = str(entity[STATUS])
    try:
        machines.resume(token, definition, entity, status, enter=True, timer=0)
    except (ClientError, BotoCoreError):
        logger.exception("could not resume the workflow execution", extra={"status": status})
        try:
            Table().transact([store.restore_token_op(tenant_id, spec.kind, entity_id, token)])
        except TransactionConflict:
            logger.info("a newer park holds the entity; the older token is dropped")


def apply(
    actor: Principal,
    spec: EntitySpec,
    entity_id: str,
    to: str,
    note: str | None,
    expected_version: int,
    trigger: Trigger,
) -> TransitionResult:
    """Move the entity to ``to`` as ``actor`` (a user, or the system for a timer): checked, written with its
    history, event, audit entry and the owner's writes in one transaction, then the execution resumed."""
    tenant_id = actor.tenant_id
    for _ in range(_TOKEN_RACE_ATTEMPTS):
        item = load_entity(tenant_id, spec, entity_id)
        version = int(item["version"])
        if version != expected_version:
            raise VersionConflict(
                detail=f"the {spec.entity_type.value} is at version {version}, not {expected_version}; reload and retry"
            )
        definition = definition_of(tenant_id, spec, item)
        current = str(item[STATUS])
        _check(definition, current, to, actor, trigger)
        moment = clock.now()
        at = clock.isoformat(moment)
        context = TransitionContext(
            tenant_id,
            spec.entity_type,
            entity_id,
            item,
            current,
            to,
            actor,
            trigger,
            note,
            at,
            definition,
        )
        effects = (spec.on_transition(context) if spec.on_transition else None) or TransitionEffects()
        if set(effects.changes) & _OWN_ATTRIBUTES:
            raise ValueError(f"on_transition may not set {sorted(set(effects.changes) & _OWN_ATTRIBUTES)}")
        entry = HistoryEntry.model_validate(
            {
                "id": new_id(moment),
                "from": current,
                "to": to,
                "actorId": actor.user_id,
                "trigger": trigger,
                "note": note,
                "version": version + 1,
                "at": at,
            }
        )
        changes = {STATUS: to, STATUS_CHANGED_AT: at, "updatedAt": at, **effects.changes}
        token = store.get_runtime(tenant_id, spec.kind, entity_id).task_token
        moved = VersionConflict(
            detail=f"the {spec.entity_type.value} changed while moving it to {to}; reload and retry"
        )
        ops = [
            update_op(
                *store.entity_key(tenant_id, spec.kind, entity_id), changes, expected_version=version, conflict=moved
            ),
            store.release_token_op(tenant_id, spec.kind, entity_id, token).on_conflict(_TokenMoved()),
            store.history_op(tenant_id, spec.kind, entity_id, entry),
            event_put_op(
                new_event(
                    f"{spec.entity_type.value}.status_changed",
                    tenant_id,
                    _event_data(spec, item, entry, effects),
                    subject=entity_id,
                )
            ),
            audit_op(
                actor,
                f"{spec.entity_type.value}.status_changed",
                spec.kind,
                entity_id,
                before={STATUS: current},
                after={STATUS: to, "note": note},
                tenant_id=tenant_id,
            ),
        ]
        try:
            Table().transact([*ops, *effects.ops])
        except _TokenMoved:
            continue  # the execution parked meanwhile: read its token and go again
        after = {**item, **changes, "version": version + 1}
        if token is not None:
            _resume_after_commit(spec, tenant_id, entity_id, token, definition, after)
        return TransitionResult(entity=after, from_status=current, to_status=to, version=version + 1, history=entry)
    raise Conflict(detail=f"the {spec.entity_type.value} is busy; retry")


def transition(
    actor: Principal,
    entity_type: EntityType | str,
    entity_id: str,
    to: str,
    note: str | None,
    expected_version: int,
) -> TransitionResult:
    """Move an entity of ``actor``'s tenant to status ``to``.

    Checks the definition version the entity started with (``to`` must be a declared transition from the
    current status, which must not be terminal: 422 naming ``body.to``), the actor's role (403) and
    ``expected_version`` (409 when another change came first). Writes the status, version + 1 and
    ``statusChangedAt`` on the entity, a history item, the ``<entity_type>.status_changed`` event, an audit
    entry and the owner's ``on_transition`` writes in one transaction, then resumes the execution.
    """
    return apply(actor, spec_of(entity_type), entity_id, to, note, expected_version, "user")


def transition_on(
    tenant_id: str, entity_type: EntityType | str, entity_id: str, trigger: SystemTrigger, note: str | None
) -> TransitionResult | None:
    """Make the transition the entity's flow declares for ``trigger`` from its current status, as the system
    actor; None when the flow declares none from there (the entity stays where it is). ``VersionConflict`` when the
    entity changed meanwhile (the caller tries again, from its new status)."""
    spec = spec_of(entity_type)
    item = load_entity(tenant_id, spec, entity_id)
    declared = definition_of(tenant_id, spec, item).triggered_transition(str(item[STATUS]), trigger)
    if declared is None:
        return None
    return apply(system_actor(tenant_id), spec, entity_id, declared.to, note, int(item["version"]), trigger)


def history(tenant_id: str, entity_type: EntityType | str, entity_id: str, params: PageParams) -> Page[HistoryEntry]:
    """One page of the entity's status changes, oldest first; ``NotFound`` when there is no such entity."""
    spec = spec_of(entity_type)
    load_entity(tenant_id, spec, entity_id)
    return paginate(
        Page[HistoryEntry],
        params,
        tenant_id=tenant_id,
        scope=f"workflow-history:{spec.entity_type.value}:{entity_id}",
        fetch=lambda start: store.list_history(tenant_id, spec.kind, entity_id, params.limit, start),
        convert=lambda entry: entry,
    )


def refresh_timers(tenant_id: str, entity_type: EntityType | str, entity_id: str) -> None:
    """Re-arm the timers of the entity's current status after a timestamp they count from changed (a
    rescheduled appointment's reminders). Timers counted from entering the status are left alone."""
    spec = spec_of(entity_type)
    runtime = store.get_runtime(tenant_id, spec.kind, entity_id)
    item = load_entity(tenant_id, spec, entity_id)
    if runtime.task_token is None or runtime.parked_status != item[STATUS]:
        return  # not parked in this status: the park that comes next computes its timer from the new value
    definition = definition_of(tenant_id, spec, item)
    timers = definition.status(str(item[STATUS])).timers
    if timers and timers[0].relative:
        machines.resume(runtime.task_token, definition, item, str(item[STATUS]), enter=False, timer=0)
