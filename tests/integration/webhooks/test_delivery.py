"""Outgoing webhooks end to end: domain event → stream → bus → fan-out → signed attempts to a loopback receiver."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.core import aws, clock
from chalicelib.core.db.store import Table
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.resources import QueueKind, queue_name, queue_url
from chalicelib.webhooks import delivery, store
from chalicelib.webhooks.event_types import event_type
from chalicelib.webhooks.models import OutgoingMessage
from tests.support.commerce import create_customer, create_product
from tests.support.identity import Account, call, signup
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.webhooks import Pump, create_endpoint, deliveries, get_endpoint, send_test


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A loopback receiver answering 200 unless told otherwise."""
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def sibling() -> Iterator[WebhookReceiver]:
    """A second receiver, for the operational events about the first one."""
    with WebhookReceiver() as server:
        yield server


def _message(account: Account, type_: str = "customer.updated", **data: Any) -> OutgoingMessage:
    moment = clock.now()
    return OutgoingMessage(
        id=new_id(moment),
        type=type_,
        tenant_id=account.tenant_id,
        occurred_at=clock.isoformat(moment),
        subject=new_id(),
        data=data or {"changed": ["name"]},
    )


def _verified(secret: str, request: Any) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return payload


def _until(pump: Pump, condition: Any, timeout_s: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the webhook pipeline did not get there in time"
        if not pump():
            time.sleep(0.05)


def test_an_event_reaches_the_subscribed_endpoint_signed_and_nobody_else(
    api: Any, pump: Pump, receiver: WebhookReceiver, sibling: WebhookReceiver
) -> None:
    admin, _ = signup(api)
    stranger, _ = signup(api)
    endpoint = create_endpoint(api, admin, receiver.url("/btrix"), eventTypes=["customer.*"])
    create_endpoint(api, admin, sibling.url(), eventTypes=["order.*"])
    create_endpoint(api, stranger, sibling.url(), eventTypes=["customer.*"])

    customer = create_customer(api, admin)
    [request] = receiver.wait_for(1, pump=pump)

    payload = _verified(endpoint["secret"], request)
    assert payload["type"] == "customer.created"
    assert payload["subject"] == customer["id"]
    assert payload["data"] == {}
    assert request.path == "/btrix"
    assert request.headers["content-type"] == "application/json"
    [logged] = deliveries(api, admin, endpoint["id"])
    assert logged["id"] == request.webhook_id
    assert logged["status"] == "succeeded"
    [attempt] = logged["attempts"]
    assert attempt["number"] == 1
    assert attempt["succeeded"] is True
    assert attempt["response"] == {"status": 200, "body": '{"ok": true}'}
    assert attempt["request"]["headers"]["webhook-id"] == request.webhook_id
    assert json.loads(attempt["request"]["body"]) == payload
    assert attempt["durationMs"] >= 0
    for _ in range(5):
        pump()
    assert sibling.received == []  # the order endpoint and the other tenant's endpoint got nothing


def test_the_data_is_the_catalog_shape_money_as_a_string(api: Any, pump: Pump, receiver: WebhookReceiver) -> None:
    admin, _ = signup(api)
    endpoint = create_endpoint(api, admin, receiver.url(), eventTypes=["order.created"])
    order_id = new_id()
    data = {"number": 12, "total": {"amount": 12, "currency": "BRL"}, "channel": "web", "customerId": "C1"}
    Table().transact([event_put_op(new_event("order.created", admin.tenant_id, data, subject=order_id))])
    [request] = receiver.wait_for(1, pump=pump)
    payload = _verified(endpoint["secret"], request)
    assert payload["data"] == {
        "number": 12,
        "total": {"amount": "12.00", "currency": "BRL"},
        "channel": "web",
        "customerId": "C1",
    }


def test_a_redelivered_event_creates_nothing_twice(api: Any, pump: Pump, receiver: WebhookReceiver) -> None:
    admin, _ = signup(api)
    endpoint = create_endpoint(api, admin, receiver.url())
    message = _message(admin)
    assert delivery.fan_out(message) == 1
    assert delivery.fan_out(message) == 0
    receiver.wait_for(1, pump=pump)
    assert delivery.fan_out(message) == 0
    for _ in range(5):
        pump()
    assert len(receiver.received) == 1
    assert [d["id"] for d in deliveries(api, admin, endpoint["id"])] == [message.id]


def test_a_failing_receiver_sees_every_retry_then_the_delivery_fails_visibly(
    api: Any, pump: Pump, receiver: WebhookReceiver, sibling: WebhookReceiver
) -> None:
    admin, _ = signup(api)
    receiver.answer(500)
    endpoint = create_endpoint(api, admin, receiver.url())
    watcher = create_endpoint(api, admin, sibling.url(), eventTypes=["message.attempt.exhausted"])
    message = _message(admin)
    delivery.fan_out(message)

    requests = receiver.wait_for(delivery.MAX_ATTEMPTS, timeout_s=60, pump=pump)
    assert {r.webhook_id for r in requests} == {message.id}  # the same webhook-id on every retry
    for request in requests:
        _verified(endpoint["secret"], request)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(requests)]
    # The schedule (scaled 1/10,000): the waits grow to 10 h (3.6 s here) before the last two attempts.
    assert gaps[-1] >= 2.5
    assert gaps[-2] >= 2.5
    assert gaps[0] < 1.5

    _until(pump, lambda: deliveries(api, admin, endpoint["id"])[0]["status"] == "failed")
    [failed] = deliveries(api, admin, endpoint["id"])
    assert failed["attemptCount"] == delivery.MAX_ATTEMPTS
    assert [a["number"] for a in failed["attempts"]] == list(range(1, delivery.MAX_ATTEMPTS + 1))
    assert all(a["response"]["status"] == 500 for a in failed["attempts"])
    assert failed["failureReason"] == "not delivered after 8 attempts"
    assert failed["nextAttemptAt"] is None

    [notice] = sibling.wait_for(1, pump=pump)
    exhausted = _verified(watcher["secret"], notice)
    assert exhausted["type"] == "message.attempt.exhausted"
    assert exhausted["data"] == {
        "endpointId": endpoint["id"],
        "messageId": message.id,
        "eventType": "customer.updated",
        "attempts": 8,
        "lastStatus": 500,
    }
    for _ in range(5):
        pump()
    assert len(receiver.received) == delivery.MAX_ATTEMPTS  # the failing endpoint is not told about itself
    assert get_endpoint(api, admin, endpoint["id"])["failingSince"] is not None


def test_a_recovered_receiver_ends_the_retries_and_the_failure_streak(
    api: Any, pump: Pump, receiver: WebhookReceiver
) -> None:
    admin, _ = signup(api)
    receiver.script([503, 500])
    endpoint = create_endpoint(api, admin, receiver.url())
    delivery.fan_out(_message(admin))
    receiver.wait_for(3, pump=pump)
    _until(pump, lambda: deliveries(api, admin, endpoint["id"])[0]["status"] == "succeeded")
    [done] = deliveries(api, admin, endpoint["id"])
    assert [a["response"]["status"] for a in done["attempts"]] == [503, 500, 200]
    assert get_endpoint(api, admin, endpoint["id"])["failingSince"] is None


def test_410_disables_the_endpoint_at_once_and_says_so(
    api: Any, pump: Pump, receiver: WebhookReceiver, sibling: WebhookReceiver
) -> None:
    admin, _ = signup(api)
    receiver.answer(410)
    endpoint = create_endpoint(api, admin, receiver.url())
    watcher = create_endpoint(api, admin, sibling.url(), eventTypes=["endpoint.disabled"])
    delivery.fan_out(_message(admin))
    receiver.wait_for(1, pump=pump)
    _until(pump, lambda: not get_endpoint(api, admin, endpoint["id"])["enabled"])

    shown = get_endpoint(api, admin, endpoint["id"])
    assert shown["disabledReason"] == "gone"
    assert shown["version"] == endpoint["version"] + 1
    [gone] = deliveries(api, admin, endpoint["id"])
    assert gone["status"] == "failed"
    assert gone["attemptCount"] == 1
    [notice] = sibling.wait_for(1, pump=pump)
    disabled = _verified(watcher["secret"], notice)
    assert disabled["type"] == "endpoint.disabled"
    assert disabled["data"]["endpointId"] == endpoint["id"]
    assert disabled["data"]["reason"] == "gone"

    delivery.fan_out(_message(admin))
    for _ in range(5):
        pump()
    assert len(receiver.received) == 1  # nothing more is sent to a disabled endpoint
    audit = call(
        api, "GET", f"/audit-log?entityType=webhookendpoint&entityId={endpoint['id']}", headers=admin.headers()
    )
    assert "webhook_endpoint.disabled" in [entry["action"] for entry in audit.json_body["items"]]


def test_five_days_of_failures_disable_the_endpoint_and_emit_endpoint_disabled(
    api: Any, pump: Pump, receiver: WebhookReceiver, sibling: WebhookReceiver
) -> None:
    admin, _ = signup(api)
    receiver.answer(500)
    endpoint = create_endpoint(api, admin, receiver.url())
    watcher = create_endpoint(api, admin, sibling.url(), eventTypes=["endpoint.*"])
    # The endpoint has been failing since six days ago (earlier deliveries, not replayed here).
    since = clock.isoformat(clock.now() - timedelta(days=6))
    Table().transact([store.endpoint_change_op(admin.tenant_id, endpoint["id"], set_={"failingSince": since})])

    delivery.fan_out(_message(admin))
    receiver.wait_for(1, pump=pump)
    _until(pump, lambda: not get_endpoint(api, admin, endpoint["id"])["enabled"])
    assert get_endpoint(api, admin, endpoint["id"])["disabledReason"] == "failing"
    [notice] = sibling.wait_for(1, pump=pump)
    disabled = _verified(watcher["secret"], notice)
    assert disabled["data"] == {
        "endpointId": endpoint["id"],
        "url": endpoint["url"],
        "reason": "failing",
        "failingSince": since,
    }
    for _ in range(5):
        pump()
    assert len(receiver.received) == 1  # no retries for an endpoint that was disabled

    enabled = call(
        api,
        "PATCH",
        f"/webhook-endpoints/{endpoint['id']}",
        {"version": get_endpoint(api, admin, endpoint["id"])["version"], "enabled": True},
        admin.headers(),
    )
    assert enabled.status_code == 200, enabled.body
    assert (enabled.json_body["disabledReason"], enabled.json_body["failingSince"]) == (None, None)


def test_replay_sends_again_with_the_same_webhook_id(api: Any, pump: Pump, receiver: WebhookReceiver) -> None:
    admin, _ = signup(api)
    endpoint = create_endpoint(api, admin, receiver.url())
    sent = send_test(api, admin, endpoint["id"])
    assert sent["status"] == "pending"
    [first] = receiver.wait_for(1, pump=pump)
    _until(pump, lambda: deliveries(api, admin, endpoint["id"])[0]["status"] == "succeeded")

    path = f"/webhook-endpoints/{endpoint['id']}/deliveries/{sent['id']}/replay"
    replayed = call(api, "POST", path, headers=admin.headers())
    assert replayed.status_code == 202, replayed.body
    assert replayed.json_body["status"] == "pending"
    assert call(api, "POST", path, headers=admin.headers()).status_code == 409  # still being delivered
    _, second = receiver.wait_for(2, pump=pump)
    assert second.webhook_id == first.webhook_id == sent["id"]
    assert _verified(endpoint["secret"], second) == _verified(endpoint["secret"], first)
    _until(pump, lambda: deliveries(api, admin, endpoint["id"])[0]["attemptCount"] == 2)
    [log] = deliveries(api, admin, endpoint["id"])
    assert [(a["number"], a["trigger"]) for a in log["attempts"]] == [(1, "scheduled"), (2, "replay")]
    assert log["status"] == "succeeded"


def test_a_failed_replay_is_one_attempt_and_a_disabled_endpoint_cannot_replay(
    api: Any, pump: Pump, receiver: WebhookReceiver
) -> None:
    admin, _ = signup(api)
    receiver.answer(410)
    endpoint = create_endpoint(api, admin, receiver.url())
    sent = send_test(api, admin, endpoint["id"])
    _until(pump, lambda: not get_endpoint(api, admin, endpoint["id"])["enabled"])
    path = f"/webhook-endpoints/{endpoint['id']}/deliveries/{sent['id']}/replay"
    refused = call(api, "POST", path, headers=admin.headers())
    assert refused.status_code == 409
    assert "disabled" in refused.json_body["detail"]

    receiver.answer(500)
    version = get_endpoint(api, admin, endpoint["id"])["version"]
    patch = {"version": version, "enabled": True}
    assert call(api, "PATCH", f"/webhook-endpoints/{endpoint['id']}", patch, admin.headers()).status_code == 200
    assert call(api, "POST", path, headers=admin.headers()).status_code == 202
    receiver.wait_for(2, pump=pump)
    _until(pump, lambda: deliveries(api, admin, endpoint["id"])[0]["status"] == "failed")
    for _ in range(5):
        pump()
    assert len(receiver.received) == 2  # a replay is one attempt, not a new schedule
    assert deliveries(api, admin, endpoint["id"])[0]["failureReason"] == "the replay failed"


def test_during_a_rotation_both_secrets_sign_then_only_the_new_one(
    api: Any, pump: Pump, receiver: WebhookReceiver
) -> None:
    admin, _ = signup(api)
    endpoint = create_endpoint(api, admin, receiver.url())
    rotated = call(api, "POST", f"/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=admin.headers())
    assert rotated.status_code == 200, rotated.body
    old, new = endpoint["secret"], rotated.json_body["secret"]
    assert new != old
    assert new.startswith("whsec_")
    assert rotated.json_body["previousSecretExpiresAt"] > rotated.json_body["secretRotatedAt"]
    assert "secret" not in get_endpoint(api, admin, endpoint["id"])

    send_test(api, admin, endpoint["id"])
    [during] = receiver.wait_for(1, pump=pump)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert _verified(old, during) == _verified(new, during)

    past = clock.isoformat(clock.now() - timedelta(seconds=1))
    Table().transact(
        [store.endpoint_change_op(admin.tenant_id, endpoint["id"], set_={"previousSecretExpiresAt": past})]
    )
    send_test(api, admin, endpoint["id"])
    _, after = receiver.wait_for(2, pump=pump)
    _verified(new, after)
    with pytest.raises(WebhookVerificationError):
        _verified(old, after)


def test_a_target_that_turns_private_is_refused_at_delivery(
    api: Any, pump: Pump, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core.config import get_settings

    admin, _ = signup(api)
    endpoint = create_endpoint(api, admin, receiver.url())
    monkeypatch.setenv("BTRIX_WEBHOOK_ALLOW_LOOPBACK", "false")
    get_settings.cache_clear()
    try:
        send_test(api, admin, endpoint["id"])
        _until(pump, lambda: deliveries(api, admin, endpoint["id"])[0]["attemptCount"] >= 1)
    finally:
        monkeypatch.setenv("BTRIX_WEBHOOK_ALLOW_LOOPBACK", "true")
        get_settings.cache_clear()
    attempt = deliveries(api, admin, endpoint["id"])[0]["attempts"][0]
    assert attempt["request"] is None
    assert attempt["response"] is None
    assert "loopback" in attempt["error"]
    assert receiver.received == []


def test_workflow_emit_webhook_actions_are_delivered_once(api: Any, pump: Pump, receiver: WebhookReceiver) -> None:
    admin, _ = signup(api)
    endpoint = create_endpoint(api, admin, receiver.url(), eventTypes=["order.delivered"])
    order_id = new_id()
    entered = (clock.now() + timedelta(seconds=1)).replace(microsecond=123456)  # moto: microseconds, +00:00
    at = clock.isoformat(entered)
    action = {
        "source": "workflow",
        "action": "emit_webhook",
        "tenantId": admin.tenant_id,
        "entityType": "order",
        "entityId": order_id,
        "status": "DELIVERED",
        "executionId": f"arn:aws:states:us-east-1:123456789012:execution:m:{order_id}",
        "state": "DELIVERED.OnEnter.1.emit_webhook",
        "enteredAt": entered.isoformat(),
        "event": "order.delivered",
    }
    url = queue_url(queue_name(QueueKind.WEBHOOK_DELIVERIES))
    for _ in range(2):  # Step Functions retried the send: the same action twice
        aws.sqs().send_message(QueueUrl=url, MessageBody=json.dumps(action))
    [request] = receiver.wait_for(1, pump=pump)
    payload = _verified(endpoint["secret"], request)
    assert payload == {
        "type": "order.delivered",
        "timestamp": at,
        "subject": order_id,
        "data": {"entityType": "order", "entityId": order_id, "status": "DELIVERED", "at": at},
    }
    for _ in range(5):
        pump()
    assert len(receiver.received) == 1


def test_the_rate_limit_sends_at_most_its_rate_per_second(api: Any, pump: Pump, receiver: WebhookReceiver) -> None:
    admin, _ = signup(api)
    endpoint = create_endpoint(api, admin, receiver.url(), rateLimit=1)
    start = int(clock.now().timestamp()) + 10
    # The clock only moves when the test moves it: each send is stamped (webhook-timestamp) with the second it
    # went out in, and at most one may go out per second however the pump interleaves the throttled retries.
    with clock.frozen_clock(datetime.fromtimestamp(start, UTC)) as advance:
        for _ in range(3):
            delivery.fan_out(_message(admin))
        receiver.wait_for(1, pump=pump)
        for sent in (2, 3):
            advance(timedelta(seconds=1))
            receiver.wait_for(sent, pump=pump)
    stamps = sorted(int(r.headers["webhook-timestamp"]) for r in receiver.received)
    assert stamps == [start, start + 1, start + 2]
    assert len({d["id"] for d in deliveries(api, admin, endpoint["id"])}) == 3


def test_real_order_events_fit_their_declared_schemas(api: Any, pump: Pump, receiver: WebhookReceiver) -> None:
    admin, _ = signup(api)
    endpoint = create_endpoint(api, admin, receiver.url(), eventTypes=["order.*"])
    product = create_product(api, admin, kind="service", name="Webhook service")
    body = {"items": [{"productId": product["id"], "quantity": 2}]}
    order = call(api, "POST", "/orders", body, admin.headers())
    assert order.status_code == 201, order.body
    moved = call(
        api,
        "POST",
        f"/orders/{order.json_body['id']}/transitions",
        {"to": "CONFIRMED", "version": order.json_body["version"], "note": "on its way"},
        admin.headers(),
    )
    assert moved.status_code == 200, moved.body
    requests = receiver.wait_for(2, pump=pump)
    payloads = {p["type"]: p for p in (_verified(endpoint["secret"], r) for r in requests)}
    assert set(payloads) == {"order.created", "order.status_changed"}
    for type_, payload in payloads.items():
        declared = event_type(type_)
        assert declared is not None
        declared.data.model_validate(payload["data"])  # extra fields are forbidden: the shape is exactly declared
    changed = payloads["order.status_changed"]["data"]
    assert (changed["from"], changed["to"], changed["note"]) == ("PENDING", "CONFIRMED", "on its way")
    assert payloads["order.created"]["data"]["total"] == order.json_body["totals"]["total"]
