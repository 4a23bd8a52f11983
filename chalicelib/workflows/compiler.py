"""Compiles a workflow definition to an Amazon States Language machine (Standard) that runs one entity.

Shape of the machine (its state is ``{tenantId, entityType, entityId, status, enter, timer, timerSeconds}``):

- ``Route`` (Choice on ``$.status``): to the on-enter actions of the status when ``enter`` is true, else to the
  park state of the status's next timer (``timer``).
- ``<STATUS>.OnEnter.<i>.<kind>``: an ``sqs:sendMessage`` Task per on-enter action, to the action's job queue
  (notify → notifications, emit_webhook → webhook-deliveries, the others → integrations). A failed send is
  retried, then skipped: an action never stops the flow.
- ``<STATUS>.Park.<k>``: ``sqs:sendMessage.waitForTaskToken`` to the workflow-tasks queue with a ``park``
  message; the worker stores the token on the entity, and a transition resumes it with SendTaskSuccess. Its
  timeout is the status's timer ``k`` (``TimeoutSeconds`` counted from entering, or ``TimeoutSecondsPath``
  ``$.timerSeconds`` for a timer before one of the entity's timestamps, computed by the engine). The last
  park of a status has no timer.
- On ``States.Timeout``: ``<STATUS>.Timer.<k>`` sends a ``timer`` message (also waitForTaskToken); the worker
  applies the timer (a transition through the same service as the API, or a reminder) and answers.
- Every answer is ``{status, enter, timer, timerSeconds}``: ``Resume`` (Pass) puts it into the state, back to
  ``Route``. Terminal statuses run their actions and end in ``<STATUS>.Done`` (Succeed).

No Lambda tasks: SQS integrations run the same in AWS and in moto, so the tests execute these machines.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.core.resources import QueueKind
from chalicelib.workflows.models import Action, StatusDef, Timer, WorkflowDefinition

__all__ = [
    "ACTION_QUEUES",
    "TEMPLATE_QUEUES",
    "CompiledMachine",
    "compile_definition",
    "default_machines",
    "machine_input",
    "machine_name",
    "park_state",
    "resume_output",
]

ROUTE = "Route"
RESUME = "Resume"
UNKNOWN = "UnknownStatus"
SEND = "arn:aws:states:::sqs:sendMessage"
SEND_AND_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
# The error a worker reports (SendTaskFailure) when the entity no longer exists: the execution ends.
ENTITY_GONE = "Workflow.EntityGone"

ACTION_QUEUES: dict[str, QueueKind] = {
    "notify": QueueKind.NOTIFICATIONS,
    "emit_webhook": QueueKind.WEBHOOK_DELIVERIES,
    "create_invoice": QueueKind.INTEGRATIONS,
    "create_calendar_event": QueueKind.INTEGRATIONS,
    "send_payment_link": QueueKind.INTEGRATIONS,
}
_USED_QUEUES = (QueueKind.WORKFLOW_TASKS, QueueKind.NOTIFICATIONS, QueueKind.WEBHOOK_DELIVERIES, QueueKind.INTEGRATIONS)
# Stand-ins for queue URLs: a machine's name hashes its ASL with these, so that it is the same in every
# environment and infra (CDK tokens) and the runtime (real URLs) agree on it.
TEMPLATE_QUEUES: dict[QueueKind, str] = {kind: f"${{{kind.value}}}" for kind in _USED_QUEUES}

_IDENTITY = {"tenantId.$": "$.tenantId", "entityType.$": "$.entityType", "entityId.$": "$.entityId"}
_ANSWER = ("status", "enter", "timer", "timerSeconds")


def machine_input(
    tenant_id: str, entity_type: str, entity_id: str, status: str, *, enter: bool, timer: int, timer_seconds: int
) -> dict[str, Any]:
    """The state a machine starts with: the entity, its status, and where in that status to go."""
    return {
        "tenantId": tenant_id,
        "entityType": entity_type,
        "entityId": entity_id,
        **resume_output(status, enter=enter, timer=timer, timer_seconds=timer_seconds),
    }


def resume_output(status: str, *, enter: bool, timer: int, timer_seconds: int) -> dict[str, Any]:
    """What a worker answers a parked or timer task with (SendTaskSuccess output).

    ``enter``: run the status's on-enter actions first (a new status); ``timer``: which of its timers to wait
    for next; ``timerSeconds``: that wait when the timer is relative to a timestamp of the entity.
    """
    return {"status": status, "enter": enter, "timer": timer, "timerSeconds": timer_seconds}


def park_state(status: str, timer: int) -> str:
    """Name of the state that parks an entity in ``status`` waiting for its timer ``timer``."""
    return f"{status}.Park.{timer}"


def _timer_state(status: str, timer: int) -> str:
    return f"{status}.Timer.{timer}"


def _action_state(status: str, index: int, action: Action) -> str:
    return f"{status}.OnEnter.{index + 1}.{action.kind}"


def _done_state(status: str) -> str:
    return f"{status}.Done"


def _task_message(kind: str, status: str, timer: int) -> dict[str, Any]:
    return {
        "kind": kind,
        "taskToken.$": "$$.Task.Token",
        **_IDENTITY,
        "status": status,
        "timer": timer,
        "parkedAt.$": "$$.State.EnteredTime",
        "executionId.$": "$$.Execution.Id",
    }


def _waiting_task(queue_url: str, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": SEND_AND_WAIT,
        "Parameters": {"QueueUrl": queue_url, "MessageBody": message},
        "ResultSelector": {f"{name}.$": f"$.{name}" for name in _ANSWER},
        "ResultPath": "$.resume",
        "Retry": [
            {"ErrorEquals": [ENTITY_GONE], "MaxAttempts": 0},
            {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0},
        ],
        "Next": RESUME,
    }


def _timeout(timers: list[Timer], k: int) -> dict[str, Any]:
    timer = timers[k]
    if timer.relative:
        return {"TimeoutSecondsPath": "$.timerSeconds"}
    previous = timers[k - 1].after_seconds if k > 0 else 0
    return {"TimeoutSeconds": int(timer.after_seconds or 0) - int(previous or 0)}


def _status_states(status: StatusDef, queues: Mapping[QueueKind, str]) -> dict[str, Any]:
    states: dict[str, Any] = {}
    after_actions = _done_state(status.name) if status.terminal else park_state(status.name, 0)
    for i, action in enumerate(status.on_enter):
        following = (
            _action_state(status.name, i + 1, status.on_enter[i + 1]) if i + 1 < len(status.on_enter) else after_actions
        )
        params = action.model_dump(mode="json", exclude={"kind"})
        states[_action_state(status.name, i, action)] = {
            "Type": "Task",
            "Resource": SEND,
            "Parameters": {
                "QueueUrl": queues[ACTION_QUEUES[action.kind]],
                "MessageBody": {
                    "source": "workflow",
                    "action": action.kind,
                    **_IDENTITY,
                    "status": status.name,
                    "executionId.$": "$$.Execution.Id",
                    "state.$": "$$.State.Name",
                    "enteredAt.$": "$$.State.EnteredTime",
                    **params,
                },
            },
            "ResultPath": None,
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2.0}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.actionError", "Next": following}],
            "Next": following,
        }
    if status.terminal:
        states[_done_state(status.name)] = {"Type": "Succeed"}
        return states
    tasks = queues[QueueKind.WORKFLOW_TASKS]
    for k in range(len(status.timers) + 1):
        park = _waiting_task(tasks, _task_message("park", status.name, k))
        if k < len(status.timers):
            park.update(_timeout(status.timers, k))
            park["Catch"] = [
                {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": _timer_state(status.name, k)}
            ]
            states[_timer_state(status.name, k)] = _waiting_task(tasks, _task_message("timer", status.name, k))
        states[park_state(status.name, k)] = park
    return states


def _entry(status: StatusDef) -> str:
    if status.on_enter:
        return _action_state(status.name, 0, status.on_enter[0])
    return _done_state(status.name) if status.terminal else park_state(status.name, 0)


def _route(definition: WorkflowDefinition) -> dict[str, Any]:
    choices: list[dict[str, Any]] = []
    for status in definition.statuses:
        is_status = {"Variable": "$.status", "StringEquals": status.name}
        if status.terminal:
            choices.append({**is_status, "Next": _entry(status)})
            continue
        if status.on_enter:
            choices.append({"And": [is_status, {"Variable": "$.enter", "BooleanEquals": True}], "Next": _entry(status)})
        for k in range(1, len(status.timers) + 1):
            choices.append(
                {
                    "And": [is_status, {"Variable": "$.timer", "NumericEquals": k}],
                    "Next": park_state(status.name, k),
                }
            )
        choices.append({**is_status, "Next": park_state(status.name, 0)})
    return {"Type": "Choice", "Choices": choices, "Default": UNKNOWN}


def compile_definition(definition: WorkflowDefinition, queues: Mapping[QueueKind, str]) -> dict[str, Any]:
    """The ASL document of ``definition``, sending to ``queues`` (queue kind → URL)."""
    states: dict[str, Any] = {
        ROUTE: _route(definition),
        RESUME: {
            "Type": "Pass",
            "Parameters": {**_IDENTITY, **{f"{name}.$": f"$.resume.{name}" for name in _ANSWER}},
            "Next": ROUTE,
        },
        UNKNOWN: {"Type": "Fail", "Error": "Workflow.UnknownStatus", "Cause": "the status is not in this workflow"},
    }
    for status in definition.statuses:
        states.update(_status_states(status, queues))
    return {
        "Comment": f"BTRIX {definition.entity_type.value} workflow: {' / '.join(s.name for s in definition.statuses)}",
        "StartAt": ROUTE,
        "States": states,
    }


def machine_name(definition: WorkflowDefinition, prefix: str) -> str:
    """The state machine's name: ``<prefix>-wf-<entityType>-<hash of its ASL>``.

    Named by content, so that every tenant and version whose flow compiles to the same machine (the built-in
    defaults, a change of roles or labels only) shares one state machine: executions carry the tenant.
    """
    asl = json.dumps(compile_definition(definition, TEMPLATE_QUEUES), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(asl.encode()).hexdigest()[:16]
    return f"{prefix}-wf-{definition.entity_type.value.replace('_', '-')}-{digest}"


@dataclass(frozen=True)
class CompiledMachine:
    """A built-in workflow compiled for deployment."""

    name: str
    flow: str
    entity_type: str
    definition: dict[str, Any]


def default_machines(queues: Mapping[QueueKind, str], prefix: str) -> list[CompiledMachine]:
    """Every built-in workflow compiled to ASL with ``queues`` (for infra to deploy them ahead of first use).

    The runtime finds them by name (``machine_name``), which does not depend on the queue URLs.
    """
    from chalicelib.workflows.defaults import all_defaults

    machines: dict[str, CompiledMachine] = {}
    for flow, definition in all_defaults():
        name = machine_name(definition, prefix)
        machines.setdefault(
            name, CompiledMachine(name, flow, definition.entity_type.value, compile_definition(definition, queues))
        )
    return list(machines.values())
