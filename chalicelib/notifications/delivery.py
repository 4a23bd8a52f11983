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

One responsibility: delivering one notification from the queue (resolve, render, send, retry).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from chalicelib.core import aws, clock
from chalicelib.core.batch import Backoff, Job, RetryLater, consume
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import Table, TransactionConflict, WriteOp
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.formatting import format_moment, format_money, render_values
from chalicelib.core.money import Money
from chalicelib.core.observability import MetricUnit, logger, metrics
from chalicelib.core.resources import QUEUES, QueueKind, queue_name, queue_url
from chalicelib.customers import service as customers
from chalicelib.integrations.http import ProviderError
from chalicelib.notifications import store, templates
from chalicelib.notifications.channels import OutgoingMessage, Sender, SendResult, sender_for
from chalicelib.notifications.models import (
    Channel,
    NotificationRecord,
    SendJob,
    StoredPreferences,
    TemplateVariant,
    WorkflowNotifyJob,
)
from chalicelib.notifications.outbox import new_record, requested_ops
from chalicelib.tenants.models import TenantRecord
from chalicelib.tenants.service import load_tenant
from chalicelib.users import service as users

__all__ = [
    "MAX_ATTEMPTS",
    "deliver",
    "handle_batch",
    "job_notification_ids",
    "quiet_until",
    "workflow_notification_id",
]

MAX_ATTEMPTS = next(q.max_receive_count for q in QUEUES if q.kind is QueueKind.NOTIFICATIONS)
STALE_SENDING = timedelta(minutes=5)
WHATSAPP_WINDOW = timedelta(hours=24)
_MAX_DELAY_S = 900  # SQS DelaySeconds: longer waits (quiet hours) hop in steps of 15 minutes
Outcome = Literal["done", "retry", "dead"]


class Undeliverable(Exception):
    """Raised when a message cannot be sent at all (no address, opted out, no template): it fails at once."""


@dataclass(frozen=True)
class Deferred(Exception):
    """Raised when a message must wait (quiet hours) until ``until``."""

    until: datetime


def _hashed_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:26].upper()


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


# --- recipients, variables, quiet hours, templates -----------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    channel: Channel
    address: str
    subject: str | None
    body: str
    whatsapp_template: dict[str, Any] | None
    fallback_from: Channel | None
    secret_variables: list[str]
    push_subscriptions: list[dict[str, Any]]
    locale: str


def _entity_variables(tenant: TenantRecord, variables: dict[str, Any], locale: str) -> dict[str, Any]:
    """Fields of the entity a workflow message is about (order number, total, start time, customer name)."""
    from chalicelib.workflows import engine, entities

    entity_type, entity_id = variables.get("entityType"), variables.get("entityId")
    spec = entities.find_spec(entity_type) if isinstance(entity_type, str) else None
    if spec is None or not entity_id:
        return {}
    item = engine.find_entity(tenant.id, spec.entity_type, str(entity_id))
    if item is None:
        return {}
    found: dict[str, Any] = {}
    if item.get("number") is not None:
        found["orderNumber"] = int(item["number"])
    total = (item.get("totals") or {}).get("total")
    if total:
        found["total"] = format_money(Money.model_validate(total), locale)
    if item.get("startsAt"):
        found["startsAt"] = format_moment(str(item["startsAt"]), locale, tenant.time_zone, length="short")
    customer_id = item.get(spec.customer_field)
    if customer_id:
        customer = customers.find_customer(tenant.id, str(customer_id))
        if customer is not None:
            found["customerName"] = customer.name
    return found


def quiet_until(now: datetime, time_zone: str, start: str, end: str) -> datetime | None:
    """When quiet hours (``start`` to ``end`` local, possibly overnight) that contain ``now`` end; None outside them."""
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    begin, finish = time.fromisoformat(start), time.fromisoformat(end)
    current = local.time()
    if begin < finish:
        quiet, day = begin <= current < finish, local.date()
    else:
        quiet = current >= begin or current < finish
        day = local.date() if current < finish else local.date() + timedelta(days=1)
    if not quiet:
        return None
    return datetime.combine(day, finish, tzinfo=zone).astimezone(now.tzinfo)


def _choose_variant(tenant_id: str, key: str, channel: Channel, locale: str) -> TemplateVariant | None:
    own = store.list_template_variants(tenant_id, key)
    shipped = templates.default_variants(key)
    # The tenant's variant wins at each level of locale matching (exact, same language, then any).
    for level in ("exact", "language", "any"):
        for variants in (own, shipped):
            candidates = [v for v in variants if v.channel == channel]
            if level == "exact":
                candidates = [v for v in candidates if v.locale == locale]
            elif level == "language":
                candidates = [v for v in candidates if v.locale.split("-")[0] == locale.split("-")[0]]
            picked = templates.pick_variant(candidates, channel, locale)
            if picked is not None:
                return picked
    return None


def _content(
    record: NotificationRecord, channel: Channel, locale: str, variables: dict[str, Any]
) -> tuple[templates.Rendered, list[str]]:
    if record.template is None:
        return templates.Rendered(record.subject, record.text or "", None), []
    variant = _choose_variant(record.tenant_id, record.template, channel, locale)
    if variant is None:
        raise Undeliverable(f"no template {record.template} for {channel}")
    secrets = templates.secret_variables_of(record.template, [variant])
    try:
        return templates.render(variant, variables), secrets
    except templates.RenderFailed as exc:
        raise Undeliverable(f"template {record.template} ({channel}, {variant.locale}): {exc}") from exc


def _prepare(record: NotificationRecord, tenant: TenantRecord, now: datetime) -> _Plan:

    channel: Channel = record.channel
    locale = record.locale
    variables = dict(record.variables)
    address = record.address
    subscriptions: list[dict[str, Any]] = []
    settings = store.get_settings_item(tenant.id)
    if record.recipient_kind == "customer":
        customer = customers.find_customer(tenant.id, str(record.recipient_id))
        if customer is None:
            raise Undeliverable(f"customer {record.recipient_id} does not exist")
        preferences = store.get_preferences(tenant.id, customer.id) or StoredPreferences()
        locale = preferences.locale or locale
        if channel in preferences.opt_out:
            raise Undeliverable(f"opted out: the customer does not want {channel} messages")
        if not customers.allows(customer.consents, record.category, channel):
            raise Undeliverable(f"opted out: no {record.category} consent for {channel}")
        variables.setdefault("customerName", customer.name)
        address = {"email": customer.email, "sms": customer.phone, "whatsapp": customer.phone}.get(channel)
        if channel == "push":
            raise Undeliverable("customers have no push subscriptions; push goes to users")
    elif record.recipient_kind == "user":
        user = users.find_user(tenant.id, str(record.recipient_id))
        if user is None or user.status == "inactive":
            raise Undeliverable(f"user {record.recipient_id} does not exist or is inactive")
        variables.setdefault("name", user.name)
        if channel == "push":
            subscriptions = [found.wire() for found in store.list_push_subscriptions(tenant.id, user.id)]
            address = f"user:{user.id}"
        else:
            address = {"email": user.email, "sms": user.whatsapp_number, "whatsapp": user.whatsapp_number}[channel]
    if not address:
        raise Undeliverable(f"the recipient has no address for {channel}")
    variables.setdefault("tenantName", tenant.name)
    variables.update(_entity_variables(tenant, variables, locale))
    # Money and moments the requester passed as values: in the locale the message goes out in, the tenant's zone.
    variables = render_values(variables, locale, tenant.time_zone)
    if not record.urgent and settings.quiet_hours is not None:
        until = quiet_until(now, tenant.time_zone, settings.quiet_hours.start, settings.quiet_hours.end)
        if until is not None:
            raise Deferred(until)
    rendered, secrets = _content(record, channel, locale, variables)
    fallback_from: Channel | None = None
    whatsapp_template = None
    if channel == "whatsapp":
        last = store.last_inbound_whatsapp(tenant.id, address)
        window_open = last is not None and now - datetime.fromisoformat(last.replace("Z", "+00:00")) < WHATSAPP_WINDOW
        if not window_open:
            if rendered.whatsapp_template is not None:
                whatsapp_template = rendered.whatsapp_template
            elif settings.sms_fallback:
                channel, fallback_from = "sms", "whatsapp"
                rendered, secrets = _content(record, channel, locale, variables)
            else:
                raise Undeliverable("outside the 24-hour WhatsApp window and no approved template to send instead")
    return _Plan(
        channel=channel,
        address=address,
        subject=rendered.subject,
        body=rendered.body,
        whatsapp_template=whatsapp_template,
        fallback_from=fallback_from,
        secret_variables=sorted(set(secrets) | set(record.secret_variables)),
        push_subscriptions=subscriptions,
        locale=locale,
    )


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
            notification_id=_hashed_id(record.id, user.id),
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


def _send(record: NotificationRecord, plan: _Plan, sender: Sender, attempt: int) -> Outcome:
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
            store.provider_route_op(record, result.provider, result.provider_message_id),
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
        plan = _prepare(record, tenant, now)
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


def workflow_notification_id(action: dict[str, Any]) -> str:
    """The id of the notification a workflow ``notify`` action creates: the same for every delivery of it."""
    parts = (action["executionId"], action["state"], action["enteredAt"], action["template"])
    return _hashed_id(*(str(part) for part in parts))


def _workflow_notification(job: WorkflowNotifyJob) -> str | None:
    """Create (once) the notification of a workflow ``notify`` action; its id comes from the action's identity."""
    from chalicelib.workflows import engine, entities

    spec = entities.find_spec(job.entity_type)
    if spec is None:
        raise LookupError(f"no capability registered entity type {job.entity_type!r}")
    notification_id = workflow_notification_id(job.model_dump())
    if store.get_notification(job.tenant_id, notification_id, consistent=True) is not None:
        return notification_id
    item = engine.find_entity(job.tenant_id, spec.entity_type, job.entity_id)
    if item is None:
        logger.info("notify action for an entity that is gone", extra={"entity_id": job.entity_id})
        return None
    if job.to == "customer":
        # A delivery platform's order: the platform talks to its customer (and keeps the store from doing it).
        target = None if item.get("platform") else item.get(spec.customer_field)
        to = f"customer:{target}" if target else None
    elif job.to == "assigned_user":
        target = item.get(spec.assignee_field)
        to = f"user:{target}" if target else None
    else:
        to = "role:ADMIN"
    if to is None:
        logger.info("notify action without a recipient skipped", extra={"to": job.to, "template": job.template})
        return None
    tenant = load_tenant(job.tenant_id)
    variables = {"entityType": job.entity_type, "entityId": job.entity_id, "status": job.status}
    record = new_record(
        job.tenant_id,
        job.channel,
        to,
        template=job.template,
        locale=tenant.locale,
        variables=variables,
        source="workflow",
        notification_id=notification_id,
    )
    with contextlib.suppress(TransactionConflict):  # an earlier delivery of the same action created it
        Table().transact(store.new_notification_ops(record))
    return notification_id


def job_notification_ids(body: str) -> tuple[str, list[str]]:
    """(tenant id, notification ids) a queue message is about; creates a workflow action's notification."""
    message = json.loads(body)
    if message.get("detail-type") == "notification.requested":
        detail = message["detail"]
        return str(detail["tenantId"]), [str(detail["data"]["notificationId"])]
    if message.get("source") == "workflow":
        job = WorkflowNotifyJob.model_validate(message)
        created = _workflow_notification(job)
        return job.tenant_id, [created] if created else []
    send = SendJob.model_validate(message)
    return send.tenant_id, [send.notification_id]


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
