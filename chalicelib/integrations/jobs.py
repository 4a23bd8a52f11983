"""The integrations queue's consumer: one dispatcher keyed by message kind, where capabilities register handlers.

What arrives on the queue, and the kinds it is dispatched by (most specific first):

- workflow on-enter actions other than notify / emit_webhook (``{source: "workflow", action, tenantId, entityType,
  entityId, status, executionId, state, enteredAt, …}``): ``workflow:<action>:<entityType>``, ``workflow:<action>``;
- provider webhooks recorded once by ``chalicelib/inbound`` (``{type: "stripe.event", provider: "stripe", tenantId,
  event}``, ``mercadopago.notification``, ``email.received``): ``<provider>:<event type>``, ``<provider>:*`` — the
  event type is Stripe's ``event.type``, MercadoPago's ``topic``, and ``received`` for email;
- domain events a bus rule routes here (EventBridge envelopes): ``event:<type>``;
- tasks a capability queues for itself (``enqueue_task``, e.g. one Billy payment poll per tenant): ``task:<name>``.

A capability registers with ``register(kind, handler, provider=…, operation=…)`` when its module is imported (app.py
imports the modules that register). ``handler(job)`` does the work and may return a line for the integration's sync
log. Each message is one job, run once: its key (execution + state + enteredAt for an action, the event id for an
event, the task's key, else a hash of the body) names a job record claimed with a lease before the handler runs; a
redelivered message whose job is done does nothing, one whose job another worker holds waits. The handler must
still tolerate a second run after a crash in its middle (``job.previous_attempts``): providers are called with
ids of our own where they allow it, and half-done work is looked up before it is redone.

Failures: a retryable one (provider unavailable or throttling, our database or a race, an unexpected error) is a
``RetryLater`` for the queue helper (``core.batch.consume``), which hides the message for a full-jitter backoff
(``BTRIX_INTEGRATION_RETRY_BASE_S`` doubling up to ``…_MAX_S``), the queue's receive count being the attempt; after
the queue's ``maxReceiveCount`` SQS moves it to the DLQ. A fatal one (credentials refused, the provider rejecting
our data, a handler's ``JobFailed``) and a provider event or task no handler takes go to the DLQ at once (a workflow
action nothing implements is acknowledged: nothing to do). Either way the job record says ``failed`` with the error,
the integration's sync log and ``lastError`` show it (when the handler names its provider), and ``python -m
chalicelib.integrations.redrive`` puts the DLQ back on the queue, where a failed job runs again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core import aws, batch, clock
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.errors import AppError, Conflict, DependencyUnavailable, NotFound
from chalicelib.core.ids import new_id
from chalicelib.core.observability import MetricUnit, logger, metrics
from chalicelib.core.resources import QUEUES, QueueKind, dlq_name, queue_name, queue_url
from chalicelib.integrations import store
from chalicelib.integrations.http import ProviderError
from chalicelib.integrations.models import JobRecord, Provider, SyncRequested
from chalicelib.integrations.service import load_credentials, record_sync

__all__ = [
    "MAX_ATTEMPTS",
    "Job",
    "JobFailed",
    "JobHandler",
    "RetryJob",
    "enqueue_task",
    "event_kind",
    "handle_batch",
    "job_of",
    "provider_kind",
    "register",
    "registered",
    "request_sync",
    "task_kind",
    "workflow_kind",
]

MAX_ATTEMPTS = next(q.max_receive_count for q in QUEUES if q.kind is QueueKind.INTEGRATIONS)
# A run holds its job this long (the queue's visibility timeout): a crashed run's job is free again when its
# message comes back.
LEASE_S = next(q.visibility_timeout_s for q in QUEUES if q.kind is QueueKind.INTEGRATIONS)
_KIND = re.compile(r"^[a-z0-9_]+:[A-Za-z0-9_.*:-]+$")
_MAX_ERROR = 1000


@dataclass(frozen=True)
class Job:
    """One message of the integrations queue, as a handler gets it."""

    kind: str
    tenant_id: str
    body: Mapping[str, Any]
    key: str
    attempt: int
    previous_attempts: int = 0

    @property
    def data(self) -> Mapping[str, Any]:
        """The payload: a task's ``data``, an event's ``detail.data``, else the message itself."""
        if self.kind.startswith("task:"):
            return self.body.get("data") or {}
        if self.kind.startswith("event:"):
            return (self.body.get("detail") or {}).get("data") or {}
        return self.body


JobHandler = Callable[[Job], "str | None"]


class JobFailed(Exception):
    """Raised by a handler when its job cannot succeed however often it is retried (it goes to the DLQ at once)."""


class RetryJob(Exception):
    """Raised by a handler when its job should run again later (something it needs is not there yet)."""


@dataclass(frozen=True)
class _Registration:
    kind: str
    handler: JobHandler
    provider: Provider | None
    operation: str


_registry: dict[str, _Registration] = {}


def workflow_kind(action: str, entity_type: str | None = None) -> str:
    """``workflow:<action>[:<entityType>]``: a workflow on-enter action (of one entity type, or of any)."""
    return f"workflow:{action}" + (f":{entity_type}" if entity_type else "")


def provider_kind(provider: str, event_type: str = "*") -> str:
    """``<provider>:<event type>``: a provider webhook (``*``: every event of the provider)."""
    return f"{provider}:{event_type}"


def event_kind(event_type: str) -> str:
    """``event:<type>``: a domain event routed to the integrations queue by a bus rule."""
    return f"event:{event_type}"


def task_kind(name: str) -> str:
    """``task:<name>``: a job a capability queued with ``enqueue_task``."""
    return f"task:{name}"


def register(kind: str, handler: JobHandler, *, provider: Provider | None = None, operation: str | None = None) -> None:
    """Run ``handler`` for messages of ``kind``; its failures (and the lines it returns) go to ``provider``'s sync
    log as ``operation`` (default: the kind). One handler per kind: registering another one is a programming
    error."""
    if not _KIND.match(kind):
        raise ValueError(f"not a job kind: {kind!r} (workflow:…, <provider>:…, event:…, task:…)")
    current = _registry.get(kind)
    if current is not None and current.handler is not handler:
        raise ValueError(f"{kind} already has a handler ({current.handler.__module__}.{current.handler.__qualname__})")
    _registry[kind] = _Registration(kind, handler, provider, operation or kind)


def registered() -> list[str]:
    """The kinds that have a handler."""
    return sorted(_registry)


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _provider_event(body: Mapping[str, Any], provider: str) -> str:
    nested = body.get("event")
    if isinstance(nested, Mapping) and isinstance(nested.get("type"), str):
        return str(nested["type"])
    if isinstance(body.get("topic"), str):
        return str(body["topic"])
    return str(body.get("type") or "").removeprefix(f"{provider}.") or "*"


def _kinds_and_key(body: Mapping[str, Any]) -> tuple[list[str], str]:
    if body.get("source") == "workflow":
        action, entity_type = str(body["action"]), str(body.get("entityType") or "")
        key = _digest("workflow", str(body["executionId"]), str(body["state"]), str(body["enteredAt"]))
        return [workflow_kind(action, entity_type), workflow_kind(action)], key
    if "detail-type" in body:
        detail = body.get("detail") or {}
        return [event_kind(str(body["detail-type"]))], _digest("event", str(detail.get("id") or body.get("id")))
    if body.get("type") == "task":
        name = str(body["task"])
        return [task_kind(name)], _digest("task", name, str(body.get("key") or json.dumps(body, sort_keys=True)))
    provider = str(body.get("provider") or "")
    if not provider:
        raise ValueError("a message without source, detail-type, task or provider")
    key = _digest(provider, json.dumps(body, sort_keys=True, separators=(",", ":")))
    return [provider_kind(provider, _provider_event(body, provider)), provider_kind(provider)], key


def _tenant_of(body: Mapping[str, Any]) -> str:
    tenant = body.get("tenantId") or (body.get("detail") or {}).get("tenantId")
    if not isinstance(tenant, str) or not tenant:
        raise ValueError("a message without tenantId")
    return tenant


def job_of(body: Mapping[str, Any], attempt: int = 1) -> tuple[Job, _Registration | None]:
    """The job a message is, and the registration that handles it (None: no handler for any of its kinds)."""
    kinds, key = _kinds_and_key(body)
    registration = next((_registry[k] for k in kinds if k in _registry), None)
    kind = registration.kind if registration else kinds[0]
    return Job(kind=kind, tenant_id=_tenant_of(body), body=body, key=key, attempt=attempt), registration


def enqueue_task(name: str, tenant_id: str, data: Mapping[str, Any], *, key: str, delay_s: int = 0) -> None:
    """Queue a ``task:<name>`` job for ``tenant_id``; ``key`` makes it once-only (the same key again is the same
    job: done already, it does nothing)."""
    body = {"type": "task", "task": name, "tenantId": tenant_id, "key": key, "data": dict(data)}
    aws.sqs().send_message(
        QueueUrl=queue_url(queue_name(QueueKind.INTEGRATIONS)), MessageBody=json.dumps(body), DelaySeconds=delay_s
    )


def request_sync(principal: Principal, provider: Provider) -> SyncRequested:
    """Queue the provider's ``<provider>.sync`` task for the caller's tenant now (what its schedule does, e.g.
    Billy's payment poll), at most once a minute; ``NotFound`` when the provider is not connected or has no sync."""
    require(principal, Permission.INTEGRATIONS_MANAGE)
    name = f"{provider.value}.sync"
    if task_kind(name) not in _registry:
        raise NotFound(detail=f"{provider.value} has nothing to sync")
    load_credentials(principal.tenant_id, provider)
    moment = clock.now()
    enqueue_task(name, principal.tenant_id, {}, key=f"manual-{clock.to_epoch(moment) // 60}")
    return SyncRequested(provider=provider, task=name, queued_at=clock.isoformat(moment))


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, ProviderError):
        return exc.retryable
    if isinstance(exc, (RetryJob, DependencyUnavailable, Conflict)):
        return True
    # Any other application error is a decision (not found, invalid, forbidden): the same run would get it again.
    return not isinstance(exc, (AppError, JobFailed))


def _metric(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def _to_dlq(queued: batch.Job) -> None:
    aws.sqs().send_message(QueueUrl=queue_url(dlq_name(QueueKind.INTEGRATIONS)), MessageBody=queued.body)


def _record_failure(job: Job, registration: _Registration, error: str) -> None:
    _metric("IntegrationJobsFailed")
    logger.warning("integration job failed", extra={"kind": job.kind, "jobKey": job.key, "error": error[:200]})
    if registration.provider is not None:
        record_sync(job.tenant_id, registration.provider, registration.operation, ok=False, error=error)


class _Retry(Exception):
    """Reports the record as a batch item failure (SQS delivers it again after the visibility it was given)."""


def _claim(job: Job) -> tuple[Job, str] | None:
    """Claim the job; returns it (with its earlier attempts) and our lease, or None when it is done already."""
    found = store.get_job(job.tenant_id, job.key)
    if found is not None and found.status == "done":
        return None
    now = clock.now()
    lease = new_id(now)
    at = clock.isoformat(now)
    record = JobRecord(
        key=job.key,
        kind=job.kind,
        status="running",
        attempts=(found.attempts + 1) if found else 1,
        lease_id=lease,
        lease_until=clock.to_epoch(now) + LEASE_S,
        error=found.error if found else None,
        started_at=found.started_at if found else at,
        updated_at=at,
    )
    other = store.claim_job(job.tenant_id, record, clock.to_epoch(now))
    if other is None:
        return replace(job, previous_attempts=record.attempts - 1), lease
    if other.status == "done":
        return None
    raise _Retry(f"job {job.key} is being run by another worker")


def _finish(job: Job, lease: str, status: str, error: str | None = None) -> None:
    changes: dict[str, Any] = {"status": status, "updatedAt": clock.now_iso()}
    if error is not None:
        changes["error"] = error[:_MAX_ERROR]
    if not store.finish_job(job.tenant_id, job.key, lease, changes):
        logger.warning("integration job lease lost before it finished", extra={"kind": job.kind, "jobKey": job.key})


def _run(job: Job, registration: _Registration, queued: batch.Job) -> None:
    claimed = _claim(job)
    if claimed is None:
        logger.info("integration job already done", extra={"kind": job.kind, "jobKey": job.key})
        return
    job, lease = claimed
    try:
        detail = registration.handler(job)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, (ProviderError, AppError)) else str(exc)
        if not _retryable(exc):
            _finish(job, lease, "failed", error)
            _record_failure(job, registration, error)
            _to_dlq(queued)
            return
        if not isinstance(exc, (ProviderError, AppError, RetryJob)):
            logger.exception("integration job raised", extra={"kind": job.kind, "jobKey": job.key})
        if queued.last_attempt:  # the queue helper hands the message on to the DLQ
            _finish(job, lease, "failed", f"gave up after {job.attempt} attempts: {error}")
            _record_failure(job, registration, f"gave up after {job.attempt} attempts: {error}")
        else:  # the queue helper hides the message for the backoff
            _finish(job, lease, "retrying", error)
            _metric("IntegrationJobsRetried")
        raise batch.RetryLater(error) from exc
    _finish(job, lease, "done")
    _metric("IntegrationJobsDone")
    if detail and registration.provider is not None:
        record_sync(job.tenant_id, registration.provider, registration.operation, ok=True, detail=detail)


def _handle(queued: batch.Job) -> None:
    try:
        body = json.loads(queued.body)
        job, registration = job_of(body, queued.attempt)
    except (ValueError, KeyError, TypeError) as exc:
        logger.error("integration job unreadable: moved to the DLQ", extra={"error": str(exc)[:200]})
        _metric("IntegrationJobsUnreadable")
        _to_dlq(queued)
        return
    if registration is None:
        _metric("IntegrationJobsUnhandled")
        if job.kind.startswith("workflow:"):
            # An action no capability implements (yet) for this entity type: like a tenant without the
            # integration it needs, there is nothing to do. The entity and its status change are recorded anyway.
            logger.info("no handler for workflow action: nothing to do", extra={"kind": job.kind})
            return
        # A provider's event or a task is data: kept, not dropped; once a capability handles it, a redrive runs it.
        logger.warning("no handler for integration job: moved to the DLQ", extra={"kind": job.kind})
        _to_dlq(queued)
        return
    with tenant_scope(job.tenant_id):
        _run(job, registration, queued)


def handle_batch(event: dict[str, Any]) -> dict[str, Any]:
    """Handle an SQS batch of the integrations queue; returns the ``batchItemFailures`` Lambda expects."""
    settings = get_settings()
    backoff = batch.Backoff(settings.integration_retry_base_s, settings.integration_retry_max_s)
    return batch.consume(event, _handle, queue=QueueKind.INTEGRATIONS, backoff=backoff)
