"""Pagar.me (v5) as the third payment provider, against its fake: connecting the account, a link through its hosted
checkout, the webhooks (Basic login checked, each hook recorded once, the order fetched rather than believed), the
payment confirmed once however often and in whatever order it is reported, refunds once per key, a revoked key, the
rate limit, and an outage the queue's retry gets through."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chalicelib.core.db.store import tenant_scope
from chalicelib.integrations.http import ProviderError
from localdev.fake_pagarme import FakePagarme
from tests.support.commerce import WrittenEvent
from tests.support.identity import Account, call
from tests.support.payments import (
    PaymentFakes,
    confirm,
    connect_pagarme,
    create_link,
    create_order,
    order_of,
    payments_of,
    queued_webhooks,
    running_pagarme,
    token_of,
)


@pytest.fixture(scope="module")
def pagarme(fakes: PaymentFakes) -> Iterator[FakePagarme]:
    """The fake Pagar.me for this module (inside the other fakes' settings: the hooks, the link base)."""
    yield from running_pagarme()


@pytest.fixture(autouse=True)
def _healthy(pagarme: FakePagarme) -> Iterator[None]:
    """Every test starts and ends with a fake that answers and sends its webhooks at once."""
    reset = {"failRate": 0, "failNext": 0, "failStatus": 503, "hold": False, "acceptKeys": None}
    pagarme._configure(reset)
    yield
    pagarme._configure(reset)


def _sent(fake: FakePagarme, method: str, prefix: str) -> list[dict[str, Any]]:
    return [r for r in fake.received if r["method"] == method and r["path"].startswith("/core/v5" + prefix)]


def _link(api: Any, admin: Account, order_id: str) -> dict[str, Any]:
    created = create_link(api, admin, order_id, provider="pagarme")
    assert created.status_code == 201, created.body
    return dict(created.json_body)


def test_connecting_pagarme_tests_the_key_and_never_shows_a_secret(
    api: Any, admin: Account, fakes: PaymentFakes, pagarme: FakePagarme
) -> None:
    bad = call(api, "PUT", "/integrations/pagarme", {"credentials": {"secretKey": "pk_test_x"}}, admin.headers())
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json_body["errors"]] == ["body.credentials.secretKey"]
    key = connect_pagarme(api, admin, pagarme, fakes.hooks)
    tested = call(api, "POST", "/integrations/pagarme/test", None, admin.headers())
    assert tested.status_code == 200, tested.body
    assert (tested.json_body["ok"], tested.json_body["account"]) == (True, "Pagar.me account (test key)")
    listed = call(api, "GET", "/integrations", None, admin.headers())
    shown = next(i for i in listed.json_body["items"] if i["provider"] == "pagarme")
    assert (shown["connected"], shown["summary"]) == (True, {"mode": "test", "webhookUser": "loja"})
    assert key not in listed.body.decode() + tested.body.decode()
    [probe] = _sent(pagarme, "GET", "/orders")
    assert probe["headers"]["authorization"] == "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def test_a_link_opens_pagarmes_checkout_and_its_payment_pays_the_order_once(
    api: Any, admin: Account, fakes: PaymentFakes, pagarme: FakePagarme, written_events: list[WrittenEvent]
) -> None:
    connect_pagarme(api, admin, pagarme, fakes.hooks)
    order = create_order(api, admin, "52.30")
    link = _link(api, admin, order["id"])
    assert (link["provider"], link["providerCheckoutId"][:3]) == ("pagarme", "or_")
    [created] = _sent(pagarme, "POST", "/orders")
    assert created["headers"]["idempotency-key"] == f"btrix-link-{link['id']}"
    sent = created["body"]
    assert (sent["items"][0]["amount"], sent["payments"][0]["amount"]) == (5230, 5230)
    assert sent["metadata"]["btrixRef"] == f"{admin.tenant_id}:{order['id']}:{link['id']}"
    assert sent["payments"][0]["checkout"]["expires_in"] in (59, 60)
    opened = call(api, "GET", f"/pay/{token_of(link)}", None, {})
    assert opened.status_code == 302
    assert opened.headers["Location"] == pagarme.order(link["providerCheckoutId"])["checkouts"][0]["payment_url"]

    paid = pagarme.pay(link["providerCheckoutId"])
    assert [d["status"] for hook in paid["webhooks"] for d in hook["deliveries"]] == [200, 200]
    lines = confirm(admin.tenant_id)
    [payment] = payments_of(api, admin, order["id"])
    assert (payment["status"], payment["provider"], payment["providerPaymentId"]) == (
        "succeeded",
        "pagarme",
        paid["charge"]["id"],
    )
    assert payment["amount"] == {"amount": "52.30", "currency": "BRL"}
    assert lines == [f"payment {payment['id']} of order #{order['number']} succeeded (52.30 BRL)"]
    after = order_of(api, admin, order["id"])
    assert (after["status"], after["paymentStatus"]) == ("PAID", "paid")
    assert call(api, "GET", f"/pay/{token_of(link)}", None, {}).status_code == 410
    assert [e.type for e in written_events if e.type.startswith("payment.")] == ["payment.succeeded"]
    # The webhooks were not believed: the order was fetched from Pagar.me for each.
    assert len(_sent(pagarme, "GET", f"/orders/{link['providerCheckoutId']}")) == 2


def test_each_webhook_delivered_three_times_at_once_is_recorded_once_and_pays_once(
    api: Any, admin: Account, fakes: PaymentFakes, pagarme: FakePagarme, written_events: list[WrittenEvent]
) -> None:
    connect_pagarme(api, admin, pagarme, fakes.hooks, own_login=False)
    order = create_order(api, admin, "19.90")
    link = _link(api, admin, order["id"])
    paid = pagarme.pay(link["providerCheckoutId"], duplicates=3)
    answers = [json.loads(d["body"]) for hook in paid["webhooks"] for d in hook["deliveries"]]
    assert sorted(a["recorded"] for a in answers) == [0, 0, 0, 0, 1, 1]
    bodies = queued_webhooks(admin.tenant_id)
    assert sorted(b["event"]["type"] for b in bodies) == ["charge.paid", "order.paid"]
    lines = confirm(admin.tenant_id, times=3, bodies=bodies)
    assert len(lines) == 1
    [payment] = payments_of(api, admin, order["id"])
    assert payment["status"] == "succeeded"
    assert [e.type for e in written_events if e.type.startswith("payment.")] == ["payment.succeeded"]


def test_webhooks_arriving_in_reverse_order_leave_the_order_paid(
    api: Any, admin: Account, fakes: PaymentFakes, pagarme: FakePagarme
) -> None:
    connect_pagarme(api, admin, pagarme, fakes.hooks)
    order = create_order(api, admin, "30.00")
    link = _link(api, admin, order["id"])
    pagarme._configure({"hold": True})
    paid = pagarme.pay(link["providerCheckoutId"])
    pagarme.refund(paid["charge"]["id"], amount=1000)
    pagarme._configure({"hold": False})
    delivered = pagarme._deliver_held(reverse=True)
    assert [d["status"] for hook in delivered for d in hook["deliveries"]] == [200, 200, 200]
    confirm(admin.tenant_id)  # the refund's webhook is first: it waits (ArrivedEarly) for its payment
    [payment] = payments_of(api, admin, order["id"])
    assert (payment["status"], payment["amountRefunded"]["amount"]) == ("partially_refunded", "10.00")
    assert [(r["requestedBy"], r["status"]) for r in payment["refunds"]] == [("provider", "succeeded")]
    assert order_of(api, admin, order["id"])["paymentStatus"] == "partially_refunded"


def test_a_webhook_without_the_accounts_basic_login_is_refused_and_nothing_is_queued(
    api: Any, admin: Account, fakes: PaymentFakes, pagarme: FakePagarme, hooks: httpx.Client
) -> None:
    connect_pagarme(api, admin, pagarme, fakes.hooks)
    body = json.dumps({"id": "hook_forged00001", "type": "order.paid", "data": {"id": "or_x"}}).encode()
    url = f"/pagarme?tenant={admin.tenant_id}"
    wrong = "Basic " + base64.b64encode(b"loja:guessed-password-000").decode()
    for headers in ({}, {"Authorization": wrong}, {"Authorization": "Bearer x"}):
        refused = hooks.post(url, content=body, headers={"Content-Type": "application/json", **headers})
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert queued_webhooks(admin.tenant_id) == []


def test_a_refund_with_an_idempotency_key_is_made_once_and_pagarmes_webhook_adds_nothing(
    api: Any, admin: Account, fakes: PaymentFakes, pagarme: FakePagarme, written_events: list[WrittenEvent]
) -> None:
    connect_pagarme(api, admin, pagarme, fakes.hooks)
    order = create_order(api, admin, "40.00")
    link = _link(api, admin, order["id"])
    charge = pagarme.pay(link["providerCheckoutId"])["charge"]
    confirm(admin.tenant_id)
    [payment] = payments_of(api, admin, order["id"])
    headers = {**admin.headers(), "Idempotency-Key": "refund-all"}
    body = {"reason": "the order never left the kitchen"}
    first = call(api, "POST", f"/payments/{payment['id']}/refunds", body, headers)
    again = call(api, "POST", f"/payments/{payment['id']}/refunds", body, headers)
    assert first.status_code == again.status_code == 201, first.body
    assert again.json_body == first.json_body
    assert (first.json_body["status"], first.json_body["amountRefunded"]["amount"]) == ("refunded", "40.00")
    [refund] = first.json_body["refunds"]
    assert refund["providerRefundId"].startswith("tran_")
    deletes = _sent(pagarme, "DELETE", f"/charges/{charge['id']}")
    assert [(d["body"], d["headers"]["idempotency-key"]) for d in deletes] == [
        ({"amount": 4000}, f"btrix-refund-{refund['id']}")
    ]
    assert pagarme.order(link["providerCheckoutId"])["charges"][0]["canceled_amount"] == 4000
    confirm(admin.tenant_id)  # Pagar.me's charge.refunded about the same refund
    after = call(api, "GET", f"/payments/{payment['id']}", None, admin.headers()).json_body
    assert len(after["refunds"]) == 1
    assert [e.type for e in written_events if e.type == "payment.refunded"] == ["payment.refunded"]
    more = call(api, "POST", f"/payments/{payment['id']}/refunds", {"reason": "again"}, admin.headers())
    assert more.status_code == 409, more.body


def test_a_new_link_closes_the_previous_checkout_at_pagarme_which_then_cannot_be_paid(
    api: Any, admin: Account, fakes: PaymentFakes, pagarme: FakePagarme
) -> None:
    connect_pagarme(api, admin, pagarme, fakes.hooks)
    order = create_order(api, admin, "25.00")
    first = _link(api, admin, order["id"])
    second = _link(api, admin, order["id"])
    closed = _sent(pagarme, "PATCH", f"/orders/{first['providerCheckoutId']}/closed")
    assert [c["body"] for c in closed] == [{"status": "canceled"}]
    with pytest.raises(ValueError, match="cannot be paid again"):
        pagarme.pay(first["providerCheckoutId"])
    assert call(api, "GET", f"/pay/{token_of(first)}", None, {}).status_code == 410
    pagarme.pay(second["providerCheckoutId"])
    confirm(admin.tenant_id)
    assert order_of(api, admin, order["id"])["paymentStatus"] == "paid"


def test_a_revoked_key_fails_the_link_with_502_and_the_test_says_why(
    api: Any, admin: Account, fakes: PaymentFakes, pagarme: FakePagarme
) -> None:
    connect_pagarme(api, admin, pagarme, fakes.hooks)
    order = create_order(api, admin)
    pagarme._configure({"acceptKeys": []})
    refused = create_link(api, admin, order["id"], provider="pagarme")
    assert refused.status_code == 502, refused.body
    assert "Pagar.me refused the credentials (401)" in refused.json_body["detail"]
    listed = call(api, "GET", f"/payment-links?orderId={order['id']}", None, admin.headers())
    assert listed.json_body["items"] == []
    tested = call(api, "POST", "/integrations/pagarme/test", None, admin.headers()).json_body
    assert (tested["ok"], tested["account"]) == (False, None)
    assert "refused the credentials (401)" in tested["detail"]


def test_the_rate_limit_and_an_outage_are_retryable_and_the_next_attempt_goes_through(
    api: Any, admin: Account, fakes: PaymentFakes, pagarme: FakePagarme
) -> None:
    from chalicelib.integrations.jobs import job_of

    connect_pagarme(api, admin, pagarme, fakes.hooks)
    order = create_order(api, admin, "15.00")
    pagarme._configure({"failNext": 1, "failStatus": 429})
    throttled = create_link(api, admin, order["id"], provider="pagarme")
    assert throttled.status_code == 503, throttled.body
    assert "Pagar.me answered 429" in throttled.json_body["detail"]
    link = _link(api, admin, order["id"])  # the limit passed
    pagarme.pay(link["providerCheckoutId"], events=["order.paid"])
    [body] = queued_webhooks(admin.tenant_id)
    job, registration = job_of(body)
    assert registration is not None
    pagarme._configure({"failNext": 1, "failStatus": 503})
    with tenant_scope(admin.tenant_id), pytest.raises(ProviderError) as outage:
        registration.handler(job)
    assert outage.value.retryable
    assert payments_of(api, admin, order["id"]) == []
    with tenant_scope(admin.tenant_id):
        line = registration.handler(job)  # what the queue's retry does after its backoff
    assert line is not None
    assert "succeeded" in line
    assert order_of(api, admin, order["id"])["paymentStatus"] == "paid"


def test_a_payment_of_another_amount_fails_and_leaves_the_order_unpaid(
    api: Any, admin: Account, fakes: PaymentFakes, pagarme: FakePagarme
) -> None:
    connect_pagarme(api, admin, pagarme, fakes.hooks)
    order = create_order(api, admin, "60.00")
    link = _link(api, admin, order["id"])
    pagarme.pay(link["providerCheckoutId"], amount=100)
    confirm(admin.tenant_id)
    [payment] = payments_of(api, admin, order["id"])
    assert (payment["status"], payment["failureReason"]) == (
        "failed",
        "amount_mismatch: paid 1.00 BRL, the order is 60.00 BRL",
    )
    assert order_of(api, admin, order["id"])["paymentStatus"] != "paid"
