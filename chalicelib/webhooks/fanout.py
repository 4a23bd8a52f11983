"""The webhook fan-out: an event (a domain event, or a workflow's ``emit_webhook``) made into one delivery per
endpoint that wants it, each created once, its first attempt queued."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ulid import ULID

from chalicelib.access.permissions import Module
from chalicelib.core import clock
from chalicelib.core.batch import Job, consume
from chalicelib.core.db.store import AlreadyExists
from chalicelib.core.observability import MetricUnit, logger, metrics
from chalicelib.core.resources import QueueKind
from chalicelib.tenants import service as tenants
from chalicelib.webhooks import store
from chalicelib.webhooks.attempt_queue import MAX_ATTEMPTS, enqueue, parse_moment
from chalicelib.webhooks.event_types import (
    ENDPOINT_DISABLED,
    MESSAGE_ATTEMPT_EXHAUSTED,
    WorkflowActionData,
    event_type,
    matches,
    normalize,
)
from chalicelib.webhooks.models import (
    AttemptMessage,
    DeliveryRecord,
    EndpointRecord,
    OutgoingMessage,
    WorkflowEmitMessage,
)

__all__ = ["fan_out", "handle_fanout_batch", "message_from_workflow", "new_delivery", "payload_of"]


def message_from_workflow(action: WorkflowEmitMessage) -> OutgoingMessage:
    """The message of a workflow ``emit_webhook`` action; its id is derived from the execution, the state and the
    time it was entered, so the same action delivered twice is the same message."""
    entered = parse_moment(action.entered_at)
    digest = hashlib.sha256(f"{action.execution_id}\n{action.state}\n{action.entered_at}".encode()).digest()
    milliseconds = int(entered.timestamp() * 1000)
    message_id = str(ULID.from_bytes(milliseconds.to_bytes(6, "big") + digest[:10]))
    data = WorkflowActionData(
        entity_type=action.entity_type, entity_id=action.entity_id, status=action.status, at=clock.isoformat(entered)
    )
    return OutgoingMessage(
        id=message_id,
        type=action.event,
        tenant_id=action.tenant_id,
        occurred_at=clock.isoformat(entered),
        subject=action.entity_id,
        data=data.model_dump(mode="json", by_alias=True),
    )


def payload_of(message: OutgoingMessage) -> str:
    """The body POSTed to endpoints: ``{type, timestamp, subject, data}``, data rendered as the catalog declares."""
    declared = event_type(message.type)
    data: dict[str, Any] = dict(message.data)
    if declared is not None:
        rendered = normalize(declared.data, message.data)
        if rendered is None:
            # Delivered as emitted: the receiver still gets the event, and the catalog drift shows in the logs.
            logger.warning("event data does not match its catalog schema", extra={"event_type": message.type})
            metrics.add_metric(name="WebhookPayloadsOffSchema", unit=MetricUnit.Count, value=1)
        else:
            data = rendered
    body: dict[str, Any] = {"type": message.type, "timestamp": message.occurred_at}
    if message.subject is not None:
        body["subject"] = message.subject
    body["data"] = data
    return json.dumps(body, separators=(",", ":"), default=str)


def new_delivery(endpoint: EndpointRecord, message: OutgoingMessage, payload: str) -> DeliveryRecord:
    """A pending delivery of ``message`` to ``endpoint``, its first attempt due now."""
    now = clock.isoformat(clock.now())
    return DeliveryRecord(
        id=message.id,
        tenant_id=endpoint.tenant_id,
        endpoint_id=endpoint.id,
        event_type=message.type,
        subject=message.subject,
        occurred_at=message.occurred_at,
        payload=payload,
        status="pending",
        attempt_count=0,
        next_attempt=1,
        next_attempt_at=now,
        final_attempt=MAX_ATTEMPTS,
        created_at=now,
        updated_at=now,
    )


def _about_itself(message: OutgoingMessage, endpoint: EndpointRecord) -> bool:
    # An endpoint never receives the operational events about itself: a failing endpoint would otherwise get a
    # new failing delivery for every exhausted one.
    return message.type in (ENDPOINT_DISABLED, MESSAGE_ATTEMPT_EXHAUSTED) and message.subject == endpoint.id


def _tenant_receives(tenant_id: str) -> bool:
    tenant = tenants.find_tenant(tenant_id)
    return tenant is not None and tenant.status == "active" and Module.WEBHOOKS in tenant.modules


def fan_out(message: OutgoingMessage) -> int:
    """Create a delivery of ``message`` for each matching endpoint and queue its first attempt; returns how many
    deliveries were created now (a redelivered message creates none, but re-queues first attempts not yet made)."""
    endpoints = [
        e
        for e in store.tenant_endpoints(message.tenant_id)
        if e.enabled
        and e.created_at <= message.occurred_at  # an endpoint gets what happens after it exists, nothing older
        and matches(e.event_types, message.type)
        and not _about_itself(message, e)
    ]
    if not endpoints or not _tenant_receives(message.tenant_id):
        return 0
    payload = payload_of(message)
    created = 0
    first: list[AttemptMessage] = []
    due = clock.now().timestamp()
    for endpoint in endpoints:
        record = new_delivery(endpoint, message, payload)
        try:
            store.put_delivery(record)
            created += 1
        except AlreadyExists:
            existing = store.get_delivery(message.tenant_id, endpoint.id, message.id, consistent=True)
            if existing is None or existing.attempt_count or existing.status != "pending" or existing.lease_id:
                continue
        first.append(
            AttemptMessage(
                tenant_id=message.tenant_id, endpoint_id=endpoint.id, delivery_id=message.id, attempt=1, due_at=due
            )
        )
    enqueue(first)
    metrics.add_metric(name="WebhookDeliveriesCreated", unit=MetricUnit.Count, value=created)
    return created


def _fan_out_job(job: Job) -> None:
    body = json.loads(job.body)
    if "detail-type" in body:
        fan_out(OutgoingMessage.model_validate(body["detail"]))
    else:
        fan_out(message_from_workflow(WorkflowEmitMessage.model_validate(body)))


def handle_fanout_batch(raw_event: dict[str, Any]) -> dict[str, Any]:
    """The webhook-deliveries consumer: EventBridge envelopes of domain events and workflow emit_webhook actions."""
    return consume(raw_event, _fan_out_job, queue=QueueKind.WEBHOOK_DELIVERIES)
