"""Webhook delivery: the fan-out of events to endpoints, and the signed, retried attempts to send them.

Two queues (``core.resources``):

- **webhook-deliveries** (fan-out): every domain event (EventBridge rule ``webhooks``) and every workflow
  ``emit_webhook`` action. ``fan_out`` reads the tenant's endpoints with one Query, keeps the enabled ones whose
  filters match, and creates one delivery per endpoint (the item key is endpoint + message id, created with a
  condition: a redelivered event creates nothing twice), then queues its first attempt.
- **webhook-attempts**: one message per attempt, delayed until it is due. SQS delays at most 15 minutes, so a
  message for a later attempt is re-sent with the remaining delay (up to 15 min each time) until it is due.

An attempt claims its delivery with a lease (a conditional write: pending, this attempt next, no live lease), so
a duplicated message sends nothing twice; a worker that dies mid-attempt lets the lease lapse (45 s, under the
queue's visibility timeout) and the redelivered message tries again. After recording an attempt the next one is
queued; if that fails the message comes back, finds its attempt recorded and queues the next one again.

Retries follow Svix's schedule: now, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (times
``BTRIX_WEBHOOK_RETRY_SCALE``). 410 Gone disables the endpoint at once; an endpoint failing for 5 days in a row is
disabled; both emit ``endpoint.disabled``. After the last attempt the delivery is ``failed`` and
``message.attempt.exhausted`` is emitted.

One responsibility: getting an event to the endpoints that want it (fan-out, then signed attempts with their
retries).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from ulid import ULID

from chalicelib.access.permissions import Module, Role
from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.core import aws, clock
from chalicelib.core.batch import Job, consume
from chalicelib.core.config import get_settings
from chalicelib.core.crypto import decrypt_field
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import AlreadyExists, Table, TransactionConflict, WriteOp
from chalicelib.core.errors import Conflict, DependencyUnavailable
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.observability import MetricUnit, logger, metrics
from chalicelib.core.resources import QueueKind, queue_name, queue_url
from chalicelib.tenants import service as tenants
from chalicelib.webhooks import signing, store
from chalicelib.webhooks.event_types import (
    ENDPOINT_DISABLED,
    MESSAGE_ATTEMPT_EXHAUSTED,
    EndpointDisabledData,
    MessageAttemptExhaustedData,
    WorkflowActionData,
    event_type,
    matches,
    normalize,
)
from chalicelib.webhooks.models import (
    AttemptMessage,
    AttemptRecord,
    DeliveryRecord,
    EndpointRecord,
    OutgoingMessage,
    RequestExcerpt,
    ResponseExcerpt,
    WorkflowEmitMessage,
)
from chalicelib.webhooks.targets import Target, TargetRefused, loopback_allowed, resolve

if TYPE_CHECKING:
    import httpx

__all__ = [
    "EXCERPT_BYTES",
    "FAILING_LIMIT",
    "MAX_ATTEMPTS",
    "RETRY_SCHEDULE_S",
    "enqueue",
    "fan_out",
    "handle_attempt_batch",
    "handle_fanout_batch",
    "message_from_workflow",
    "new_delivery",
    "payload_of",
    "retry_delay_s",
    "run_attempt",
    "signing_secrets",
]

# Seconds to wait before attempt 1, 2, …, 8 (Svix): the last ends about 28 hours after the first.
RETRY_SCHEDULE_S: tuple[int, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE_S)
FAILING_LIMIT = timedelta(days=5)
TIMEOUT_S = 15.0
CONNECT_TIMEOUT_S = 5.0
EXCERPT_BYTES = 2048
# Longer than an attempt can take (connect + 15 s + the writes), shorter than the queue's 60 s visibility timeout.
LEASE_S = 45
SQS_MAX_DELAY_S = 900
# A message up to this early is sent now: DelaySeconds are whole seconds.
DUE_TOLERANCE_S = 1.0
# Replays add attempts without end; the log keeps the latest ones (an item holds at most 400 KB).
KEPT_ATTEMPTS = 20
SYSTEM_ACTOR_ID = "system"


def retry_delay_s(attempt: int) -> float:
    """Seconds between attempt ``attempt - 1`` and ``attempt`` (scaled by ``BTRIX_WEBHOOK_RETRY_SCALE``)."""
    return RETRY_SCHEDULE_S[attempt - 1] * get_settings().webhook_retry_scale


def _system(tenant_id: str) -> Principal:
    # Audit entries of what the delivery worker decides (disabling an endpoint) name the system as actor.
    return Principal(user_id=SYSTEM_ACTOR_ID, tenant_id=tenant_id, role=Role.ADMIN, email="webhooks@system.invalid")


def _iso(moment: datetime) -> str:
    return clock.isoformat(moment)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _delay_s(remaining: float) -> int:
    # Whole seconds, at most SQS's 15 minutes; what is due within the tolerance goes now (the handler sends it).
    return 0 if remaining <= DUE_TOLERANCE_S else min(SQS_MAX_DELAY_S, math.ceil(remaining))


def enqueue(messages: Sequence[AttemptMessage]) -> None:
    """Queue attempts, each delayed until it is due (at most 15 minutes at a time)."""
    if not messages:
        return
    url = queue_url(queue_name(QueueKind.WEBHOOK_ATTEMPTS))
    now = clock.now().timestamp()
    for start in range(0, len(messages), 10):
        chunk = messages[start : start + 10]
        entries: list[Any] = [
            {"Id": str(i), "MessageBody": message.model_dump_json(), "DelaySeconds": _delay_s(message.due_at - now)}
            for i, message in enumerate(chunk)
        ]
        response = aws.sqs().send_message_batch(QueueUrl=url, Entries=entries)
        if response.get("Failed"):
            raise DependencyUnavailable(
                detail=f"the webhook attempts queue refused {len(response['Failed'])} message(s)"
            )


# --- fan-out ------------------------------------------------------------------------------------------------


def message_from_workflow(action: WorkflowEmitMessage) -> OutgoingMessage:
    """The message of a workflow ``emit_webhook`` action; its id is derived from the execution, the state and the
    time it was entered, so the same action delivered twice is the same message."""
    entered = _parse(action.entered_at)
    digest = hashlib.sha256(f"{action.execution_id}\n{action.state}\n{action.entered_at}".encode()).digest()
    milliseconds = int(entered.timestamp() * 1000)
    message_id = str(ULID.from_bytes(milliseconds.to_bytes(6, "big") + digest[:10]))
    data = WorkflowActionData(
        entity_type=action.entity_type, entity_id=action.entity_id, status=action.status, at=_iso(entered)
    )
    return OutgoingMessage(
        id=message_id,
        type=action.event,
        tenant_id=action.tenant_id,
        occurred_at=_iso(entered),
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
    now = _iso(clock.now())
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


# --- attempts -----------------------------------------------------------------------------------------------


def signing_secrets(endpoint: EndpointRecord) -> list[str]:
    """The secrets that sign now: the current one, and the previous one during a rotation's overlap."""
    secrets = [decrypt_field(endpoint.tenant_id, endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires and _parse(expires) > clock.now():
        secrets.append(decrypt_field(endpoint.tenant_id, endpoint.previous_secret_encrypted))
    return secrets


@cache
def _client() -> httpx.Client:
    import httpx

    # No redirects (a 3xx is a failure: following one would reach an address nobody checked), no proxies from the
    # environment (the connection goes to the checked address).
    return httpx.Client(
        timeout=httpx.Timeout(TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        follow_redirects=False,
        trust_env=False,
    )


def _post(target: Target, body: str, headers: Mapping[str, str]) -> tuple[ResponseExcerpt | None, str | None]:
    import httpx

    client = _client()
    request = client.build_request(
        "POST",
        target.pinned_url,
        content=body.encode(),
        headers={**headers, "host": target.host_header},
        extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
    )
    try:
        response = client.send(request, stream=True)
        try:
            received = b""
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= EXCERPT_BYTES:
                    break  # the rest is not read: a receiver cannot make us download a large answer
        finally:
            response.close()
        excerpt = received[:EXCERPT_BYTES].decode("utf-8", errors="replace")
        return ResponseExcerpt(status=response.status_code, body=excerpt), None
    except httpx.TimeoutException:
        return None, f"no answer within {TIMEOUT_S:g} s"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _attempt(endpoint: EndpointRecord, record: DeliveryRecord, number: int) -> AttemptRecord:
    at = clock.now()
    headers = {
        "content-type": "application/json",
        "user-agent": f"btrix-webhooks/{get_settings().version}",
        **signing.headers(signing_secrets(endpoint), record.id, int(at.timestamp()), record.payload),
    }
    started = time.monotonic()
    response: ResponseExcerpt | None = None
    request: RequestExcerpt | None = None
    error: str | None = None
    try:
        target = resolve(endpoint.url, allow_loopback=loopback_allowed())
    except TargetRefused as exc:
        error = f"target refused: {exc}"
    else:
        request = RequestExcerpt(url=endpoint.url, headers=headers, body=record.payload[:EXCERPT_BYTES])
        response, error = _post(target, record.payload, headers)
    return AttemptRecord(
        number=number,
        trigger=record.next_trigger,
        at=_iso(at),
        duration_ms=int((time.monotonic() - started) * 1000),
        succeeded=response is not None and 200 <= response.status < 300,
        request=request,
        response=response,
        error=error,
    )


def _disable_ops(endpoint: EndpointRecord, reason: str, now: datetime) -> list[WriteOp]:
    at = _iso(now)
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
        endpoint_ops.append(store.endpoint_change_op(endpoint.tenant_id, endpoint.id, set_={"failingSince": _iso(now)}))
    elif now - _parse(endpoint.failing_since) >= FAILING_LIMIT:
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
        changes = {"nextAttempt": number + 1, "nextAttemptAt": _iso(due), "nextTrigger": "scheduled"}
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
        "updatedAt": _iso(now),
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
    changes = {**_ended(reason, "failed"), "updatedAt": _iso(clock.now()), "leaseId": None, "leaseUntil": None}
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
            due = _parse(record.next_attempt_at).timestamp() if record.next_attempt_at else message.due_at
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
    attempt = _attempt(endpoint, record, message.attempt)
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
