"""The workflow engine: what entity capabilities (orders, appointments…) call to run their statuses.

An owner registers its entity type at import (``register_entity``), puts ``initial_fields`` on each new
entity item, calls ``start`` once the item exists, and routes status changes through ``transition``. DynamoDB
is the source of truth: a transition is validated (the definition version the entity started with, the
actor's role, the current status, the version) and written in one conditional transaction with its history
item, its ``<entity_type>.status_changed`` event, its audit entry and the owner's own writes. The entity's
Step Functions execution follows: it is parked on a waitForTaskToken task whose token the worker stored, and
the transition resumes it with SendTaskSuccess. Timers and reminders come back from the machine through the
workflow-tasks queue (``handle_park`` / ``handle_timer``, called by ``tasks``) and go through the same
transition code as the API, as the system actor.

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

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.core import aws, clock
from chalicelib.core.config import get_settings
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, VersionConflict, WriteOp, update_op
from chalicelib.core.db.table import strip_storage
from chalicelib.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.observability import logger
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.core.resources import QueueKind, queue_name, queue_url
from chalicelib.notifications.outbox import request_message_ops
from chalicelib.tenants.service import load_tenant
from chalicelib.workflows import store
from chalicelib.workflows.compiler import (
    ENTITY_GONE,
    PLACEHOLDER_QUEUES,
    compile_definition,
    machine_input,
    machine_name,
    resume_output,
)
from chalicelib.workflows.models import (
    EntityType,
    HistoryEntry,
    Recipient,
    TaskMessage,
    Timer,
    WorkflowDefinition,
)
from chalicelib.workflows.service import system_actor, version_for_new_entity, workflow_version

__all__ = [
    "STATUS",
    "STATUS_CHANGED_AT",
    "WORKFLOW_VERSION",
    "EntitySpec",
    "OnTransition",
    "TransitionContext",
    "TransitionEffects",
    "TransitionResult",
    "ensure_machine",
    "find_entity",
    "handle_park",
    "handle_timer",
    "history",
    "initial_fields",
    "refresh_timers",
    "register_entity",
    "registry",
    "start",
    "transition",
]

Trigger = Literal["user", "timer"]
# Attributes of the entity item the engine sets and owners must not change themselves.
STATUS = "status"
STATUS_CHANGED_AT = "statusChangedAt"
WORKFLOW_VERSION = "workflowVersion"
_OWN_ATTRIBUTES = frozenset({STATUS, STATUS_CHANGED_AT, WORKFLOW_VERSION, "version", "PK", "SK"})
_TOKEN_RACE_ATTEMPTS = 3
# A reminder whose moment passed longer ago than this is dropped: the entity entered its status too late for it
# (an appointment booked 2 h ahead skips its 24 h reminder), or it was rescheduled past it.
_REMINDER_GRACE = timedelta(minutes=10)
# A relative timer that fires more than this before its moment (the timestamp moved later) waits again.
_EARLY_TOLERANCE = timedelta(seconds=2)
_STALE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
_EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


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
    ``<entity_type>.status_changed`` event.
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


class _MovedOn(Conflict):
    """Raised when a park arrives after the entity left the status the machine parked in."""


class _AlreadyReminded(Conflict):
    """Raised when a reminder's marker exists: a redelivered timer task sent it already."""


# Filled at import by the owner modules (``register_entity``); tests may swap entries (monkeypatch.setitem).
registry: dict[EntityType, EntitySpec] = {}


def register_entity(
    entity_type: EntityType | str,
    kind: Kind,
    on_transition: OnTransition | None = None,
    *,
    customer_field: str = "customerId",
    assignee_field: str = "assignedTo",
) -> EntitySpec:
    """Declare that entities of ``entity_type`` (items at ``entity_pk(tenant, kind, id)``, SK META) run a workflow.

    Call it at import of the owner's service module (the queue worker imports the app, hence every owner).
    Registering the same type twice with a different spec is a programming error (``ValueError``).
    """
    spec = EntitySpec(EntityType(entity_type), kind, on_transition, customer_field, assignee_field)
    known = registry.get(spec.entity_type)
    if known is not None and known != spec:
        raise ValueError(f"{spec.entity_type.value} is already registered with another spec")
    registry[spec.entity_type] = spec
    return spec


def _spec(entity_type: EntityType | str) -> EntitySpec:
    try:
        return registry[EntityType(entity_type)]
    except (KeyError, ValueError) as exc:
        raise LookupError(f"no capability registered entity type {entity_type!r} with the workflow engine") from exc


# --- machines -------------------------------------------------------------------------------------------------


def _queue_urls() -> dict[QueueKind, str]:
    return {kind: queue_url(queue_name(kind)) for kind in PLACEHOLDER_QUEUES}


def _machine_arn(name: str) -> str:
    # Same account as the role the machines run with; the region is ours.
    parts = get_settings().workflow_role_arn.split(":")
    return f"arn:{parts[1]}:states:{get_settings().region}:{parts[4]}:stateMachine:{name}"


@cache
def _create_machine(name: str, asl: str) -> str:
    try:
        response = aws.stepfunctions().create_state_machine(
            name=name, definition=asl, roleArn=get_settings().workflow_role_arn, type="STANDARD"
        )
    except ClientError as exc:
        # Deployed ahead by infra (same name: same flow), possibly byte-different ASL: use it.
        if exc.response.get("Error", {}).get("Code") != "StateMachineAlreadyExists":
            raise
        return _machine_arn(name)
    return str(response["stateMachineArn"])


def ensure_machine(definition: WorkflowDefinition) -> str:
    """The ARN of the state machine running ``definition``, created on first use (idempotent, shared by every
    tenant and version that compiles to the same machine)."""
    name = machine_name(definition, get_settings().resource_prefix)
    return _create_machine(name, json.dumps(compile_definition(definition, _queue_urls())))


def _execution_name(tenant_id: str, entity_type: EntityType, entity_id: str) -> str:
    name = f"{tenant_id}-{entity_id}"
    if _EXECUTION_NAME.match(name):
        return name
    return hashlib.sha256(f"{tenant_id}\n{entity_type.value}\n{entity_id}".encode()).hexdigest()[:64]


def _moment(entity: Mapping[str, Any], timer: Timer) -> datetime | None:
    value = entity.get(timer.before_field or "")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment - timedelta(seconds=timer.before_seconds or 0)


def _timer_seconds(definition: WorkflowDefinition, entity: Mapping[str, Any], status: str, timer: int) -> int:
    """The wait of a relative timer from now (at least 1 s, as Step Functions requires); 0 when unused."""
    if not definition.has_status(status):
        return 0
    timers = definition.status(status).timers
    if timer >= len(timers) or not timers[timer].relative:
        return 0
    moment = _moment(entity, timers[timer])
    if moment is None:
        return 1
    return max(1, math.ceil((moment - clock.now()).total_seconds()))


def _resume(
    token: str, definition: WorkflowDefinition, entity: Mapping[str, Any], status: str, *, enter: bool, timer: int
) -> None:
    """Answer a parked or timer task: go on in ``status`` (its actions first when ``enter``), next timer ``timer``.

    A stale token (the task timed out, or was answered already) is not an error: someone else moved the
    machine on, and the timer task that follows catches up.
    """
    output = resume_output(
        status, enter=enter, timer=timer, timer_seconds=_timer_seconds(definition, entity, status, timer)
    )
    try:
        aws.stepfunctions().send_task_success(taskToken=token, output=json.dumps(output))
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code not in _STALE_TOKEN_ERRORS:
            raise
        logger.info("workflow task token no longer waiting", extra={"code": code, "status": status})


def _resume_after_commit(
    spec: EntitySpec, tenant_id: str, entity_id: str, token: str, definition: WorkflowDefinition, entity: dict[str, Any]
) -> None:
    # The committed transition stands whatever Step Functions says. When it cannot be reached, the token goes
    # back on the entity: the next transition (or the status's timer) resumes the machine with the status of
    # that moment, and the machine catches up.
    status = str(entity[STATUS])
    try:
        _resume(token, definition, entity, status, enter=True, timer=0)
    except (ClientError, BotoCoreError):
        logger.exception("could not resume the workflow execution", extra={"status": status})
        try:
            Table().transact([store.restore_token_op(tenant_id, spec.kind, entity_id, token)])
        except TransactionConflict:
            logger.info("a newer park holds the entity; the older token is dropped")


# --- entity lifecycle -----------------------------------------------------------------------------------------


def initial_fields(tenant_id: str, entity_type: EntityType | str) -> dict[str, Any]:
    """The attributes a new entity item starts with: ``status`` (the initial one), ``statusChangedAt`` and
    ``workflowVersion`` (the definition version it keeps). The owner still sets ``version`` (1)."""
    record = version_for_new_entity(tenant_id, _spec(entity_type).entity_type)
    return {
        STATUS: record.definition.initial,
        STATUS_CHANGED_AT: clock.now_iso(),
        WORKFLOW_VERSION: record.version,
    }


def find_entity(tenant_id: str, entity_type: EntityType | str, entity_id: str) -> dict[str, Any] | None:
    """The stored item of an entity the engine runs (read consistently), or None when it is gone."""
    return store.get_entity(tenant_id, _spec(entity_type).kind, entity_id)


def _load(tenant_id: str, spec: EntitySpec, entity_id: str) -> dict[str, Any]:
    item = store.get_entity(tenant_id, spec.kind, entity_id)
    if item is None:
        raise NotFound(detail=f"no {spec.entity_type.value.replace('_', ' ')} {entity_id}")
    return item


def _definition(tenant_id: str, spec: EntitySpec, item: Mapping[str, Any]) -> WorkflowDefinition:
    return workflow_version(tenant_id, spec.entity_type, int(item[WORKFLOW_VERSION])).definition


def start(tenant_id: str, entity_type: EntityType | str, entity_id: str) -> str:
    """Start the entity's execution (after its item is written); returns the execution ARN.

    Idempotent: a second call returns the execution already started.
    """
    spec = _spec(entity_type)
    runtime = store.get_runtime(tenant_id, spec.kind, entity_id)
    if runtime.execution_arn:
        return runtime.execution_arn
    item = _load(tenant_id, spec, entity_id)
    definition = _definition(tenant_id, spec, item)
    machine = ensure_machine(definition)
    status = str(item[STATUS])
    state = machine_input(
        tenant_id,
        spec.entity_type.value,
        entity_id,
        status,
        enter=True,
        timer=0,
        timer_seconds=_timer_seconds(definition, item, status, 0),
    )
    name = _execution_name(tenant_id, spec.entity_type, entity_id)
    try:
        arn = str(
            aws.stepfunctions().start_execution(stateMachineArn=machine, name=name, input=json.dumps(state))[
                "executionArn"
            ]
        )
    except ClientError as exc:
        # Started by an earlier attempt whose status has changed since: that execution is the entity's.
        if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        arn = f"{machine.replace(':stateMachine:', ':execution:')}:{name}"
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


def _transition(
    actor: Principal,
    spec: EntitySpec,
    entity_id: str,
    to: str,
    note: str | None,
    expected_version: int,
    trigger: Trigger,
) -> TransitionResult:
    tenant_id = actor.tenant_id
    for _ in range(_TOKEN_RACE_ATTEMPTS):
        item = _load(tenant_id, spec, entity_id)
        version = int(item["version"])
        if version != expected_version:
            raise VersionConflict(
                detail=f"the {spec.entity_type.value} is at version {version}, not {expected_version}; reload and retry"
            )
        definition = _definition(tenant_id, spec, item)
        current = str(item[STATUS])
        _check(definition, current, to, actor, trigger)
        moment = clock.now()
        at = clock.isoformat(moment)
        context = TransitionContext(
            tenant_id,
            spec.entity_type,
            entity_id,
            strip_storage(item),
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
        after = {**strip_storage(item), **changes, "version": version + 1}
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
    return _transition(actor, _spec(entity_type), entity_id, to, note, expected_version, "user")


def history(tenant_id: str, entity_type: EntityType | str, entity_id: str, params: PageParams) -> Page[HistoryEntry]:
    """One page of the entity's status changes, oldest first; ``NotFound`` when there is no such entity."""
    spec = _spec(entity_type)
    _load(tenant_id, spec, entity_id)
    return paginate(
        Page[HistoryEntry],
        params,
        tenant_id=tenant_id,
        scope=f"workflow-history:{spec.entity_type.value}:{entity_id}",
        fetch=lambda start: store.list_history(tenant_id, spec.kind, entity_id, params.limit, start),
        convert=lambda item: HistoryEntry.model_validate(strip_storage(item)),
    )


def refresh_timers(tenant_id: str, entity_type: EntityType | str, entity_id: str) -> None:
    """Re-arm the timers of the entity's current status after a timestamp they count from changed (a
    rescheduled appointment's reminders). Timers counted from entering the status are left alone."""
    spec = _spec(entity_type)
    runtime = store.get_runtime(tenant_id, spec.kind, entity_id)
    item = _load(tenant_id, spec, entity_id)
    if runtime.task_token is None or runtime.parked_status != item[STATUS]:
        return  # not parked in this status: the park that comes next computes its timer from the new value
    definition = _definition(tenant_id, spec, item)
    timers = definition.status(str(item[STATUS])).timers
    if timers and timers[0].relative:
        _resume(runtime.task_token, definition, item, str(item[STATUS]), enter=False, timer=0)


# --- tasks from the machines (workflow-tasks queue) -------------------------------------------------------------


def _entity_gone(message: TaskMessage) -> None:
    logger.warning("workflow entity no longer exists", extra={"entity_type": message.entity_type.value})
    try:
        aws.stepfunctions().send_task_failure(
            taskToken=message.task_token, error=ENTITY_GONE, cause="the entity no longer exists"
        )
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code", "")) not in _STALE_TOKEN_ERRORS:
            raise


def _normalized(moment: str) -> str:
    # Step Functions writes EnteredTime with milliseconds and "Z", moto with microseconds and "+00:00":
    # one format so that park times compare as strings.
    return datetime.fromisoformat(moment).astimezone(UTC).isoformat(timespec="microseconds")


def handle_park(message: TaskMessage) -> None:
    """A machine parked the entity in ``message.status``: keep its token on the entity for the next
    transition, or, when the entity has already moved on, resume the machine with the current status."""
    spec = _spec(message.entity_type)
    tenant_id, entity_id = message.tenant_id, message.entity_id
    item = store.get_entity(tenant_id, spec.kind, entity_id)
    if item is None:
        _entity_gone(message)
        return
    if item[STATUS] == message.status:
        ops = store.park_ops(
            tenant_id,
            spec.kind,
            entity_id,
            status=message.status,
            token=message.task_token,
            timer=message.timer,
            parked_at=_normalized(message.parked_at),
            moved_on=_MovedOn(),
        )
        try:
            Table().transact(ops)
            return
        except _MovedOn:
            pass  # resumed below with the status it is in now
        except TransactionConflict:
            logger.info("older park message ignored", extra={"status": message.status})
            return
        item = _load(tenant_id, spec, entity_id)
    _resume(message.task_token, _definition(tenant_id, spec, item), item, str(item[STATUS]), enter=True, timer=0)


def _recipient(spec: EntitySpec, item: Mapping[str, Any], to: Recipient) -> str | None:
    if to is Recipient.TENANT_ADMINS:
        return "role:ADMIN"
    value = item.get(spec.customer_field if to is Recipient.CUSTOMER else spec.assignee_field)
    prefix = "customer" if to is Recipient.CUSTOMER else "user"
    return f"{prefix}:{value}" if value else None


def _remind(message: TaskMessage, spec: EntitySpec, item: Mapping[str, Any], timer: Timer) -> None:
    reminder = timer.remind
    if reminder is None:
        return
    to = _recipient(spec, item, reminder.to)
    if to is None:
        logger.info("reminder without a recipient skipped", extra={"to": reminder.to.value})
        return
    tenant = load_tenant(message.tenant_id)
    definition = _definition(message.tenant_id, spec, item)
    variables: dict[str, Any] = {
        "entityType": spec.entity_type.value,
        "entityId": message.entity_id,
        "status": message.status,
        "statusLabel": definition.label(message.status, tenant.locale),
    }
    if timer.before_field:
        variables[timer.before_field] = item.get(timer.before_field)
    marker = hashlib.sha256(message.task_token.encode()).hexdigest()[:40]
    try:
        Table().transact(
            [
                store.reminder_marker_op(message.tenant_id, spec.kind, message.entity_id, marker).on_conflict(
                    _AlreadyReminded()
                ),
                *request_message_ops(
                    message.tenant_id, reminder.channel, to, reminder.template, tenant.locale, variables
                ),
            ]
        )
    except _AlreadyReminded:
        logger.info("reminder already sent", extra={"template": reminder.template})


def _apply_timer_transition(message: TaskMessage, spec: EntitySpec, item: dict[str, Any], to: str) -> dict[str, Any]:
    """Apply the timer's transition as the system actor; returns the entity as it ends up (ours or another's)."""
    actor = system_actor(message.tenant_id)
    for _ in range(_TOKEN_RACE_ATTEMPTS):
        if item[STATUS] != message.status:
            return item
        try:
            return _transition(actor, spec, message.entity_id, to, "timer", int(item["version"]), "timer").entity
        except Conflict:
            item = _load(message.tenant_id, spec, message.entity_id)
    return item


def handle_timer(message: TaskMessage) -> None:
    """A status timer fired: apply it (a transition, or a reminder), then tell the machine where to go on."""
    spec = _spec(message.entity_type)
    tenant_id, entity_id = message.tenant_id, message.entity_id
    item = store.get_entity(tenant_id, spec.kind, entity_id)
    if item is None:
        _entity_gone(message)
        return
    definition = _definition(tenant_id, spec, item)
    if item[STATUS] != message.status:
        _resume(message.task_token, definition, item, str(item[STATUS]), enter=True, timer=0)
        return
    timer = definition.status(message.status).timers[message.timer]
    following = message.timer + 1
    if timer.relative:
        moment = _moment(item, timer)
        now = clock.now()
        if moment is not None and moment - now > _EARLY_TOLERANCE:
            _resume(message.task_token, definition, item, message.status, enter=False, timer=message.timer)
            return
        if moment is None or now - moment > _REMINDER_GRACE:
            _resume(message.task_token, definition, item, message.status, enter=False, timer=following)
            return
    if timer.transition_to is not None:
        item = _apply_timer_transition(message, spec, item, timer.transition_to)
        _resume(message.task_token, definition, item, str(item[STATUS]), enter=item[STATUS] != message.status, timer=0)
        return
    _remind(message, spec, item, timer)
    _resume(message.task_token, definition, item, message.status, enter=False, timer=following)
