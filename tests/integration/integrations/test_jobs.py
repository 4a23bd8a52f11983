"""The integrations queue's consumer on the local stack: once per message, retried with backoff, then the DLQ,
failures in the integration's sync log, and the DLQ redriven."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.resources import RULES, QueueKind, dlq_name, queue_name, queue_url
from chalicelib.integrations import jobs, redrive, store
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.http import Failure, ProviderError
from tests.support.inbound_hooks import take_messages

KIND = "task:test.echo"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The real handlers plus what a test registers; retries without waiting."""
    monkeypatch.setattr(jobs, "_registry", dict(jobs._registry))
    monkeypatch.setenv("BTRIX_INTEGRATION_RETRY_BASE_S", "0")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def _dlq_bodies(tenant_id: str) -> list[dict[str, Any]]:
    """Take this tenant's messages out of the integrations DLQ (others' are left there)."""
    taken = take_messages(QueueKind.INTEGRATIONS, lambda body: body.get("tenantId") == tenant_id, dead=True)
    return [body for body, _ in taken]


def _dead_letters(tenant_id: str) -> Callable[[], list[dict[str, Any]]]:
    """A reader that gathers this tenant's dead letters: each call takes what arrived and answers all so far."""
    found: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        found.extend(_dlq_bodies(tenant_id))
        return found

    return read


def _recorder(outcomes: list[BaseException | str | None]) -> tuple[list[jobs.Job], Callable[[jobs.Job], str | None]]:
    runs: list[jobs.Job] = []

    def handle(job: jobs.Job) -> str | None:
        runs.append(job)
        outcome = outcomes.pop(0) if outcomes else "done"
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return runs, handle


def _job_status(tenant_id: str, key: str) -> str | None:
    with tenant_scope(tenant_id):
        found = store.get_job(tenant_id, key)
    return None if found is None else found.status


def test_a_job_runs_once_however_often_its_message_comes(registry: None, drain: Any, tenant_id: str) -> None:
    runs, handle = _recorder([])
    jobs.register(KIND, handle)
    for _ in range(3):
        jobs.enqueue_task("test.echo", tenant_id, {"n": 1}, key="once")
    drain(lambda: len(runs) >= 1 and _job_status(tenant_id, runs[0].key) == "done")
    drain(lambda: not _queue_busy())
    assert len(runs) == 1
    assert runs[0].data == {"n": 1}


def _queue_busy() -> bool:
    """Whether the integrations queue still holds messages (of any test: the drain handles them all)."""
    attributes = aws.sqs().get_queue_attributes(
        QueueUrl=queue_url(queue_name(QueueKind.INTEGRATIONS)),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return any(int(v) for v in attributes.values())


def test_a_provider_outage_is_retried_until_it_passes(registry: None, drain: Any, tenant_id: str) -> None:
    outage = ProviderError("Billy answered 503", failure=Failure.RETRYABLE, status=503)
    runs, handle = _recorder([outage, outage, "invoice 7 created"])
    jobs.register(KIND, handle, provider=Provider.BILLY, operation="create_invoice")
    jobs.enqueue_task("test.echo", tenant_id, {}, key="retried")
    drain(lambda: _job_status(tenant_id, runs[0].key if runs else "-") == "done")
    assert [job.attempt for job in runs] == [1, 2, 3]
    assert [job.previous_attempts for job in runs] == [0, 1, 2]
    with tenant_scope(tenant_id):
        logs, _ = store.list_sync_logs(tenant_id, Provider.BILLY, 10, None)
    assert [(e.operation, e.ok, e.detail) for e in logs] == [("create_invoice", True, "invoice 7 created")]


def test_a_refusal_goes_to_the_dlq_at_once_visible_and_redrivable(registry: None, drain: Any, tenant_id: str) -> None:
    detail = "Billy answered 422: invoice.contactId is not a contact"
    refusal = ProviderError(detail, failure=Failure.REJECTED, status=422)
    runs, handle = _recorder([refusal])
    jobs.register(KIND, handle, provider=Provider.BILLY, operation="create_invoice")
    jobs.enqueue_task("test.echo", tenant_id, {}, key="refused")
    drain(lambda: _job_status(tenant_id, runs[0].key if runs else "-") == "failed")
    assert len(runs) == 1
    with tenant_scope(tenant_id):
        logs, _ = store.list_sync_logs(tenant_id, Provider.BILLY, 10, None)
    assert logs[0].ok is False
    assert "contactId" in str(logs[0].error)
    dead = _dlq_bodies(tenant_id)
    assert [body["key"] for body in dead] == ["refused"]
    # An operator fixes the cause and redrives: the job runs again and succeeds.
    aws.sqs().send_message(QueueUrl=queue_url(dlq_name(QueueKind.INTEGRATIONS)), MessageBody=json.dumps(dead[0]))
    assert redrive.redrive() >= 1
    drain(lambda: _job_status(tenant_id, runs[0].key) == "done")
    assert len(runs) == 2


def test_an_outage_that_lasts_gives_up_after_the_queues_attempts(registry: None, drain: Any, tenant_id: str) -> None:
    runs, handle = _recorder([ProviderError("Google answered 503", failure=Failure.RETRYABLE, status=503)] * 10)
    jobs.register(KIND, handle, provider=Provider.GOOGLE_CALENDAR, operation="create_calendar_event")
    jobs.enqueue_task("test.echo", tenant_id, {}, key="exhausted")
    dead = _dead_letters(tenant_id)
    drain(lambda: bool(dead()), timeout_s=60)
    assert len(runs) == jobs.MAX_ATTEMPTS
    assert _job_status(tenant_id, runs[0].key) == "failed"
    with tenant_scope(tenant_id):
        logs, _ = store.list_sync_logs(tenant_id, Provider.GOOGLE_CALENDAR, 10, None)
    assert f"gave up after {jobs.MAX_ATTEMPTS} attempts" in str(logs[0].error)


def test_a_task_no_handler_takes_is_kept_in_the_dlq(registry: None, drain: Any, tenant_id: str) -> None:
    jobs.enqueue_task("nobody.handles.this", tenant_id, {}, key="lost")
    dead = _dead_letters(tenant_id)
    drain(lambda: bool(dead()))
    assert [body["task"] for body in dead()] == ["nobody.handles.this"]


def test_a_workflow_action_nothing_implements_is_acknowledged(registry: None, drain: Any, tenant_id: str) -> None:
    action = {
        "source": "workflow",
        "action": "send_payment_link",
        "tenantId": tenant_id,
        "entityType": "appointment",
        "entityId": "A1",
        "status": "PENDING",
        "executionId": f"arn:aws:states:us-east-1:123456789012:execution:m:{tenant_id}",
        "state": "PENDING.OnEnter.1.send_payment_link",
        "enteredAt": "2026-01-01T10:00:00.000Z",
    }
    sqs = aws.sqs()
    sqs.send_message(QueueUrl=queue_url(queue_name(QueueKind.INTEGRATIONS)), MessageBody=json.dumps(action))
    drain(lambda: not _queue_busy())
    assert _dlq_bodies(tenant_id) == []


def _sync_log(tenant_id: str, provider: Provider) -> list[tuple[str, bool]]:
    with tenant_scope(tenant_id):
        logs, _ = store.list_sync_logs(tenant_id, provider, 10, None)
    return [(entry.operation, entry.ok) for entry in logs]


def test_a_failing_handler_is_retried_alone_while_the_other_ran_once(
    registry: None, drain: Any, tenant_id: str
) -> None:
    outage = ProviderError("Google answered 503", failure=Failure.RETRYABLE, status=503)
    steady_runs, steady = _recorder(["invoice 7 created"])
    flaky_runs, flaky = _recorder([outage, outage, "event created"])
    jobs.register(KIND, steady, provider=Provider.BILLY, operation="create_invoice", name="steady")
    jobs.register(KIND, flaky, provider=Provider.GOOGLE_CALENDAR, operation="create_calendar_event", name="flaky")
    jobs.enqueue_task("test.echo", tenant_id, {"n": 2}, key="fan-out")
    drain(lambda: _job_status(tenant_id, flaky_runs[-1].key if flaky_runs else "-") == "done")
    assert len(steady_runs) == 1  # the redelivered message skipped the handler already done
    assert [job.attempt for job in flaky_runs] == [1, 2, 3]
    assert steady_runs[0].key != flaky_runs[0].key
    assert _job_status(tenant_id, steady_runs[0].key) == "done"
    assert _sync_log(tenant_id, Provider.BILLY) == [("create_invoice", True)]
    assert _sync_log(tenant_id, Provider.GOOGLE_CALENDAR) == [("create_calendar_event", True)]


def test_a_poison_handler_goes_to_the_dlq_alone_and_its_redrive_runs_only_it(
    registry: None, drain: Any, tenant_id: str
) -> None:
    refusal = ProviderError("Billy answered 422: contact is archived", failure=Failure.REJECTED, status=422)
    outage = ProviderError("Google answered 503", failure=Failure.RETRYABLE, status=503)
    poison_runs, poison = _recorder([refusal])
    flaky_runs, flaky = _recorder([outage, "event created"])
    jobs.register(KIND, poison, provider=Provider.BILLY, operation="create_invoice", name="poison")
    jobs.register(KIND, flaky, provider=Provider.GOOGLE_CALENDAR, operation="create_calendar_event", name="flaky")
    jobs.enqueue_task("test.echo", tenant_id, {}, key="poisoned")
    dead = _dead_letters(tenant_id)
    drain(lambda: _job_status(tenant_id, flaky_runs[-1].key if flaky_runs else "-") == "done" and bool(dead()))
    drain(lambda: not _queue_busy())
    # The refusal was dead-lettered once, naming its handler; the retry of the other one did not run it again.
    assert len(poison_runs) == 1
    assert len(flaky_runs) == 2
    assert [(body["key"], body[jobs.HANDLER_FIELD]) for body in dead()] == [("poisoned", "poison")]
    assert _job_status(tenant_id, poison_runs[0].key) == "failed"
    assert _sync_log(tenant_id, Provider.BILLY) == [("create_invoice", False)]
    # Redriven (the cause fixed): only the poisoned handler runs, and succeeds.
    aws.sqs().send_message(QueueUrl=queue_url(dlq_name(QueueKind.INTEGRATIONS)), MessageBody=json.dumps(dead()[0]))
    assert redrive.redrive() >= 1
    drain(lambda: _job_status(tenant_id, poison_runs[0].key) == "done")
    drain(lambda: not _queue_busy())
    assert (len(poison_runs), len(flaky_runs)) == (2, 2)
    assert poison_runs[1].previous_attempts == 1


def _routes(event_type: str, patterns: tuple[str, ...]) -> bool:
    return any(p == event_type or (p.endswith("*") and event_type.startswith(p[:-1])) for p in patterns)


def test_every_domain_event_a_handler_takes_reaches_the_integrations_queue_by_one_rule() -> None:
    import app  # noqa: F401 - registers every capability's handlers

    rules = [rule for rule in RULES if rule.target is QueueKind.INTEGRATIONS]
    followed = [kind.removeprefix("event:") for kind in jobs.registered() if kind.startswith("event:")]
    assert {"order.created", "payment.succeeded", "sale.status_changed", "lead.created"} <= set(followed)
    for event_type in followed:
        # None: its handlers would never run; two: every event would arrive twice (the jobs would dedupe, at a cost).
        assert len([r.name for r in rules if _routes(event_type, r.detail_types)]) == 1, event_type
