"""Workflow definitions: shape checked by pydantic, coherence by validate_definition naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.core.errors import InvalidInput
from chalicelib.workflows.models import WorkflowBody, validate_definition


def _flow(**overrides: Any) -> dict[str, Any]:
    flow: dict[str, Any] = {
        "initial": "PENDING",
        "statuses": [
            {"name": "PENDING", "timers": [{"afterSeconds": 60, "transitionTo": "CANCELLED"}]},
            {"name": "DONE", "terminal": True},
            {"name": "CANCELLED", "terminal": True},
        ],
        "transitions": [
            {"from": "PENDING", "to": "DONE", "roles": ["STAFF"]},
            {"from": "PENDING", "to": "CANCELLED", "roles": ["MANAGER"]},
        ],
    }
    flow.update(overrides)
    return flow


def _errors(flow: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        validate_definition(WorkflowBody.model_validate(flow))
    return {e.loc: e.message for e in caught.value.errors}


def test_a_coherent_flow_passes() -> None:
    validate_definition(WorkflowBody.model_validate(_flow()))


def test_unknown_initial_status_is_named() -> None:
    assert "body.initial" in _errors(_flow(initial="NEW"))


def test_transition_to_an_unknown_status_names_its_end() -> None:
    flow = _flow()
    flow["transitions"].append({"from": "PENDING", "to": "SHIPPED", "roles": ["STAFF"]})
    assert _errors(flow) == {"body.transitions[2].to": "SHIPPED is not a status"}


def test_terminal_statuses_are_final() -> None:
    flow = _flow()
    flow["transitions"].append({"from": "DONE", "to": "PENDING", "roles": ["ADMIN"]})
    flow["statuses"][1]["timers"] = [
        {"afterSeconds": 5, "remind": {"template": "x", "channel": "sms", "to": "customer"}}
    ]
    errors = _errors(flow)
    assert "terminal statuses are final" in errors["body.transitions[2].from"]
    assert errors["body.statuses[1].timers"] == "a terminal status cannot have timers"


def test_a_timer_must_follow_a_declared_transition() -> None:
    flow = _flow()
    flow["statuses"][0]["timers"] = [
        {"afterSeconds": 60, "transitionTo": "DONE"},
        {"afterSeconds": 90, "transitionTo": "LOST"},
    ]
    errors = _errors(flow)
    assert errors["body.statuses[0].timers[1].transitionTo"] == "no transition PENDING → LOST is declared"
    assert errors["body.statuses[0].timers[0]"] == "a timer that changes the status must be the last one"


def test_timers_are_listed_in_firing_order() -> None:
    reminder = {"template": "appointment.reminder", "channel": "whatsapp", "to": "customer"}
    flow = _flow()
    flow["statuses"][0]["timers"] = [
        {"beforeField": "startsAt", "beforeSeconds": 3600, "remind": reminder},
        {"beforeField": "startsAt", "beforeSeconds": 86400, "remind": reminder},
    ]
    assert _errors(flow) == {"body.statuses[0].timers[1]": "list timers in the order they fire, without ties"}


def test_dead_ends_unreachable_statuses_and_platform_roles_are_refused() -> None:
    flow = _flow()
    flow["statuses"].append({"name": "LIMBO"})
    flow["transitions"][0]["roles"] = ["PLATFORM_ADMIN"]
    errors = _errors(flow)
    assert "no way out" in errors["body.statuses[3].terminal"]
    assert errors["body.statuses[3].name"] == "LIMBO cannot be reached from PENDING"
    assert "body.transitions[0].roles" in errors


def test_names_must_be_upper_snake_and_timers_say_when_and_what() -> None:
    with pytest.raises(ValidationError) as caught:
        WorkflowBody.model_validate(
            _flow(
                statuses=[
                    {"name": "pending"},
                    {"name": "DONE", "terminal": True, "timers": [{"afterSeconds": 5}]},
                ]
            )
        )
    locations = {tuple(e["loc"]) for e in caught.value.errors()}
    assert ("statuses", 0, "name") in locations
    assert ("statuses", 1, "timers", 0) in locations
