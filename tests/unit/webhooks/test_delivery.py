"""Delivery logic that needs no AWS: the retry schedule, SQS delays, workflow message ids, payloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest
from ulid import ULID

from chalicelib.core.config import get_settings
from chalicelib.webhooks import attempt_queue, delivery
from chalicelib.webhooks.models import OutgoingMessage, WorkflowEmitMessage


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment changes that the settings see, undone afterwards."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_schedule_is_svixs_eight_attempts_over_about_28_hours(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.delenv("BTRIX_WEBHOOK_RETRY_SCALE", raising=False)
    get_settings.cache_clear()
    waits = [delivery.retry_delay_s(n) for n in range(1, delivery.MAX_ATTEMPTS + 1)]
    assert waits == [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    assert sum(waits) / 3600 == pytest.approx(27.6, abs=0.1)


def test_the_retry_scale_shortens_every_wait(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("BTRIX_WEBHOOK_RETRY_SCALE", "0.01")
    get_settings.cache_clear()
    assert delivery.retry_delay_s(2) == pytest.approx(0.05)
    assert delivery.retry_delay_s(8) == pytest.approx(360)


def test_sqs_delays_are_whole_seconds_capped_at_15_minutes() -> None:
    assert attempt_queue._delay_s(-3) == 0
    assert attempt_queue._delay_s(0.9) == 0  # due within the tolerance: sent now
    assert attempt_queue._delay_s(4.2) == 5
    assert attempt_queue._delay_s(36_000) == 900  # a 10-hour wait is chained 15 minutes at a time


def _action(**overrides: str) -> WorkflowEmitMessage:
    fields = {
        "source": "workflow",
        "action": "emit_webhook",
        "tenantId": "T1",
        "entityType": "order",
        "entityId": "O1",
        "status": "DELIVERED",
        "executionId": "arn:aws:states:us-east-1:1:execution:m:e1",
        "state": "DELIVERED.OnEnter.1.emit_webhook",
        "enteredAt": "2026-03-01T12:00:00.123Z",
        "event": "order.delivered",
        **overrides,
    }
    return WorkflowEmitMessage.model_validate(fields)


def test_a_workflow_action_is_the_same_message_however_often_it_arrives() -> None:
    first, again = delivery.message_from_workflow(_action()), delivery.message_from_workflow(_action())
    assert first == again
    assert ULID.from_str(first.id).datetime.isoformat().startswith("2026-03-01T12:00:00.123")
    assert delivery.message_from_workflow(_action(executionId="arn:…:e2")).id != first.id
    assert delivery.message_from_workflow(_action(state="DELIVERED.OnEnter.2.emit_webhook")).id != first.id
    assert first.data == {"entityType": "order", "entityId": "O1", "status": "DELIVERED", "at": first.occurred_at}


def _message(type_: str, data: dict[str, object]) -> OutgoingMessage:
    return OutgoingMessage(
        id="01J0000000000000000000000", type=type_, tenant_id="T1", occurred_at="2026-03-01T12:00:00.000Z", data=data
    )


def test_payloads_follow_the_catalog_and_keep_what_does_not_fit() -> None:
    stored_total = {"amount": Decimal("10"), "currency": "USD"}
    created = json.loads(
        delivery.payload_of(_message("order.created", {"number": 1, "total": stored_total, "channel": "web"}))
    )
    assert created == {
        "type": "order.created",
        "timestamp": "2026-03-01T12:00:00.000Z",
        "data": {"number": 1, "total": {"amount": "10.00", "currency": "USD"}, "channel": "web"},
    }
    odd = json.loads(delivery.payload_of(_message("order.created", {"number": 1, "surprise": True})))
    assert odd["data"] == {"number": 1, "surprise": True}
    custom = json.loads(delivery.payload_of(_message("order.ready", {"entityId": "O1"})))
    assert custom["data"] == {"entityId": "O1"}
