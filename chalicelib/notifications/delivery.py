"""The notifications queue consumer: resolve, render, check preferences, send, and retry with backoff.

Messages on the queue: ``notification.requested`` events (EventBridge envelopes, from the port and the API),
workflow ``notify`` actions (their notification is created here, with an id derived from executionId + state +
enteredAt + template, so a redelivered action creates nothing twice), and ``send`` jobs (deferred by quiet hours).

Sending is idempotent per notification: the status goes ``queued → sending`` under a condition before the provider
is called, so a redelivered message finds ``sending``/``sent`` and sends nothing. A retryable provider error puts
the notification back to ``queued`` and asks the queue helper (``core.batch``) to retry the job after an
exponential backoff with full jitter; the queue's receive count is the attempt number. After the last attempt the
notification is ``failed`` with the provider's error and the helper hands the message on to the DLQ. A
``sending`` left behind by a crash is failed visibly after 5 minutes rather than sent again: the provider may
already have it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from chalicelib.core import aws, clock
from chalicelib.core.batch import Backoff, Job, RetryLater, consume
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import Table, TransactionConflict, WriteOp
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.observability import MetricUnit, logger, metrics
from chalicelib.core.resources import QUEUES, QueueKind, queue_name, queue_url
from chalicelib.integrations.http import ProviderError
from chalicelib.notifications import sent_messages, store
from chalicelib.notifications.channels import OutgoingMessage, Sender, SendResult, sender_for
from chalicelib.notifications.models import NotificationRecord, SendJob
from chalicelib.notifications.outbox import new_record, requested_ops
from chalicelib.notifications.preparation import Deferred, Plan, Undeliverable, prepare
from chalicelib.notifications.queue_messages import hashed_id, job_notification_ids
from chalicelib.tenants.service import load_tenant
from chalicelib.users import service as users

__all__ = ["MAX_ATTEMPTS", "deliver", "handle_batch"]

MAX_ATTEMPTS = next(q.max_receive_count for q in QUEUES if q.kind is QueueKind.NOTIFICATIONS)
STALE_SENDING = timedelta(minutes=5)
_MAX_DELAY_S = 900  # SQS DelaySeconds: longer waits (quiet hours) hop in steps of 15 minutes
Outcome = Literal["done", "retry", "dead"]


def _event_ops(record: NotificationRecord, type_: str, **extra: Any) -> list[WriteOp]:
    data = {"notificationId": record.id, "channel": record.channel, "template": record.template, "to": record.to}
    return [event_put_op(new_event(type_, record.tenant_id, {**data, **extra}, subject=record.id))]


def _fail(record: NotificationRecord, error: str, expected: tuple[Any, ...]) -> None:
    at = clock.now_iso()
    changes = {"status": "failed", "lastError": error[:1000], "failedAt": at, "updatedAt": at}
    try:
        Table().transact(
            [store.status_change_op(record, changes, expected=expected), *_event_ops(record, "notification.failed")]
        )
    except TransactionConflict:
        logger.info("notification moved on before it could be failed", extra={"notification_id": record.id})
        return
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=1)
    logger.warning("notification failed", extra={"notification_id": record.id, "error": error[:200]})


# --- delivery ------------------------------------------------------------------------------------------------


def _defer(record: NotificationRecord, until: datetime) -> None:
    at = clock.now_iso()
    changes = {"scheduledFor": clock.isoformat(until), "updatedAt": at}
    try:
        Table().transact([store.status_change_op(record, changes, expected=("queued",))])
    except TransactionConflict:
        return
    _enqueue_send(record, until)


def _enqueue_send(record: NotificationRecord, until: datetime) -> None:
    delay = max(0, min(_MAX_DELAY_S, int((until - clock.now()).total_seconds()) + 1))
    body = SendJob(tenant_id=record.tenant_id, notification_id=record.id).model_dump_json()
    url = queue_url(queue_name(QueueKind.NOTIFICATIONS))
    aws.sqs().send_message(QueueUrl=url, MessageBody=body, DelaySeconds=delay)


def _fan_out(record: NotificationRecord) -> None:
    """``role:ADMIN``: one notification per active admin (ids derived from the parent: created once each)."""
    role = str(record.recipient_id)
    created = 0
    for user in users.all_users(record.tenant_id, "active"):
        if user.role != role:
            continue
        child = new_record(
            record.tenant_id,
            record.channel,
            f"user:{user.id}",
            template=record.template,
            locale=record.locale,
            variables=record.variables,
            source=record.source,
            text=record.text,
            subject=record.subject,
            category=record.category,
            urgent=record.urgent,
            parent_id=record.id,
            notification_id=hashed_id(record.id, user.id),
        )
        try:
            Table().transact(requested_ops(child))
            created += 1
        except TransactionConflict:
            continue  # created by an earlier delivery of this message
    at = clock.now_iso()
    changes = {"status": "sent", "provider": "fanout", "providerMessageId": f"{role}:{created}", "sentAt": at}
    try:
        Table().transact([store.status_change_op(record, {**changes, "updatedAt": at}, expected=("queued",))])
    except TransactionConflict:
        return


def _send(record: NotificationRecord, plan: Plan, sender: Sender, attempt: int) -> Outcome:
    now = clock.now_iso()
    taking = {
        "status": "sending",
        "attempts": record.attempts + 1,
        "sendingSince": now,
        "channel": plan.channel,
        "address": plan.address,
        "locale": plan.locale,
        "subject": plan.subject,
        "body": plan.body,
        "whatsappTemplate": plan.whatsapp_template,
        "fallbackFrom": plan.fallback_from,
        "secretVariables": plan.secret_variables,
        "provider": sender.name,
        "updatedAt": now,
    }
    try:
        Table().transact([store.status_change_op(record, taking, expected=("queued",))])
    except TransactionConflict:
        return "done"  # another delivery took it (or it moved on): that one sends
    taken = record.model_copy(update={"status": "sending", "channel": plan.channel})
    message = OutgoingMessage(
        notification_id=record.id,
        tenant_id=record.tenant_id,
        channel=plan.channel,
        to=plan.address,
        body=plan.body,
        subject=plan.subject,
        whatsapp_template=plan.whatsapp_template,
        urgent=record.urgent,
        push_subscriptions=plan.push_subscriptions,
    )
    try:
        result = sender.send(message)
    except ProviderError as exc:
        if exc.retryable and attempt < MAX_ATTEMPTS:
            at = clock.now_iso()
            back = {"status": "queued", "lastError": str(exc)[:1000], "updatedAt": at}
            Table().transact([store.status_change_op(taken, back, expected=("sending",), remove=("sendingSince",))])
            logger.info("notification attempt failed", extra={"notification_id": record.id, "attempt": attempt})
            return "retry"
        _fail(taken, str(exc), expected=("sending",))
        return "dead" if exc.retryable else "done"
    _mark_sent(taken, result)
    return "done"


def _mark_sent(record: NotificationRecord, result: SendResult) -> None:
    at = clock.now_iso()
    changes = {
        "status": "sent",
        "provider": result.provider,
        "providerMessageId": result.provider_message_id,
        "sentAt": at,
        "updatedAt": at,
    }
    Table().transact(
        [
            store.status_change_op(record, changes, expected=("sending",), remove=("sendingSince",)),
            sent_messages.provider_route_op(record, result.provider, result.provider_message_id, result.sent_by),
            *_event_ops(record, "notification.sent", provider=result.provider),
        ]
    )
    for endpoint in result.gone_endpoints:
        store.delete_push_subscription(record.tenant_id, str(record.recipient_id), endpoint)
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=1)


def deliver(tenant_id: str, notification_id: str, attempt: int) -> Outcome:
    """Deliver one notification if it is due and not already taken; ``attempt`` is the queue's receive count."""
    record = store.get_notification(tenant_id, notification_id, consistent=True)
    if record is None:
        logger.warning("notification to deliver does not exist", extra={"notification_id": notification_id})
        return "done"
    now = clock.now()
    if record.status == "sending":
        since = datetime.fromisoformat(str(record.sending_since or record.updated_at).replace("Z", "+00:00"))
        if now - since < STALE_SENDING:
            return "retry"  # another worker is calling the provider right now
        _fail(record, "interrupted while sending: the provider may have it; retry to send again", ("sending",))
        return "done"
    if record.status != "queued":
        return "done"  # sent, delivered, read or failed: a redelivered message does nothing
    if record.scheduled_for and datetime.fromisoformat(record.scheduled_for.replace("Z", "+00:00")) > now:
        _enqueue_send(record, datetime.fromisoformat(record.scheduled_for.replace("Z", "+00:00")))
        return "done"
    if record.recipient_kind == "role":
        _fan_out(record)
        return "done"
    tenant = load_tenant(tenant_id)
    try:
        plan = prepare(record, tenant, now)
        sender = sender_for(plan.channel, tenant_id)
    except Deferred as wait:
        _defer(record, wait.until)
        return "done"
    except Undeliverable as exc:
        _fail(record, str(exc), ("queued",))
        return "done"
    except DependencyUnavailable:  # credentials not readable this time
        return "retry"
    return _send(record, plan, sender, attempt)


def _handle(job: Job) -> None:
    tenant_id, ids = job_notification_ids(job.body)
    outcomes = [deliver(tenant_id, notification_id, job.attempt) for notification_id in ids]
    if "dead" in outcomes:  # failed at the last attempt: the job goes to the DLQ
        raise RetryLater(f"notification failed after {job.attempt} attempts")
    if "retry" in outcomes:
        raise RetryLater(f"attempt {job.attempt} failed; retrying")


def handle_batch(event: dict[str, Any]) -> dict[str, Any]:
    """Handle an SQS batch of the notifications queue; returns the ``batchItemFailures`` Lambda expects."""
    settings = get_settings()
    backoff = Backoff(settings.notification_retry_base_s, settings.notification_retry_max_s)
    return consume(event, _handle, queue=QueueKind.NOTIFICATIONS, backoff=backoff)
