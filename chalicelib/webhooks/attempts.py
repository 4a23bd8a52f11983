"""The webhook attempt worker: an attempt claimed under a lease (a duplicated message sends nothing twice), sent,
and recorded with what follows (the next attempt queued, the endpoint disabled after 410 Gone or 5 days failing,
``message.attempt.exhausted`` after the last)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.access.permissions import Role
from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.batch import Job, consume
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, WriteOp
from chalicelib.core.errors import Conflict
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.observability import MetricUnit, metrics
from chalicelib.core.resources import QueueKind
from chalicelib.webhooks import store
from chalicelib.webhooks.attempt_queue import DUE_TOLERANCE_S, enqueue, parse_moment, retry_delay_s
from chalicelib.webhooks.event_types import (
    ENDPOINT_DISABLED,
    MESSAGE_ATTEMPT_EXHAUSTED,
    EndpointDisabledData,
    MessageAttemptExhaustedData,
)
from chalicelib.webhooks.models import AttemptMessage, AttemptRecord, DeliveryRecord, EndpointRecord
from chalicelib.webhooks.sender import attempt as send_attempt

__all__ = ["FAILING_LIMIT", "handle_attempt_batch", "run_attempt"]

FAILING_LIMIT = timedelta(days=5)
# Longer than an attempt can take (connect + 15 s + the writes), shorter than the queue's 60 s visibility timeout.
LEASE_S = 45
# Replays add attempts without end; the log keeps the latest ones (an item holds at most 400 KB).
KEPT_ATTEMPTS = 20
SYSTEM_ACTOR_ID = "system"


def _system(tenant_id: str) -> Principal:
    # Audit entries of what the delivery worker decides (disabling an endpoint) name the system as actor.
    return Principal(user_id=SYSTEM_ACTOR_ID, tenant_id=tenant_id, role=Role.ADMIN, email="webhooks@system.invalid")


def _disable_ops(endpoint: EndpointRecord, reason: str, now: datetime) -> list[WriteOp]:
    at = clock.isoformat(now)
    data = EndpointDisabledData(
        endpoint_id=endpoint.id,
        url=endpoint.url,
        reason="gone" if reason == "gone" else "failing",
        failing_since=endpoint.failing_since,
    )
    return [
        store.endpoint_change_op(
            endpoint.tenant_id,
            endpoint.id,
            set_={"enabled": False, "disabledReason": reason, "disabledAt": at, "updatedAt": at},
            bump=True,
            while_enabled=True,
        ),
        audit_op(
            _system(endpoint.tenant_id),
            "webhook_endpoint.disabled",
            Kind.WEBHOOK_ENDPOINT,
            endpoint.id,
            before={"enabled": True},
            after={"enabled": False, "disabledReason": reason},
        ),
        event_put_op(
            new_event(
                ENDPOINT_DISABLED, endpoint.tenant_id, data.model_dump(mode="json", by_alias=True), subject=endpoint.id
            )
        ),
    ]


def _ended(reason: str | None, status: str) -> dict[str, Any]:
    return {"status": status, "nextAttempt": None, "nextAttemptAt": None, "failureReason": reason}


def _outcome(
    endpoint: EndpointRecord, record: DeliveryRecord, attempt: AttemptRecord, now: datetime
) -> tuple[dict[str, Any], list[WriteOp], AttemptMessage | None, str]:
    """What an attempt changes: the delivery, the endpoint (with events), the next attempt, and a metric name."""
    number = attempt.number
    status = attempt.response.status if attempt.response else None
    if attempt.succeeded:
        clear = [store.endpoint_change_op(endpoint.tenant_id, endpoint.id, remove=["failingSince"])]
        return _ended(None, "succeeded"), clear if endpoint.failing_since else [], None, "WebhookAttemptsSucceeded"
    if status == 410:
        reason = "the endpoint answered 410 Gone and was disabled"
        return _ended(reason, "failed"), _disable_ops(endpoint, "gone", now), None, "WebhookEndpointsDisabled"
    endpoint_ops: list[WriteOp] = []
    if endpoint.failing_since is None:
        endpoint_ops.append(
            store.endpoint_change_op(endpoint.tenant_id, endpoint.id, set_={"failingSince": clock.isoformat(now)})
        )
    elif now - parse_moment(endpoint.failing_since) >= FAILING_LIMIT:
        reason = "the endpoint failed for 5 days in a row and was disabled"
        return _ended(reason, "failed"), _disable_ops(endpoint, "failing", now), None, "WebhookEndpointsDisabled"
    if number < record.final_attempt:
        due = now + timedelta(seconds=retry_delay_s(number + 1))
        follow_up = AttemptMessage(
            tenant_id=record.tenant_id,
            endpoint_id=record.endpoint_id,
            delivery_id=record.id,
            attempt=number + 1,
            due_at=due.timestamp(),
        )
        changes = {"nextAttempt": number + 1, "nextAttemptAt": clock.isoformat(due), "nextTrigger": "scheduled"}
        return changes, endpoint_ops, follow_up, "WebhookAttemptsFailed"
    if attempt.trigger == "replay":
        return _ended("the replay failed", "failed"), endpoint_ops, None, "WebhookAttemptsFailed"
    exhausted = MessageAttemptExhaustedData(
        endpoint_id=endpoint.id, message_id=record.id, event_type=record.event_type, attempts=number, last_status=status
    )
    event = new_event(
        MESSAGE_ATTEMPT_EXHAUSTED, record.tenant_id, exhausted.model_dump(mode="json", by_alias=True), endpoint.id
    )
    reason = f"not delivered after {number} attempts"
    return _ended(reason, "failed"), [*endpoint_ops, event_put_op(event)], None, "WebhookDeliveriesExhausted"


class _EndpointChanged(Conflict):
    """Raised when an attempt's change to its endpoint fails: the endpoint was deleted or disabled meanwhile."""


def _record(
    endpoint: EndpointRecord, record: DeliveryRecord, attempt: AttemptRecord, lease_id: str
) -> tuple[AttemptMessage | None, str]:
    now = clock.now()
    changes, endpoint_ops, follow_up, outcome = _outcome(endpoint, record, attempt, now)
    attempts = [*record.attempts, attempt][-KEPT_ATTEMPTS:]
    changes = {
        **changes,
        "attempts": [a.model_dump() for a in attempts],
        "attemptCount": attempt.number,
        "updatedAt": clock.isoformat(now),
        "leaseId": None,
        "leaseUntil": None,
    }
    delivery_op = store.delivery_update_op(record, changes, lease_id=lease_id)
    endpoint_changed = _EndpointChanged()
    try:
        Table().transact([delivery_op, *(op.on_conflict(endpoint_changed) for op in endpoint_ops)])
    except _EndpointChanged:
        # The endpoint changed meanwhile (deleted, or disabled by another attempt): the attempt is still recorded.
        Table().transact([delivery_op])
    return follow_up, outcome


def _finish_unsent(record: DeliveryRecord, lease_id: str, reason: str) -> None:
    changes = {
        **_ended(reason, "failed"),
        "updatedAt": clock.isoformat(clock.now()),
        "leaseId": None,
        "leaseUntil": None,
    }
    Table().transact([store.delivery_update_op(record, changes, lease_id=lease_id)])


def run_attempt(message: AttemptMessage) -> str:
    """Handle one message of the webhook-attempts queue; returns what happened (a metric name or a state)."""
    tenant_id, endpoint_id = message.tenant_id, message.endpoint_id
    record = store.get_delivery(tenant_id, endpoint_id, message.delivery_id, consistent=True)
    if record is None or record.status != "pending" or record.next_attempt is None:
        return "stale"
    if record.next_attempt != message.attempt:
        if record.next_attempt == message.attempt + 1 and record.attempt_count == message.attempt:
            # This attempt is recorded but the message came back: queuing its successor may have failed.
            due = parse_moment(record.next_attempt_at).timestamp() if record.next_attempt_at else message.due_at
            enqueue([message.model_copy(update={"attempt": record.next_attempt, "due_at": due})])
        return "stale"
    now = clock.now()
    if message.due_at - now.timestamp() > DUE_TOLERANCE_S:
        enqueue([message])
        return "waiting"
    endpoint = store.get_endpoint(tenant_id, endpoint_id)
    if endpoint is not None and endpoint.enabled and endpoint.rate_limit is not None:
        second = int(now.timestamp())
        if store.count_send(tenant_id, endpoint_id, second) > endpoint.rate_limit:
            enqueue([message.model_copy(update={"due_at": second + 1.0})])
            return "throttled"
    lease_id = new_id()
    epoch = clock.to_epoch(now)
    try:
        Table().transact([store.claim_op(record, message.attempt, lease_id, epoch + LEASE_S, epoch)])
    except TransactionConflict:
        return "busy"
    if endpoint is None or not endpoint.enabled:
        _finish_unsent(record, lease_id, "the endpoint was deleted" if endpoint is None else "the endpoint is disabled")
        return "cancelled"
    attempt = send_attempt(endpoint, record, message.attempt)
    follow_up, outcome = _record(endpoint, record, attempt, lease_id)
    if follow_up is not None:
        enqueue([follow_up])
    return outcome


def handle_attempt_batch(raw_event: dict[str, Any]) -> dict[str, Any]:
    """The webhook-attempts consumer: the batch's attempts run in parallel (a slow receiver takes up to 15 s; ten
    of them one after another would outlast the function's timeout); failures are reported per message and left
    for SQS to redeliver (then to the DLQ): what failed is our infrastructure, not the receiver."""
    outcomes: list[str] = []

    def one(job: Job) -> None:
        outcomes.append(run_attempt(AttemptMessage.model_validate_json(job.body)))

    result = consume(raw_event, one, queue=QueueKind.WEBHOOK_ATTEMPTS, parallel=True)
    for outcome in outcomes:
        if outcome.startswith("Webhook"):
            metrics.add_metric(name=outcome, unit=MetricUnit.Count, value=1)
    return result
