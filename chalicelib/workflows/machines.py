"""The Step Functions side of the workflow engine: a machine per compiled definition, an execution per entity,
and the answers to its parked and timer tasks.

Machines are named by a hash of their ASL and created on first use (infra may deploy the built-in ones ahead,
under the same names). A token that is no longer waiting (the task timed out, or someone answered it) is not an
error: someone else moved the machine on, and the timer task that follows catches up.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.core import aws, clock
from chalicelib.core.config import get_settings
from chalicelib.core.observability import logger
from chalicelib.core.resources import QueueKind, queue_name, queue_url
from chalicelib.workflows.compiler import (
    ENTITY_GONE,
    TEMPLATE_QUEUES,
    compile_definition,
    machine_input,
    machine_name,
    resume_output,
)
from chalicelib.workflows.entities import STATUS
from chalicelib.workflows.models import EntityType, Timer, WorkflowDefinition

__all__ = ["ensure_machine", "fail_gone", "moment_of", "resume", "start_execution"]

_STALE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
_EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _queue_urls() -> dict[QueueKind, str]:
    return {kind: queue_url(queue_name(kind)) for kind in TEMPLATE_QUEUES}


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
        if _error_code(exc) != "StateMachineAlreadyExists":
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


def moment_of(entity: Mapping[str, Any], timer: Timer) -> datetime | None:
    """When a relative timer fires for ``entity`` (its ``beforeField`` minus ``beforeSeconds``); None when the
    entity has no such timestamp."""
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
    moment = moment_of(entity, timers[timer])
    if moment is None:
        return 1
    return max(1, math.ceil((moment - clock.now()).total_seconds()))


def start_execution(
    tenant_id: str, entity_type: EntityType, entity_id: str, definition: WorkflowDefinition, entity: Mapping[str, Any]
) -> str:
    """Start the entity's execution in its current status; returns its ARN (the one already started, when an
    earlier attempt did)."""
    machine = ensure_machine(definition)
    status = str(entity[STATUS])
    state = machine_input(
        tenant_id,
        entity_type.value,
        entity_id,
        status,
        enter=True,
        timer=0,
        timer_seconds=_timer_seconds(definition, entity, status, 0),
    )
    name = _execution_name(tenant_id, entity_type, entity_id)
    try:
        started = aws.stepfunctions().start_execution(stateMachineArn=machine, name=name, input=json.dumps(state))
    except ClientError as exc:
        # Started by an earlier attempt whose status has changed since: that execution is the entity's.
        if _error_code(exc) != "ExecutionAlreadyExists":
            raise
        return f"{machine.replace(':stateMachine:', ':execution:')}:{name}"
    return str(started["executionArn"])


def resume(
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
        code = _error_code(exc)
        if code not in _STALE_TOKEN_ERRORS:
            raise
        logger.info("workflow task token no longer waiting", extra={"code": code, "status": status})


def fail_gone(token: str) -> None:
    """End a task whose entity no longer exists (the machine ends its execution on ``ENTITY_GONE``)."""
    try:
        aws.stepfunctions().send_task_failure(taskToken=token, error=ENTITY_GONE, cause="the entity no longer exists")
    except ClientError as exc:
        if _error_code(exc) not in _STALE_TOKEN_ERRORS:
            raise
