"""The workflow-tasks queue: the park and timer tasks the workflow machines send.

A park stores the task's token on the entity's runtime item for the next transition (or, when the entity has
already moved on, resumes the machine at once with the current status). A timer applies its transition through
the same code as the API, as the system actor, or records its reminder once, then tells the machine where to go
on. Each message is handled on its own (partial batch failures): a failure returns only that message to the
queue, and after the queue's redrive count to its DLQ. Handling is idempotent, so redelivery is harmless: a park
stores the same token again (or resumes a machine that is already ahead, which answers "stale token"), a timer
finds its transition already made or its reminder already claimed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.core import clock
from chalicelib.core.batch import Job, consume
from chalicelib.core.db.store import Table, TransactionConflict
from chalicelib.core.errors import Conflict
from chalicelib.core.formatting import moment_value
from chalicelib.core.observability import logger
from chalicelib.core.resources import QueueKind
from chalicelib.notifications.outbox import request_message_ops
from chalicelib.tenants.service import load_tenant
from chalicelib.workflows import machines, store, transitions
from chalicelib.workflows.entities import STATUS, EntitySpec, spec_of
from chalicelib.workflows.models import Recipient, TaskMessage, Timer
from chalicelib.workflows.service import system_actor

__all__ = ["handle_park", "handle_task", "handle_task_batch", "handle_timer"]

_TIMER_ATTEMPTS = 3
# A reminder whose moment passed longer ago than this is dropped: the entity entered its status too late for it
# (an appointment booked 2 h ahead skips its 24 h reminder), or it was rescheduled past it.
_REMINDER_GRACE = timedelta(minutes=10)
# A relative timer that fires more than this before its moment (the timestamp moved later) waits again.
_EARLY_TOLERANCE = timedelta(seconds=2)


class _MovedOn(Conflict):
    """Raised when a park arrives after the entity left the status the machine parked in."""


class _AlreadyReminded(Conflict):
    """Raised when a reminder's marker exists: a redelivered timer task sent it already."""


def _entity_of(message: TaskMessage) -> tuple[EntitySpec, dict[str, Any]] | None:
    """The entity a task is about; None (and its task ended) when it no longer exists."""
    spec = spec_of(message.entity_type)
    item = store.get_entity(message.tenant_id, spec.kind, message.entity_id)
    if item is None:
        logger.warning("workflow entity no longer exists", extra={"entity_type": message.entity_type.value})
        machines.fail_gone(message.task_token)
        return None
    return spec, item


def _normalized(moment: str) -> str:
    # Step Functions writes EnteredTime with milliseconds and "Z", moto with microseconds and "+00:00":
    # one format so that park times compare as strings.
    return datetime.fromisoformat(moment).astimezone(UTC).isoformat(timespec="microseconds")


def handle_park(message: TaskMessage) -> None:
    """A machine parked the entity in ``message.status``: keep its token on the entity for the next
    transition, or, when the entity has already moved on, resume the machine with the current status."""
    found = _entity_of(message)
    if found is None:
        return
    spec, item = found
    tenant_id, entity_id = message.tenant_id, message.entity_id
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
        item = transitions.load_entity(tenant_id, spec, entity_id)
    definition = transitions.definition_of(tenant_id, spec, item)
    machines.resume(message.task_token, definition, item, str(item[STATUS]), enter=True, timer=0)


def _recipient(spec: EntitySpec, item: Mapping[str, Any], to: Recipient) -> str | None:
    if to is Recipient.TENANT_ADMINS:
        return "role:ADMIN"
    if to is Recipient.CUSTOMER and item.get("platform"):
        return None  # a delivery platform's order: the platform talks to its customer
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
    definition = transitions.definition_of(message.tenant_id, spec, item)
    variables: dict[str, Any] = {
        "entityType": spec.entity_type.value,
        "entityId": message.entity_id,
        "status": message.status,
        # the tenant's own label in its locale (PUT /translations/{locale}) over the definition's
        "statusLabel": store.get_label_overrides(message.tenant_id, tenant.locale)
        .get(spec.entity_type, {})
        .get(message.status)
        or definition.label(message.status, tenant.locale),
    }
    if timer.before_field:
        moment = item.get(timer.before_field)  # the moment the reminder is about: shown in the tenant's zone
        variables[timer.before_field] = moment_value(moment) if isinstance(moment, str) and moment else moment
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
    for _ in range(_TIMER_ATTEMPTS):
        if item[STATUS] != message.status:
            return item
        try:
            return transitions.apply(actor, spec, message.entity_id, to, "timer", int(item["version"]), "timer").entity
        except Conflict:
            item = transitions.load_entity(message.tenant_id, spec, message.entity_id)
    return item


def handle_timer(message: TaskMessage) -> None:
    """A status timer fired: apply it (a transition, or a reminder), then tell the machine where to go on."""
    found = _entity_of(message)
    if found is None:
        return
    spec, item = found
    definition = transitions.definition_of(message.tenant_id, spec, item)
    if item[STATUS] != message.status:
        machines.resume(message.task_token, definition, item, str(item[STATUS]), enter=True, timer=0)
        return
    timer = definition.status(message.status).timers[message.timer]
    following = message.timer + 1
    if timer.relative:
        moment = machines.moment_of(item, timer)
        now = clock.now()
        if moment is not None and moment - now > _EARLY_TOLERANCE:
            machines.resume(message.task_token, definition, item, message.status, enter=False, timer=message.timer)
            return
        if moment is None or now - moment > _REMINDER_GRACE:
            machines.resume(message.task_token, definition, item, message.status, enter=False, timer=following)
            return
    if timer.transition_to is not None:
        item = _apply_timer_transition(message, spec, item, timer.transition_to)
        entered = item[STATUS] != message.status
        machines.resume(message.task_token, definition, item, str(item[STATUS]), enter=entered, timer=0)
        return
    _remind(message, spec, item, timer)
    machines.resume(message.task_token, definition, item, message.status, enter=False, timer=following)


def handle_task(body: str) -> None:
    """Handle one message of the workflow-tasks queue."""
    message = TaskMessage.model_validate_json(body)
    if message.kind == "park":
        handle_park(message)
    else:
        handle_timer(message)


def _job(job: Job) -> None:
    handle_task(job.body)


def handle_task_batch(event: dict[str, Any]) -> dict[str, Any]:
    """Handle an SQS batch of workflow tasks; returns the ``batchItemFailures`` Lambda expects."""
    return consume(event, _job, queue=QueueKind.WORKFLOW_TASKS)
