"""The workflow engine on the local stack: compiled machines executed by moto, the worker draining the
workflow-tasks queue into the app's consumer, transitions made through the same service as the API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import EndpointConnectionError

from chalicelib.access.permissions import Role
from chalicelib.core import aws
from chalicelib.core.db import keys
from chalicelib.core.db.store import Table, condition_op, put_op
from chalicelib.core.errors import AppError, Conflict, Forbidden, InvalidInput, LimitExceeded, NotFound
from chalicelib.core.pagination import PageParams
from chalicelib.core.resources import QueueKind, queue_name
from chalicelib.notifications.outbox import list_messages
from chalicelib.workflows import engine, store
from chalicelib.workflows.engine import TransitionContext, TransitionEffects
from tests.integration.workflows.conftest import (
    TEST_KIND,
    TEST_TYPE,
    actor,
    entity,
    execution_status,
    flow,
    iso_in,
    new_entity,
    parked_in,
    use_flow,
)
from tests.support.identity import Account, signup

pytestmark = pytest.mark.usefixtures("registered")
Drain = Callable[..., None]


@pytest.fixture(scope="module")
def admin(api: Any) -> Account:
    """One tenant for the module (signups are rate limited): each test writes its flow first and runs its own
    entities, which keep the flow version they started with."""
    account, _ = signup(api, businessType="restaurant")
    return account


def _actions_sent(tenant_id: str, entity_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(queue name, message) of each on-enter action the entity's execution sent, from its history: the job
    queues are shared by every test and nothing consumes them yet, so the queues themselves prove little."""
    arn = store.get_runtime(tenant_id, TEST_KIND, entity_id).execution_arn
    events = aws.stepfunctions().get_execution_history(executionArn=str(arn), maxResults=1000)["events"]
    sent = []
    for i, event in enumerate(events):
        scheduled = event.get("taskScheduledEventDetails")
        if scheduled is None:
            continue
        parameters = json.loads(scheduled["parameters"])
        body = parameters["MessageBody"]
        if "action" not in body:
            continue  # a park or timer task
        outcome = next(e for e in events[i + 1 :] if e["type"] in ("TaskSucceeded", "TaskFailed"))
        if outcome["type"] == "TaskSucceeded" and "MessageId" in outcome["taskSucceededEventDetails"]["output"]:
            sent.append((str(parameters["QueueUrl"]).rsplit("/", 1)[-1], body))
    return sent


def test_an_entity_runs_through_its_machine_to_the_end(api: Any, admin: Account, drain: Drain) -> None:
    use_flow(api, admin, flow())
    entity_id = new_entity(admin.tenant_id)
    drain(lambda: parked_in(admin.tenant_id, entity_id, "PENDING"))
    assert execution_status(admin.tenant_id, entity_id) == "RUNNING"
    ((queue, notify),) = _actions_sent(admin.tenant_id, entity_id)
    assert queue == queue_name(QueueKind.NOTIFICATIONS)
    assert (notify["action"], notify["template"], notify["to"], notify["status"]) == (
        "notify",
        "sale.received",
        "customer",
        "PENDING",
    )
    assert (notify["tenantId"], notify["entityId"]) == (admin.tenant_id, entity_id)

    staff = actor(admin, Role.STAFF)
    moved = engine.transition(staff, TEST_TYPE, entity_id, "ACTIVE", "customer paid", 1)
    assert (moved.from_status, moved.to_status, moved.version) == ("PENDING", "ACTIVE", 2)
    assert entity(admin.tenant_id, entity_id)["status"] == "ACTIVE"
    drain(lambda: parked_in(admin.tenant_id, entity_id, "ACTIVE"))

    engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, entity_id, "DONE", None, 2)
    drain(lambda: execution_status(admin.tenant_id, entity_id) != "RUNNING")
    assert execution_status(admin.tenant_id, entity_id) == "SUCCEEDED"
    queue, done = _actions_sent(admin.tenant_id, entity_id)[-1]
    assert (queue, done["action"], done["event"]) == (
        queue_name(QueueKind.WEBHOOK_DELIVERIES),
        "emit_webhook",
        "sale.done",
    )

    history = engine.history(admin.tenant_id, TEST_TYPE, entity_id, PageParams())
    assert [(h.from_, h.to, h.trigger, h.version) for h in history.items] == [
        ("PENDING", "ACTIVE", "user", 2),
        ("ACTIVE", "DONE", "user", 3),
    ]
    assert history.items[0].actor_id == staff.user_id
    assert history.items[0].note == "customer paid"


def test_an_unconfirmed_entity_is_cancelled_by_its_timer(api: Any, admin: Account, drain: Drain) -> None:
    use_flow(api, admin, flow(pending_timer={"afterSeconds": 2, "transitionTo": "CANCELLED"}))
    entity_id = new_entity(admin.tenant_id)
    drain(lambda: execution_status(admin.tenant_id, entity_id) != "RUNNING")
    assert execution_status(admin.tenant_id, entity_id) == "SUCCEEDED"
    item = entity(admin.tenant_id, entity_id)
    assert (item["status"], item["version"]) == ("CANCELLED", 2)
    (change,) = engine.history(admin.tenant_id, TEST_TYPE, entity_id, PageParams()).items
    assert (change.from_, change.to, change.trigger, change.actor_id) == ("PENDING", "CANCELLED", "timer", "system")
    # The timer's transition went through the same checks: a client still at version 1 now loses.
    with pytest.raises(Conflict):
        engine.transition(actor(admin, Role.STAFF), TEST_TYPE, entity_id, "ACTIVE", None, 1)


def test_a_reminder_is_recorded_once_and_the_entity_stays_parked(api: Any, admin: Account, drain: Drain) -> None:
    reminder = {"template": "sale.nudge", "channel": "whatsapp", "to": "customer"}
    use_flow(api, admin, flow(active_timers=[{"afterSeconds": 2, "remind": reminder}]))
    entity_id = new_entity(admin.tenant_id)
    engine.transition(actor(admin, Role.STAFF), TEST_TYPE, entity_id, "ACTIVE", None, 1)
    drain(lambda: parked_in(admin.tenant_id, entity_id, "ACTIVE", timer=1))

    nudges = [m for m in list_messages(admin.tenant_id) if m.template == "sale.nudge"]
    assert len(nudges) == 1
    assert (nudges[0].to, nudges[0].channel, nudges[0].locale) == ("customer:cust-1", "whatsapp", "pt-BR")
    assert nudges[0].variables["entityId"] == entity_id
    assert entity(admin.tenant_id, entity_id)["status"] == "ACTIVE"
    assert execution_status(admin.tenant_id, entity_id) == "RUNNING"

    engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, entity_id, "DONE", None, 2)
    drain(lambda: execution_status(admin.tenant_id, entity_id) == "SUCCEEDED")
    assert len([m for m in list_messages(admin.tenant_id) if m.template == "sale.nudge"]) == 1


def test_reminders_before_a_timestamp_fire_then_and_past_ones_are_skipped(
    api: Any, admin: Account, drain: Drain
) -> None:
    def remind(template: str) -> dict[str, Any]:
        return {"template": template, "channel": "sms", "to": "customer"}

    use_flow(
        api,
        admin,
        flow(
            pending_timer={"afterSeconds": 3600, "transitionTo": "CANCELLED"},
            active_timers=[
                {"beforeField": "startsAt", "beforeSeconds": 3600, "remind": remind("sale.reminder_1h")},
                {"beforeField": "startsAt", "beforeSeconds": 1, "remind": remind("sale.reminder_1s")},
            ],
        ),
    )
    entity_id = new_entity(admin.tenant_id, startsAt=iso_in(5))
    engine.transition(actor(admin, Role.STAFF), TEST_TYPE, entity_id, "ACTIVE", None, 1)
    drain(lambda: parked_in(admin.tenant_id, entity_id, "ACTIVE", timer=2))
    templates = [m.template for m in list_messages(admin.tenant_id) if (m.template or "").startswith("sale.reminder")]
    # Booked 5 s ahead: the 1 h reminder's moment had passed when the entity got there.
    assert templates == ["sale.reminder_1s"]


def test_two_concurrent_transitions_one_wins_the_other_conflicts(api: Any, admin: Account, drain: Drain) -> None:
    use_flow(api, admin, flow())
    entity_id = new_entity(admin.tenant_id)
    drain(lambda: parked_in(admin.tenant_id, entity_id, "PENDING"))
    staff = actor(admin, Role.STAFF)
    barrier = threading.Barrier(2)
    outcomes: dict[str, Any] = {}

    def move(to: str) -> None:
        barrier.wait()
        try:
            outcomes[to] = engine.transition(staff, TEST_TYPE, entity_id, to, None, 1).to_status
        except Conflict as exc:
            outcomes[to] = exc

    threads = [threading.Thread(target=move, args=(to,)) for to in ("ACTIVE", "CANCELLED")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [v for v in outcomes.values() if isinstance(v, str)]
    assert len(winners) == 1
    assert sum(isinstance(v, Conflict) for v in outcomes.values()) == 1
    item = entity(admin.tenant_id, entity_id)
    assert (item["status"], item["version"]) == (winners[0], 2)
    assert len(engine.history(admin.tenant_id, TEST_TYPE, entity_id, PageParams()).items) == 1
    if winners[0] == "ACTIVE":
        drain(lambda: parked_in(admin.tenant_id, entity_id, "ACTIVE"))
    else:
        drain(lambda: execution_status(admin.tenant_id, entity_id) == "SUCCEEDED")


def test_a_transition_before_the_machine_parks_is_caught_up(api: Any, admin: Account, drain: Drain) -> None:
    use_flow(api, admin, flow())
    entity_id = new_entity(admin.tenant_id)
    # No worker has run: the park message is still in the queue, no token is stored.
    engine.transition(actor(admin, Role.STAFF), TEST_TYPE, entity_id, "ACTIVE", None, 1)
    engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, entity_id, "DONE", None, 2)
    drain(lambda: execution_status(admin.tenant_id, entity_id) != "RUNNING")
    assert execution_status(admin.tenant_id, entity_id) == "SUCCEEDED"


def test_transitions_are_checked_against_the_definition_role_and_version(api: Any, admin: Account) -> None:
    use_flow(api, admin, flow())
    entity_id = new_entity(admin.tenant_id)
    with pytest.raises(Forbidden, match="KITCHEN"):
        engine.transition(actor(admin, Role.KITCHEN), TEST_TYPE, entity_id, "ACTIVE", None, 1)
    with pytest.raises(InvalidInput) as skipped:
        engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, entity_id, "DONE", None, 1)
    assert skipped.value.errors[0].loc == "body.to"
    with pytest.raises(InvalidInput, match="not a status"):
        engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, entity_id, "SHIPPED", None, 1)
    with pytest.raises(Conflict):
        engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, entity_id, "ACTIVE", None, 7)
    engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, entity_id, "CANCELLED", None, 1)
    with pytest.raises(InvalidInput, match="final"):
        engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, entity_id, "ACTIVE", None, 2)
    with pytest.raises(NotFound):
        engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, "01NOSUCHENTITY0000000000000", "ACTIVE", None, 1)
    other_tenant = Account("another-tenant", "u", "e", Role.ADMIN, "", "")
    with pytest.raises(NotFound):
        engine.transition(actor(other_tenant, Role.MANAGER), TEST_TYPE, entity_id, "ACTIVE", None, 2)


def test_entities_keep_the_workflow_version_they_started_with(api: Any, admin: Account) -> None:
    first = use_flow(api, admin, flow())
    old = new_entity(admin.tenant_id)
    # Version 2: a pending entity can no longer be cancelled (its timer reminds instead).
    stricter = flow(
        pending_timer={"afterSeconds": 3600, "remind": {"template": "x", "channel": "sms", "to": "customer"}}
    )
    stricter["transitions"] = [t for t in stricter["transitions"] if t["to"] != "CANCELLED" or t["from"] == "ACTIVE"]
    second = use_flow(api, admin, stricter)
    young = new_entity(admin.tenant_id)
    assert (entity(admin.tenant_id, old)["workflowVersion"], entity(admin.tenant_id, young)["workflowVersion"]) == (
        first,
        second,
    )
    manager = actor(admin, Role.MANAGER)
    assert engine.transition(manager, TEST_TYPE, old, "CANCELLED", None, 1).to_status == "CANCELLED"
    with pytest.raises(InvalidInput):
        engine.transition(manager, TEST_TYPE, young, "CANCELLED", None, 1)


def test_the_owners_writes_share_the_transaction(api: Any, admin: Account, registered: Any) -> None:
    seen: list[TransitionContext] = []

    def hook(context: TransitionContext) -> TransitionEffects:
        seen.append(context)
        pk = keys.entity_pk(context.tenant_id, TEST_KIND, context.entity_id)
        if context.to_status == "CANCELLED":
            # e.g. releasing stock that is not there: the whole transition fails with the owner's error
            shortage = LimitExceeded(detail="stock", limit="stock")
            return TransitionEffects(ops=[condition_op(pk, "NO-SUCH-ITEM", Attr("PK").exists(), conflict=shortage)])
        return TransitionEffects(
            changes={"activatedAt": context.at},
            ops=[put_op({"PK": pk, "SK": "RESERVATION#1", "entity": "TestReservation"})],
            event_data={"note": "activated by its owner"},
        )

    registered(hook)
    use_flow(api, admin, flow())
    entity_id = new_entity(admin.tenant_id)
    result = engine.transition(actor(admin, Role.STAFF), TEST_TYPE, entity_id, "ACTIVE", None, 1)
    assert result.entity["activatedAt"] == seen[0].at
    assert seen[0].entity["customerId"] == "cust-1"
    assert seen[0].from_status == "PENDING"
    pk = keys.entity_pk(admin.tenant_id, TEST_KIND, entity_id)
    assert Table().get(pk, "RESERVATION#1") is not None
    events = Table().query_page(keys.entity_pk(admin.tenant_id, TEST_KIND, entity_id), sort_prefix="AUDIT#").items
    assert [(e["action"], e["after"]["status"]) for e in events] == [(f"{TEST_TYPE.value}.status_changed", "ACTIVE")]

    with pytest.raises(AppError) as refused:
        engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, entity_id, "CANCELLED", None, 2)
    assert isinstance(refused.value, LimitExceeded)
    assert refused.value.detail == "stock"
    assert entity(admin.tenant_id, entity_id)["status"] == "ACTIVE"
    assert len(engine.history(admin.tenant_id, TEST_TYPE, entity_id, PageParams()).items) == 1


def test_history_pages_with_a_cursor_bound_to_the_entity(api: Any, admin: Account) -> None:
    use_flow(api, admin, flow())
    entity_id = new_entity(admin.tenant_id)
    engine.transition(actor(admin, Role.STAFF), TEST_TYPE, entity_id, "ACTIVE", None, 1)
    engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, entity_id, "DONE", None, 2)
    first = engine.history(admin.tenant_id, TEST_TYPE, entity_id, PageParams(limit=1))
    assert [h.to for h in first.items] == ["ACTIVE"]
    assert first.next_cursor
    second = engine.history(admin.tenant_id, TEST_TYPE, entity_id, PageParams(limit=1, cursor=first.next_cursor))
    assert [h.to for h in second.items] == ["DONE"]
    other = new_entity(admin.tenant_id)
    with pytest.raises(AppError):
        engine.history(admin.tenant_id, TEST_TYPE, other, PageParams(limit=1, cursor=first.next_cursor))


def test_a_machine_left_behind_by_an_unreachable_step_functions_catches_up(
    api: Any, admin: Account, drain: Drain, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_flow(api, admin, flow())
    entity_id = new_entity(admin.tenant_id)
    drain(lambda: parked_in(admin.tenant_id, entity_id, "PENDING"))
    real = aws.stepfunctions()

    class Unreachable:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def send_task_success(self, **_: Any) -> None:
            raise EndpointConnectionError(endpoint_url="https://states.us-east-1.amazonaws.com")

    with monkeypatch.context() as patched:
        patched.setattr(aws, "stepfunctions", Unreachable)
        moved = engine.transition(actor(admin, Role.STAFF), TEST_TYPE, entity_id, "ACTIVE", None, 1)
    assert moved.to_status == "ACTIVE"
    # The change stands; the machine still waits in PENDING and its token is back for the next transition.
    assert parked_in(admin.tenant_id, entity_id, "PENDING")
    engine.transition(actor(admin, Role.MANAGER), TEST_TYPE, entity_id, "DONE", None, 2)
    drain(lambda: execution_status(admin.tenant_id, entity_id) == "SUCCEEDED")
