"""GET /health against the real local stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.resources import QUEUES, queue_name


def test_health_reports_table_and_every_queue(api: Any) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    body = response.json_body
    assert (body["status"], body["stage"]) == ("ok", "local")
    assert body["table"] == {
        "name": get_settings().table_name,
        "ok": True,
        "detail": "ACTIVE",
        "messages": None,
        "deadLetters": None,
    }
    assert [q["name"] for q in body["queues"]] == [queue_name(q.kind) for q in QUEUES]
    assert all(q["ok"] and q["deadLetters"] == 0 for q in body["queues"])


@pytest.fixture
def missing_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("BTRIX_TABLE_NAME", "btrix-table-that-does-not-exist")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.usefixtures("missing_table")
def test_health_is_503_when_the_table_is_unreachable(api: Any) -> None:
    response = api.get("/health")
    assert response.status_code == 503
    assert response.json_body["status"] == "unavailable"
    assert response.json_body["table"]["ok"] is False
    assert response.json_body["table"]["detail"] == "ResourceNotFoundException"


def test_health_shows_dead_letters_waiting(api: Any, stack: Any) -> None:
    from chalicelib.core.resources import QueueKind, dlq_name

    client = aws.sqs()
    url = client.get_queue_url(QueueName=dlq_name(QueueKind.INTEGRATIONS))["QueueUrl"]
    client.send_message(QueueUrl=url, MessageBody="{}")
    try:
        queues = {q["name"]: q for q in api.get("/health").json_body["queues"]}
        assert queues[queue_name(QueueKind.INTEGRATIONS)]["deadLetters"] == 1
    finally:
        client.purge_queue(QueueUrl=url)
