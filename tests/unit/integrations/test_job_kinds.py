"""How a message of the integrations queue finds its handler: the kinds it is tried as, most specific first."""

from __future__ import annotations

import pytest

from chalicelib.integrations import jobs


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "_registry", {})


def _handler(job: jobs.Job) -> None:
    return None


def _action(action: str, entity_type: str) -> dict[str, str]:
    return {
        "source": "workflow",
        "action": action,
        "tenantId": "T1",
        "entityType": entity_type,
        "entityId": "S1",
        "status": "COMPLETED",
        "executionId": "arn:exec:1",
        "state": "COMPLETED.OnEnter.1.create_invoice",
        "enteredAt": "2026-01-01T10:00:00.000Z",
    }


def test_a_workflow_action_goes_to_its_entity_types_handler_before_the_generic_one() -> None:
    jobs.register("workflow:create_invoice", _handler)
    job, found = jobs.job_of(_action("create_invoice", "order"))
    assert found is not None
    assert (job.kind, job.tenant_id) == ("workflow:create_invoice", "T1")
    jobs.register("workflow:create_invoice:sale", _handler)
    job, found = jobs.job_of(_action("create_invoice", "sale"))
    assert job.kind == "workflow:create_invoice:sale"


def test_the_same_action_is_the_same_job_and_another_entering_is_another() -> None:
    first, _ = jobs.job_of(_action("create_invoice", "sale"))
    again, _ = jobs.job_of(_action("create_invoice", "sale"))
    later, _ = jobs.job_of({**_action("create_invoice", "sale"), "enteredAt": "2026-01-02T10:00:00.000Z"})
    assert first.key == again.key != later.key


def test_provider_events_go_by_event_type_then_to_the_providers_catch_all() -> None:
    stripe = {"type": "stripe.event", "provider": "stripe", "tenantId": "T1", "event": {"id": "evt_1", "type": "x.y"}}
    email = {"type": "email.received", "provider": "email", "tenantId": "T1", "email": {"messageId": "m1"}}
    mercadopago = {"type": "mercadopago.notification", "provider": "mercadopago", "tenantId": "T1", "topic": "payment"}
    jobs.register("stripe:*", _handler)
    jobs.register("email:received", _handler)
    jobs.register("mercadopago:payment", _handler)
    assert jobs.job_of(stripe)[0].kind == "stripe:*"
    assert jobs.job_of(email)[0].kind == "email:received"
    assert jobs.job_of(mercadopago)[0].kind == "mercadopago:payment"


def _other(job: jobs.Job) -> None:
    return None


def test_a_kind_without_a_handler_is_reported_and_a_name_taken_twice_is_refused() -> None:
    job, found = jobs.job_of({"type": "task", "task": "billy.poll", "tenantId": "T1", "key": "k"})
    assert (job.kind, found) == ("task:billy.poll", None)
    jobs.register("task:billy.poll", _handler)
    jobs.register("task:billy.poll", _handler)  # the same one again (a module imported twice) is fine
    assert jobs.handlers_of("task:billy.poll") == [f"{__name__}._handler"]
    with pytest.raises(ValueError, match="already has a handler named"):
        jobs.register("task:billy.poll", lambda job: None, name=f"{__name__}._handler")
    with pytest.raises(ValueError, match="not a job kind"):
        jobs.register("no kind", _handler)


def test_a_message_fans_out_to_every_handler_of_its_kind_each_its_own_job() -> None:
    jobs.register("task:billy.poll", _handler)
    jobs.register("task:billy.poll", _other, name="other")
    body = {"type": "task", "task": "billy.poll", "tenantId": "T1", "key": "k"}
    whole, runs = jobs.jobs_of(body)
    assert [(job.kind, job.handler) for job, _ in runs] == [
        ("task:billy.poll", f"{__name__}._handler"),
        ("task:billy.poll", "other"),
    ]
    keys = {job.key for job, _ in runs}
    assert len(keys) == 2
    assert whole.key not in keys
    again = {job.key for job, _ in jobs.jobs_of(dict(body))[1]}
    assert again == keys  # the same message again: the same two jobs


def test_a_dead_letter_naming_its_handler_is_that_handlers_job_alone() -> None:
    jobs.register("task:billy.poll", _handler)
    jobs.register("task:billy.poll", _other, name="other")
    body = {"type": "task", "task": "billy.poll", "tenantId": "T1", "key": "k"}
    _, runs = jobs.jobs_of(body)
    _, letter = jobs.jobs_of({**body, jobs.HANDLER_FIELD: "other"})
    assert [(job.handler, job.key) for job, _ in letter] == [("other", runs[1][0].key)]
    assert jobs.HANDLER_FIELD not in letter[0][0].body


def test_an_event_job_reads_its_data_and_is_keyed_by_the_event_id() -> None:
    envelope = {
        "id": "eb-1",
        "detail-type": "sale.updated",
        "source": "btrix",
        "detail": {"id": "EV1", "type": "sale.updated", "tenantId": "T1", "data": {"changed": ["scheduledAt"]}},
    }
    job, _ = jobs.job_of(envelope)
    republished, _ = jobs.job_of({**envelope, "id": "eb-2"})
    assert job.kind == "event:sale.updated"
    assert job.data == {"changed": ["scheduledAt"]}
    assert job.key == republished.key
