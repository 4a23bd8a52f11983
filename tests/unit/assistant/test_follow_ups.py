"""Follow-ups without the stack: a template's parameters filled in, and the timer's machine."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.assistant.followups import FOLLOW_UP_TASK, _fill, machine_definition
from chalicelib.assistant.models import FollowUps, ReminderTemplate


def test_a_template_gets_the_reminder_values_in_its_parameters_in_order() -> None:
    template = ReminderTemplate(name="pedido_aberto", language="pt_BR", params=["{customer}", "#{orderNumber}: {link}"])
    filled = _fill(template, {"customer": "Ana", "orderNumber": "7", "link": "https://pay.test/x"})
    assert (filled.name, filled.language, filled.params) == (
        "pedido_aberto",
        "pt_BR",
        ["Ana", "#7: https://pay.test/x"],
    )
    assert _fill(template, {}).params == ["", "#:"]  # a value the reminder lacks is left empty, never the braces


def test_follow_ups_refuse_a_checkout_reminder_after_the_link_expired_and_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="checkoutReminderSeconds"):
        FollowUps.model_validate({"checkoutReminderSeconds": 3600})
    with pytest.raises(ValidationError, match=r"unknown field \{price\}"):
        ReminderTemplate.model_validate({"name": "x", "language": "pt_BR", "params": ["{price}"]})
    assert FollowUps().checkout_reminder_seconds == 1800


def test_the_timer_waits_then_queues_the_follow_up_task_with_its_token() -> None:
    machine = machine_definition("https://sqs.test/integrations")
    wait, remind = machine["States"]["Wait"], machine["States"]["Remind"]
    assert (wait["SecondsPath"], wait["Next"]) == ("$.waitSeconds", "Remind")
    body = remind["Parameters"]["MessageBody"]
    assert remind["Parameters"]["QueueUrl"] == "https://sqs.test/integrations"
    assert (body["type"], body["task"], body["key.$"]) == ("task", FOLLOW_UP_TASK, "$.token")
    assert body["data"] == {"conversationId.$": "$.conversationId", "token.$": "$.token"}
