"""Domain events and the outbox: an event is written in the same transaction as its change, then the
table stream carries it to the EventBridge bus (``publish_stream_batch``, run by the stream Lambda).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import Field

from chalicelib.core import aws, clock
from chalicelib.core.config import get_settings
from chalicelib.core.db import keys
from chalicelib.core.db.store import WriteOp, put_op
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, strip_storage
from chalicelib.core.ids import new_id
from chalicelib.core.models import ApiModel
from chalicelib.core.observability import MetricUnit, logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

__all__ = [
    "EVENT_ENTITY",
    "EVENT_SOURCE",
    "DomainEvent",
    "EventListener",
    "EventPublishFailed",
    "event_detail",
    "event_item",
    "event_put_op",
    "listen_to_new_events",
    "new_event",
    "publish_stream_batch",
]

EVENT_ENTITY = "Event"
EVENT_SOURCE = "btrix"
EVENT_TTL = timedelta(days=7)


class EventPublishFailed(RuntimeError):
    """Raised when EventBridge refuses an event; the stream record is retried from there."""


class DomainEvent(ApiModel):
    """Something that happened in a tenant (``order.created``), as subscribers receive it."""

    id: str = Field(description="Event id (ULID); subscribers deduplicate on it")
    type: str = Field(pattern=r"^[a-z_]+(\.[a-z_]+)+$", examples=["order.created"])
    tenant_id: str
    occurred_at: str
    subject: str | None = Field(default=None, description="Id of the entity the event is about")
    data: dict[str, Any] = Field(default_factory=dict)


# Called with every event ``new_event`` builds, before it is written. Core knows no event type: the test session
# registers one that checks each event against the webhooks' catalog (tests/support/contracts.py).
EventListener = Callable[[DomainEvent], None]
_listeners: list[EventListener] = []


def listen_to_new_events(listener: EventListener) -> Callable[[], None]:
    """Call ``listener`` with every new event from now on; returns the function that stops it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def new_event(type_: str, tenant_id: str, data: dict[str, Any], subject: str | None = None) -> DomainEvent:
    """A new event of ``type_`` happening now in ``tenant_id``."""
    moment = clock.now()
    event = DomainEvent(
        id=new_id(moment),
        type=type_,
        tenant_id=tenant_id,
        occurred_at=clock.isoformat(moment),
        subject=subject,
        data=data,
    )
    for listener in tuple(_listeners):
        listener(event)
    return event


def event_item(event: DomainEvent) -> dict[str, Any]:
    """The table item of ``event``: kept for 7 days (TTL), long enough for the stream to deliver it."""
    return {
        PARTITION_KEY: keys.event_pk(event.tenant_id, event.id),
        SORT_KEY: keys.EVENT_SK,
        ENTITY: EVENT_ENTITY,
        TTL_ATTRIBUTE: clock.to_epoch(clock.now() + EVENT_TTL),
        **event.model_dump(),
    }


def event_put_op(event: DomainEvent) -> WriteOp:
    """The transaction Put that records ``event`` with the change it belongs to."""
    return put_op(event_item(event))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def event_detail(event: DomainEvent) -> str:
    """``event`` as the bus carries it (EventBridge ``detail``): JSON, numbers as the table stream gives them."""
    return json.dumps(event.model_dump(), default=_json_default)


def _publish(record: DynamoDBRecord) -> None:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecordEventName

    if record.event_name != DynamoDBRecordEventName.INSERT or record.dynamodb is None:
        return
    image = record.dynamodb.new_image
    if image.get(ENTITY) != EVENT_ENTITY:
        return
    event = DomainEvent.model_validate(strip_storage(image))
    response = aws.eventbridge().put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": event.type,
                "Detail": event_detail(event),
                "EventBusName": get_settings().event_bus_name,
                "Time": datetime.fromisoformat(event.occurred_at),
            }
        ]
    )
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        raise EventPublishFailed(f"{event.type} {event.id}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
    logger.debug("event published", extra={"event_type": event.type, "event_id": event.id})
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=1)


def publish_stream_batch(lambda_event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Publish the event items of a table-stream batch to the bus; report the records that failed.

    Non-event records are skipped. Failures are reported per record (``batchItemFailures``) so the stream
    retries from the first failed one; subscribers deduplicate on the event id.
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    response = process_partial_response(
        event=lambda_event, record_handler=_publish, processor=processor, context=context
    )
    return dict(response)
