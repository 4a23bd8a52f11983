"""The payment handlers on the integrations queue's dispatcher: webhooks confirmed by the app's own consumer, once
per provider event, and the workflow action that sends a link."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.db.store import tenant_scope
from tests.support.identity import Account, call, signup
from tests.support.payments import PaymentFakes, connect_stripe, create_link, create_order, queued_webhooks, token_of


def test_the_consumer_confirms_a_paid_checkout_and_the_order_is_paid(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any
) -> None:
    connect_stripe(api, admin, fakes)
    order = create_order(api, admin)
    link = create_link(api, admin, order["id"]).json_body
    fakes.stripe.pay(link["providerCheckoutId"])

    def paid() -> bool:
        found = call(api, "GET", f"/orders/{order['id']}", None, admin.headers()).json_body
        return bool(found["status"] == "PAID")

    drain(paid, timeout_s=90)
    logs = call(api, "GET", "/integrations/stripe/logs", None, admin.headers()).json_body["items"]
    assert any("succeeded" in (entry.get("detail") or "") for entry in logs)


def test_one_provider_event_is_applied_once_even_in_two_messages(
    api: Any, admin: Account, fakes: PaymentFakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.integrations.jobs import job_of
    from chalicelib.payments import jobs, service

    connect_stripe(api, admin, fakes)
    order = create_order(api, admin)
    link = create_link(api, admin, order["id"]).json_body
    fakes.stripe.pay(link["providerCheckoutId"])
    [body] = queued_webhooks(admin.tenant_id)
    applied: list[str] = []
    original = service.handle_provider_message

    def counted(provider: Any, tenant_id: str, message: dict[str, Any]) -> str | None:
        applied.append(str(message["event"]["id"]))
        return original(provider, tenant_id, message)

    monkeypatch.setattr(service, "handle_provider_message", counted)
    job, registration = job_of(body)
    assert registration is not None
    with tenant_scope(admin.tenant_id):
        first = registration.handler(job)
        again = registration.handler(job)
    assert first == again
    assert applied == [body["event"]["id"]]
    assert jobs.event_id("stripe", body) == body["event"]["id"]


class _Killed(BaseException):
    """A worker killed mid-way (Lambda's timeout, an out-of-memory kill): nothing of the run's own cleanup happens."""


def test_a_worker_killed_while_applying_an_event_holds_it_only_for_the_jobs_lease(
    api: Any, admin: Account, fakes: PaymentFakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from chalicelib.core import aws
    from chalicelib.core.config import get_settings
    from chalicelib.core.db import keys
    from chalicelib.integrations.jobs import LEASE_S, RetryJob, job_of
    from chalicelib.payments import service

    connect_stripe(api, admin, fakes)
    order = create_order(api, admin)
    link = create_link(api, admin, order["id"]).json_body
    fakes.stripe.pay(link["providerCheckoutId"])
    [body] = queued_webhooks(admin.tenant_id)

    def killed(provider: Any, tenant_id: str, message: dict[str, Any]) -> str | None:
        raise _Killed

    monkeypatch.setattr(service, "handle_provider_message", killed)
    job, registration = job_of(body)
    assert registration is not None
    with tenant_scope(admin.tenant_id), pytest.raises(_Killed):
        registration.handler(job)
    killed_at_ms = time.time() * 1000

    with tenant_scope(admin.tenant_id), pytest.raises(RetryJob):  # a redelivery inside the lease waits
        registration.handler(job)
    [record] = [  # the killed run's record of the event (every other event of the module was applied)
        item
        for shard in range(8)
        for item in aws.dynamodb().query(
            TableName=get_settings().table_name,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.inbound_receipts_pk("stripe-applied", shard)}},
        )["Items"]
        if item["status"]["S"] == "INPROGRESS"
    ]
    held_until_ms = int(record["in_progress_expiration"]["N"])
    assert killed_at_ms - 5_000 < held_until_ms <= killed_at_ms + LEASE_S * 1000


def test_a_retail_orders_flow_sends_its_link_through_the_consumer_and_its_payment_makes_it_paid(
    api: Any, fakes: PaymentFakes, drain: Any
) -> None:
    from chalicelib.notifications.outbox import list_messages

    shop, _ = signup(api, plan="corporativo", businessType="retail")
    connect_stripe(api, shop, fakes)
    order = create_order(api, shop, channel="whatsapp")

    def sent() -> list[Any]:
        return [m for m in list_messages(shop.tenant_id) if m.template == "payment.link"]

    drain(lambda: bool(sent()), timeout_s=90)
    [message] = sent()
    assert message.to == f"customer:{order['customerId']}"
    [link] = call(api, "GET", f"/payment-links?orderId={order['id']}", None, shop.headers()).json_body["items"]
    opened = call(api, "GET", f"/pay/{token_of({'url': message.variables['link']})}", None, {})
    assert opened.status_code == 302
    assert link["providerCheckoutId"] in opened.headers["Location"]
    fakes.stripe.pay(link["providerCheckoutId"])

    def paid() -> bool:
        found = call(api, "GET", f"/orders/{order['id']}", None, shop.headers()).json_body
        return bool(found["status"] == "PAID" and found["paymentStatus"] == "paid")

    drain(paid, timeout_s=90)


def test_the_link_action_of_a_tenant_without_a_payment_integration_is_done_with_nothing_sent_and_no_dead_letter(
    api: Any, drain: Any
) -> None:
    import json

    from chalicelib.core import aws
    from chalicelib.core.resources import QueueKind, queue_name, queue_url
    from chalicelib.integrations import store
    from chalicelib.integrations.jobs import job_of
    from tests.support.inbound_hooks import take_messages

    shop, _ = signup(api, plan="corporativo", businessType="retail")
    order = create_order(api, shop)
    action = {
        "source": "workflow",
        "action": "send_payment_link",
        "tenantId": shop.tenant_id,
        "entityType": "order",
        "entityId": order["id"],
        "status": "PENDING",
        "executionId": f"arn:aws:states:us-east-1:123456789012:execution:m:{order['id']}-again",
        "state": "PENDING.OnEnter.0.send_payment_link",
        "enteredAt": "2026-01-01T10:00:00.000Z",
        "channel": "whatsapp",
    }
    job, _ = job_of(action)
    aws.sqs().send_message(QueueUrl=queue_url(queue_name(QueueKind.INTEGRATIONS)), MessageBody=json.dumps(action))

    def done() -> bool:
        with tenant_scope(shop.tenant_id):
            found = store.get_job(shop.tenant_id, job.key)
        return found is not None and found.status == "done"

    drain(done, timeout_s=90)
    links = call(api, "GET", f"/payment-links?orderId={order['id']}", None, shop.headers()).json_body["items"]
    assert links == []
    dead = take_messages(QueueKind.INTEGRATIONS, lambda body: body.get("tenantId") == shop.tenant_id, dead=True)
    assert dead == []
