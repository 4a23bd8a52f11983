"""The ASL compiler: the machine's shape per status, its timers, and names that do not depend on the stage."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core.resources import QueueKind
from chalicelib.tenants.models import BusinessType
from chalicelib.workflows.compiler import (
    TEMPLATE_QUEUES,
    compile_definition,
    default_machines,
    machine_name,
)
from chalicelib.workflows.defaults import all_defaults, default_definition
from chalicelib.workflows.models import EntityType, WorkflowDefinition

QUEUES = {kind: f"https://sqs.us-east-1.amazonaws.com/123456789012/btrix-dev-{kind.value}" for kind in TEMPLATE_QUEUES}


def _restaurant() -> tuple[WorkflowDefinition, dict[str, Any]]:
    _, flow = default_definition(BusinessType.RESTAURANT, EntityType.ORDER)
    return flow, compile_definition(flow, QUEUES)


def test_route_dispatches_every_status_and_unknown_ones_fail() -> None:
    flow, asl = _restaurant()
    route = asl["States"][asl["StartAt"]]
    assert route["Type"] == "Choice"
    routed = {c.get("StringEquals") or c["And"][0]["StringEquals"] for c in route["Choices"]}
    assert routed == {s.name for s in flow.statuses}
    assert asl["States"][route["Default"]]["Type"] == "Fail"


def test_a_status_parks_on_the_tasks_queue_and_its_timer_catches_the_timeout() -> None:
    _, asl = _restaurant()
    park = asl["States"]["PENDING.Park.0"]
    assert park["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    assert park["Parameters"]["QueueUrl"] == QUEUES[QueueKind.WORKFLOW_TASKS]
    assert park["Parameters"]["MessageBody"]["taskToken.$"] == "$$.Task.Token"
    assert park["Parameters"]["MessageBody"]["kind"] == "park"
    assert park["TimeoutSeconds"] == 900
    (catch,) = park["Catch"]
    assert catch["ErrorEquals"] == ["States.Timeout"]
    timer = asl["States"][catch["Next"]]
    assert timer["Parameters"]["MessageBody"]["kind"] == "timer"
    assert timer["Next"] == park["Next"] == "Resume"
    # After its only timer, PENDING parks without a timeout.
    assert "TimeoutSeconds" not in asl["States"]["PENDING.Park.1"]


def test_on_enter_actions_go_to_their_job_queues_and_terminal_statuses_succeed() -> None:
    _, asl = _restaurant()
    notify = asl["States"]["PENDING.OnEnter.1.notify"]
    assert notify["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert notify["Parameters"]["QueueUrl"] == QUEUES[QueueKind.NOTIFICATIONS]
    assert notify["Parameters"]["MessageBody"]["template"] == "order.received"
    assert notify["Next"] == "PENDING.OnEnter.2.notify"
    webhook = asl["States"]["COMPLETED.OnEnter.1.emit_webhook"]
    assert webhook["Parameters"]["QueueUrl"] == QUEUES[QueueKind.WEBHOOK_DELIVERIES]
    assert asl["States"][webhook["Next"]] == {"Type": "Succeed"}


def test_no_state_invokes_a_lambda() -> None:
    for name, definition in all_defaults():
        text = json.dumps(compile_definition(definition, QUEUES))
        assert "lambda" not in text.lower(), name


def test_timers_before_a_timestamp_wait_for_the_seconds_the_engine_computes() -> None:
    _, flow = default_definition(BusinessType.CLINIC, EntityType.APPOINTMENT)
    asl = compile_definition(flow, QUEUES)
    assert asl["States"]["CONFIRMED.Park.0"]["TimeoutSecondsPath"] == "$.timerSeconds"
    assert asl["States"]["CONFIRMED.Park.1"]["TimeoutSecondsPath"] == "$.timerSeconds"
    assert "TimeoutSecondsPath" not in asl["States"]["CONFIRMED.Park.2"]


def test_fixed_timers_count_from_entering_the_status() -> None:
    flow = WorkflowDefinition.model_validate(
        {
            "entityType": "lead",
            "initial": "NEW",
            "statuses": [
                {
                    "name": "NEW",
                    "timers": [
                        {"afterSeconds": 60, "remind": {"template": "a", "channel": "push", "to": "assigned_user"}},
                        {"afterSeconds": 300, "transitionTo": "LOST"},
                    ],
                },
                {"name": "LOST", "terminal": True},
            ],
            "transitions": [{"from": "NEW", "to": "LOST", "roles": ["SALES_REP"]}],
        }
    )
    states = compile_definition(flow, QUEUES)["States"]
    assert (states["NEW.Park.0"]["TimeoutSeconds"], states["NEW.Park.1"]["TimeoutSeconds"]) == (60, 240)


def test_machine_names_depend_on_the_flow_not_on_queue_urls_roles_or_labels() -> None:
    flow, _ = _restaurant()
    relabelled = flow.model_copy(deep=True)
    relabelled.statuses[0].labels = {"en-US": "Waiting"}
    relabelled.transitions[0].roles = ["ADMIN"]  # type: ignore[list-item]
    assert machine_name(flow, "btrix-dev") == machine_name(relabelled, "btrix-dev")
    assert machine_name(flow, "btrix-dev").startswith("btrix-dev-wf-order-")
    assert len(machine_name(flow, "btrix-prod")) <= 80
    _, retail = default_definition(BusinessType.RETAIL, EntityType.ORDER)
    assert machine_name(retail, "btrix-dev") != machine_name(flow, "btrix-dev")


def test_default_machines_lists_each_built_in_flow_once_for_infra() -> None:
    machines = default_machines(QUEUES, "btrix-dev")
    assert len({m.name for m in machines}) == len(machines)
    assert {m.entity_type for m in machines} == {t.value for t in EntityType}
    restaurant = next(m for m in machines if m.flow == "restaurant_order")
    assert restaurant.definition == _restaurant()[1]
