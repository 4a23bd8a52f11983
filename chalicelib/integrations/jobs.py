"""The integrations queue's consumer: one dispatcher keyed by message kind, where capabilities register handlers
(several may take one kind: each message fans out to all of them, each handler's work its own job).

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
log. Each message is one job per handler of its kind, each run once: the message's key (execution + state +
enteredAt for an action, the event id for an event, the task's key, else a hash of the body) with the handler's name
names a job record claimed with a lease before the handler runs; a redelivered message skips the handlers whose job
is done, and waits for one whose job another worker holds. A handler must still tolerate a second run after a crash
in its middle (``job.previous_attempts``): providers are called with ids of our own where they allow it, and
half-done work is looked up before it is redone.

Failures are each handler's own: its job record, its provider's sync log and ``lastError``. A retryable one
(provider unavailable or throttling, our database or a race, an unexpected error) makes the message a ``RetryLater``
for the queue helper (``core.batch.consume``), which hides it for a full-jitter backoff
(``BTRIX_INTEGRATION_RETRY_BASE_S`` doubling up to ``…_MAX_S``), the queue's receive count being the attempt; it
comes back for the handlers not done yet only. A fatal one (credentials refused, the provider rejecting our data, a
handler's ``JobFailed``), or a retryable one at the queue's last attempt, sends a dead letter to the DLQ naming that
handler alone (``btrixHandler``): the others' work stays done, a redelivery of the message skips it, and ``python -m
chalicelib.integrations.redrive`` puts it back on the queue, where that one job runs again. A provider event or task
no handler takes goes to the DLQ whole (a workflow action nothing implements is acknowledged: nothing to do).

One responsibility: the integrations queue's dispatcher (kinds, fan-out to handlers, job claims, retries, dead letters).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core import aws, batch, capabilities, clock
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.errors import AppError, Conflict, DependencyUnavailable, NotFound
from chalicelib.core.ids import new_id
from chalicelib.core.observability import MetricUnit, logger, metrics
from chalicelib.core.resources import QUEUES, QueueKind, dlq_name, queue_name, queue_url
from chalicelib.integrations import store
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.http import ProviderError
from chalicelib.integrations.models import JobRecord, SyncRequested
from chalicelib.integrations.service import connected_tenants, load_credentials, record_sync

__all__ = [
    "HANDLER_FIELD",
    "MAX_ATTEMPTS",
    "Job",
    "JobFailed",
    "JobHandler",
    "RetryJob",
    "enqueue_task",
    "event_kind",
    "gives_up",
    "handle_batch",
    "handlers_of",
    "job_of",
    "jobs_of",
    "provider_kind",
    "queue_per_tenant",
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
# A dead letter names the one handler it is for: redriven, it runs that handler's job and no other.
HANDLER_FIELD = "btrixHandler"


@dataclass(frozen=True)
class Job:
    """One message of the integrations queue, as a handler gets it."""

    kind: str
    tenant_id: str
    body: Mapping[str, Any]
    key: str
    attempt: int
    previous_attempts: int = 0
    handler: str = ""

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
    name: str
    provider: Provider | None
    operation: str


# Tuples, never changed in place: a test's shallow copy of the registry cannot leak into the real one.
_registry: dict[str, tuple[_Registration, ...]] = {}


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


def register(
    kind: str,
    handler: JobHandler,
    *,
    provider: Provider | None = None,
    operation: str | None = None,
    name: str | None = None,
) -> None:
    """Run ``handler`` for messages of ``kind``; its failures (and the lines it returns) go to ``provider``'s sync
    log as ``operation`` (default: the kind). Several handlers may take one kind: each runs once per message as its
    own job, keyed by ``name`` (default: the handler's module and qualified name; keep it stable, a renamed handler
    would run again for a message it already handled). Registering the same handler again does nothing (a module
    imported twice); another handler under a name the kind already has is a programming error."""
    if not _KIND.match(kind):
        raise ValueError(f"not a job kind: {kind!r} (workflow:…, <provider>:…, event:…, task:…)")
    name = name or f"{handler.__module__}.{handler.__qualname__}"
    current = _registry.get(kind, ())
    for existing in current:
        if existing.handler is handler:
            return
        if existing.name == name:
            raise ValueError(f"{kind} already has a handler named {name}")
    _registry[kind] = (*current, _Registration(kind, handler, name, provider, operation or kind))


def registered() -> list[str]:
    """The kinds that have a handler."""
    capabilities.load_registrations()
    return sorted(_registry)


def handlers_of(kind: str) -> list[str]:
    """The names of the handlers ``kind`` fans out to, in the order they run."""
    capabilities.load_registrations()
    return [registration.name for registration in _registry.get(kind, ())]


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


def jobs_of(body: Mapping[str, Any], attempt: int = 1) -> tuple[Job, list[tuple[Job, _Registration]]]:
    """The message as a job (its kind: the most specific one with handlers; its key), and its job for each handler
    of that kind (none: nobody handles it). A dead letter naming its handler is that handler's job alone."""
    capabilities.load_registrations()  # the most specific kind's handlers may live in a capability not imported yet
    target = body.get(HANDLER_FIELD)
    message = {k: v for k, v in body.items() if k != HANDLER_FIELD}
    kinds, key = _kinds_and_key(message)
    kind = next((k for k in kinds if k in _registry), kinds[0])
    whole = Job(kind=kind, tenant_id=_tenant_of(message), body=message, key=key, attempt=attempt)
    return whole, [
        (replace(whole, key=_digest(key, registration.name), handler=registration.name), registration)
        for registration in _registry.get(kind, ())
        if target is None or registration.name == target
    ]


def job_of(body: Mapping[str, Any], attempt: int = 1) -> tuple[Job, _Registration | None]:
    """The job of a message's first handler and its registration; the message's own job and None when no handler
    takes it (what a kind with one handler needs: ``jobs_of`` gives every handler's)."""
    whole, jobs = jobs_of(body, attempt)
    return jobs[0] if jobs else (whole, None)


def enqueue_task(name: str, tenant_id: str, data: Mapping[str, Any], *, key: str, delay_s: int = 0) -> None:
    """Queue a ``task:<name>`` job for ``tenant_id``; ``key`` makes it once-only (the same key again is the same
    job: done already, it does nothing)."""
    body = {"type": "task", "task": name, "tenantId": tenant_id, "key": key, "data": dict(data)}
    aws.sqs().send_message(
        QueueUrl=queue_url(queue_name(QueueKind.INTEGRATIONS)), MessageBody=json.dumps(body), DelaySeconds=delay_s
    )


def queue_per_tenant(name: str, provider: Provider, *, slot_s: int, delays_s: Sequence[int] = (0,)) -> int:
    """A schedule's fan-out: a ``task:<name>`` per tenant connected to ``provider`` and per delay of ``delays_s``,
    once per slot of ``slot_s`` seconds (keyed by the slot: a schedule firing twice in one slot queues nothing new);
    returns how many tenants."""
    epoch = clock.to_epoch(clock.now())
    slot = epoch - epoch % slot_s
    tenants = 0
    for tenant_id in connected_tenants(provider):
        for delay in delays_s:
            enqueue_task(name, tenant_id, {}, key=f"poll-{slot + delay}", delay_s=delay)
        tenants += 1
    return tenants


def request_sync(principal: Principal, provider: Provider) -> SyncRequested:
    """Queue the provider's ``<provider>.sync`` task for the caller's tenant now (what its schedule does, e.g.
    Billy's payment poll), at most once a minute; ``NotFound`` when the provider is not connected or has no sync."""
    require(principal, Permission.INTEGRATIONS_MANAGE)
    name = f"{provider.value}.sync"
    capabilities.load_registrations()
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


def gives_up(job: Job, exc: BaseException) -> bool:
    """Whether ``exc`` ends ``job`` (dead-lettered: only a redrive runs it again): a failure that trying later cannot
    fix, or one at its last attempt. For a handler that must show the end on its own record."""
    return not _retryable(exc) or job.attempt >= MAX_ATTEMPTS


def _metric(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def _to_dlq(body: str) -> None:
    aws.sqs().send_message(QueueUrl=queue_url(dlq_name(QueueKind.INTEGRATIONS)), MessageBody=body)


def _record_failure(job: Job, registration: _Registration, error: str) -> None:
    _metric("IntegrationJobsFailed")
    logger.warning(
        "integration job failed",
        extra={"kind": job.kind, "handler": job.handler, "jobKey": job.key, "error": error[:200]},
    )
    if registration.provider is not None:
        record_sync(job.tenant_id, registration.provider, registration.operation, ok=False, error=error)


class _Retry(Exception):
    """Reports the record as a batch item failure (SQS delivers it again after the visibility it was given)."""


def _claim(job: Job, message_id: str) -> tuple[Job, str] | None:
    """Claim the job; returns it (with its earlier attempts) and our lease, or None when there is nothing to run: it
    is done, or this very message sent it to the DLQ already (its dead letter will run it)."""
    found = store.get_job(job.tenant_id, job.key)
    if found is not None and (
        found.status == "done" or (found.status == "failed" and found.dead_letter_of == message_id)
    ):
        return None
    now = clock.now()
    lease = new_id(now)
    at = clock.isoformat(now)
    record = JobRecord(
        key=job.key,
        kind=job.kind,
        status="running",
        handler=job.handler or None,
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


def _finish(job: Job, lease: str, status: str, error: str | None = None, *, dead_letter_of: str | None = None) -> None:
    changes: dict[str, Any] = {"status": status, "updatedAt": clock.now_iso()}
    if error is not None:
        changes["error"] = error[:_MAX_ERROR]
    if dead_letter_of is not None:
        changes["deadLetterOf"] = dead_letter_of
    if not store.finish_job(job.tenant_id, job.key, lease, changes):
        logger.warning("integration job lease lost before it finished", extra={"kind": job.kind, "jobKey": job.key})


def _dead_letter(job: Job, registration: _Registration, lease: str, queued: batch.Job, error: str) -> None:
    """The handler's job failed for good: recorded, and the message sent to the DLQ naming that handler alone."""
    _finish(job, lease, "failed", error, dead_letter_of=queued.record.message_id)
    _record_failure(job, registration, error)
    _to_dlq(json.dumps({**job.body, HANDLER_FIELD: job.handler}))


def _run(job: Job, registration: _Registration, queued: batch.Job) -> str | None:
    """Run one handler's job of the message; returns the error when it is to be tried again later."""
    claimed = _claim(job, queued.record.message_id)
    if claimed is None:
        logger.info("integration job already run", extra={"kind": job.kind, "handler": job.handler})
        return None
    job, lease = claimed
    try:
        detail = registration.handler(job)
    # Not hidden: every failure is recorded, and retried or dead-lettered; caught so the message's other handlers run.
    except Exception as exc:  # noqa: BLE001
        error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, (ProviderError, AppError)) else str(exc)
        if not _retryable(exc):
            _dead_letter(job, registration, lease, queued, error)
            return None
        if not isinstance(exc, (ProviderError, AppError, RetryJob)):
            logger.exception("integration job raised", extra={"kind": job.kind, "handler": job.handler})
        if queued.last_attempt:
            _dead_letter(job, registration, lease, queued, f"gave up after {job.attempt} attempts: {error}")
            return None
        _finish(job, lease, "retrying", error)
        _metric("IntegrationJobsRetried")
        return error
    _finish(job, lease, "done")
    _metric("IntegrationJobsDone")
    if detail and registration.provider is not None:
        record_sync(job.tenant_id, registration.provider, registration.operation, ok=True, detail=detail)
    return None


def _handle(queued: batch.Job) -> None:
    try:
        body = json.loads(queued.body)
        whole, runs = jobs_of(body, queued.attempt)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.error("integration job unreadable: moved to the DLQ", extra={"error": str(exc)[:200]})
        _metric("IntegrationJobsUnreadable")
        _to_dlq(queued.body)
        return
    if not runs:
        _metric("IntegrationJobsUnhandled")
        if whole.kind.startswith("workflow:"):
            # An action no capability implements (yet) for this entity type: like a tenant without the
            # integration it needs, there is nothing to do. The entity and its status change are recorded anyway.
            logger.info("no handler for workflow action: nothing to do", extra={"kind": whole.kind})
            return
        # A provider's event or a task is data: kept, not dropped; once a capability handles it, a redrive runs it.
        logger.warning("no handler for integration job: moved to the DLQ", extra={"kind": whole.kind})
        _to_dlq(queued.body)
        return
    retry: list[str] = []
    held: list[str] = []
    with tenant_scope(whole.tenant_id):
        for job, registration in runs:
            try:
                error = _run(job, registration, queued)
            except _Retry as exc:  # another worker runs this one: the others go on
                held.append(str(exc))
                continue
            if error is not None:
                retry.append(error)
    if retry:  # the queue helper hides the message for the backoff; it comes back for these handlers only
        raise batch.RetryLater("; ".join(retry))
    if held:
        raise _Retry("; ".join(held))


def handle_batch(event: dict[str, Any]) -> dict[str, Any]:
    """Handle an SQS batch of the integrations queue; returns the ``batchItemFailures`` Lambda expects."""
    settings = get_settings()
    backoff = batch.Backoff(settings.integration_retry_base_s, settings.integration_retry_max_s)
    return batch.consume(event, _handle, queue=QueueKind.INTEGRATIONS, backoff=backoff)
