"""Outbox: an event written with its change reaches a subscriber through table stream → publisher → bus."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, put_op
from chalicelib.core.events import event_item, event_put_op, new_event
from chalicelib.core.ids import new_id
from functions.outbox_publisher import handler as publish
from localdev.worker import StreamWorker

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def subscriber(tenant_id: str) -> Any:
    """An SQS queue subscribed to the bus by a rule matching this tenant's events."""
    sqs, events = aws.sqs(), aws.eventbridge()
    bus = get_settings().event_bus_name
    url = sqs.create_queue(QueueName=f"outbox-test-{tenant_id}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"outbox-test-{tenant_id}"
    events.put_rule(
        Name=rule,
        EventBusName=bus,
        EventPattern=json.dumps({"source": ["btrix"], "detail": {"tenantId": [tenant_id]}}),
    )
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    yield url
    events.remove_targets(Rule=rule, EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name=rule, EventBusName=bus)
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def reader(stack: Any) -> StreamWorker:
    """The stream from now on (set up before the test writes), as the publisher's event source reads it."""
    return StreamWorker(publish, from_now=True)


def _receive(reader: StreamWorker, url: str, expected: int, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(received) < expected and time.monotonic() < deadline:
        reader.poll_once()
        messages = aws.sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        received += [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    return received


# The data of order.created as the catalog declares it (tests check every event against it).
ORDER_CREATED = {"number": 1, "total": {"amount": "12.50", "currency": "BRL"}, "channel": "web"}


def test_event_written_with_a_change_arrives_on_a_subscribed_queue(
    tenant_id: str, subscriber: str, reader: StreamWorker
) -> None:
    order_id = new_id()
    event = new_event("order.created", tenant_id, ORDER_CREATED, order_id)
    Table().transact(
        [
            put_op({"PK": keys.entity_pk(tenant_id, Kind.ORDER, order_id), "SK": keys.META_SK, "version": 1}),
            event_put_op(event),
        ]
    )
    received = _receive(reader, subscriber, expected=1)
    assert len(received) == 1
    envelope = received[0]
    assert (envelope["source"], envelope["detail-type"]) == ("btrix", "order.created")
    assert envelope["detail"] == {
        "id": event.id,
        "type": "order.created",
        "tenantId": tenant_id,
        "occurredAt": event.occurred_at,
        "subject": order_id,
        "data": ORDER_CREATED,
    }


def test_items_that_are_not_events_are_not_published(tenant_id: str, subscriber: str, reader: StreamWorker) -> None:
    Table().put({"PK": keys.entity_pk(tenant_id, Kind.ORDER, new_id()), "SK": keys.META_SK, "tenantId": tenant_id})
    marker = new_event("order.created", tenant_id, ORDER_CREATED, None)
    Table().put_new(event_item(marker))
    received = _receive(reader, subscriber, expected=1)
    assert [r["detail"]["id"] for r in received] == [marker.id]
