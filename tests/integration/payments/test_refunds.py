"""Refunds through the API against the fakes: full and partial, once per Idempotency-Key at the provider too, the
ledger and the order following, the provider's own refund webhook changing nothing more, and every refusal."""

from __future__ import annotations

from typing import Any

import httpx

from chalicelib.access.permissions import Role
from tests.support.commerce import WrittenEvent
from tests.support.identity import Account, add_user, call
from tests.support.payments import (
    PaymentFakes,
    confirm,
    connect_mercadopago,
    connect_stripe,
    create_link,
    create_order,
)


def _paid_order(api: Any, admin: Account, fakes: PaymentFakes, provider: str, price: str = "52.30") -> dict[str, Any]:
    """An order paid through its link at ``provider``; returns its payment."""
    order = create_order(api, admin, price)
    link = create_link(api, admin, order["id"], provider=provider).json_body
    fake = fakes.stripe if provider == "stripe" else fakes.mercadopago
    fake.pay(link["providerCheckoutId"])
    confirm(admin.tenant_id)
    [payment] = call(api, "GET", f"/payments?orderId={order['id']}", None, admin.headers()).json_body["items"]
    assert payment["status"] == "succeeded"
    return dict(payment)


def _refund(api: Any, account: Account, payment_id: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {**account.headers(), **({"Idempotency-Key": key} if key else {})}
    return call(api, "POST", f"/payments/{payment_id}/refunds", body, headers)


def test_a_full_refund_at_stripe_refunds_the_payment_and_the_order_and_its_webhook_adds_nothing(
    api: Any, admin: Account, fakes: PaymentFakes, written_events: list[WrittenEvent]
) -> None:
    connect_stripe(api, admin, fakes)
    connect_mercadopago(api, admin, fakes)
    payment = _paid_order(api, admin, fakes, "stripe")
    refunded = _refund(api, admin, payment["id"], {"reason": "the kitchen was closed"})
    assert refunded.status_code == 201, refunded.body
    after = refunded.json_body
    assert (after["status"], after["amountRefunded"]) == ("refunded", {"amount": "52.30", "currency": "BRL"})
    [refund] = after["refunds"]
    assert (refund["status"], refund["requestedBy"], refund["reason"]) == (
        "succeeded",
        admin.user_id,
        "the kitchen was closed",
    )
    assert refund["providerRefundId"].startswith("re_")
    sent = [r for r in fakes.stripe.received if r["path"] == "/v1/refunds"]
    assert sent[-1]["headers"]["idempotency-key"] == f"btrix-refund-{refund['id']}"
    assert sent[-1]["body"]["amount"] == "5230"
    confirm(admin.tenant_id)  # Stripe's refund.created and charge.refunded about the same refund
    again = call(api, "GET", f"/payments/{payment['id']}", None, admin.headers()).json_body
    assert len(again["refunds"]) == 1
    assert [e.type for e in written_events if e.type == "payment.refunded"] == ["payment.refunded"]
    order = call(api, "GET", f"/orders/{payment['orderId']}", None, admin.headers()).json_body
    assert (order["paymentStatus"], order["amountRefunded"]["amount"]) == ("refunded", "52.30")
    renewed = create_link(api, admin, payment["orderId"])
    assert renewed.status_code == 201, renewed.body


def test_a_partial_refund_with_an_idempotency_key_is_made_once_at_mercadopago(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    connect_mercadopago(api, admin, fakes)
    payment = _paid_order(api, admin, fakes, "mercadopago", "30.00")
    body = {"amount": {"amount": "10.00", "currency": "BRL"}, "reason": "one drink missing"}
    first = _refund(api, admin, payment["id"], body, key="refund-drink")
    again = _refund(api, admin, payment["id"], body, key="refund-drink")
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body
    assert (first.json_body["status"], first.json_body["amountRefunded"]["amount"]) == ("partially_refunded", "10.00")
    calls = [
        r for r in fakes.mercadopago.received if r["path"] == f"/v1/payments/{payment['providerPaymentId']}/refunds"
    ]
    assert len(calls) == 1
    assert calls[0]["headers"]["x-idempotency-key"].startswith("btrix-refund-")
    confirm(admin.tenant_id)  # MercadoPago's payment.updated, with its refunds list
    after = call(api, "GET", f"/payments/{payment['id']}", None, admin.headers()).json_body
    assert [(r["status"], r["amount"]["amount"]) for r in after["refunds"]] == [("succeeded", "10.00")]
    rest = _refund(api, admin, payment["id"], {"reason": "the rest"})
    assert (rest.json_body["status"], rest.json_body["amountRefunded"]["amount"]) == ("refunded", "30.00")
    nothing = _refund(api, admin, payment["id"], {"reason": "again"})
    assert nothing.status_code == 409


def test_refunds_beyond_the_payment_or_in_another_currency_are_422_naming_the_field(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    connect_stripe(api, admin, fakes)
    payment = _paid_order(api, admin, fakes, "stripe", "20.00")
    too_much = _refund(api, admin, payment["id"], {"amount": {"amount": "20.01", "currency": "BRL"}, "reason": "x"})
    assert too_much.status_code == 422
    assert [e["field"] for e in too_much.json_body["errors"]] == ["body.amount.amount"]
    dollars = _refund(api, admin, payment["id"], {"amount": {"amount": "1.00", "currency": "USD"}, "reason": "x"})
    assert dollars.status_code == 422
    assert [e["field"] for e in dollars.json_body["errors"]] == ["body.amount.currency"]
    no_reason = _refund(api, admin, payment["id"], {})
    assert no_reason.status_code == 422
    assert no_reason.json_body["errors"][0]["field"] == "body.reason"
    assert _refund(api, admin, "01NOSUCHPAYMENT00000000000", {"reason": "x"}).status_code == 404
    staff = add_user(api, admin, Role.STAFF)
    assert _refund(api, staff, payment["id"], {"reason": "x"}).status_code == 403


def test_a_refused_refund_is_a_502_recorded_failed_and_an_outage_a_503_that_a_retry_completes_once(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    key = connect_stripe(api, admin, fakes)
    payment = _paid_order(api, admin, fakes, "stripe", "40.00")
    httpx.post(f"{fakes.stripe.url}/_config", json={"acceptKeys": ["sk_test_somebody_else"]})
    try:
        refused = _refund(api, admin, payment["id"], {"reason": "refused"})
    finally:
        httpx.post(f"{fakes.stripe.url}/_config", json={"acceptKeys": None})
    assert refused.status_code == 502
    failed = call(api, "GET", f"/payments/{payment['id']}", None, admin.headers()).json_body
    assert [(r["status"], r["reason"]) for r in failed["refunds"]] == [("failed", "refused")]
    assert failed["status"] == "succeeded"
    httpx.post(f"{fakes.stripe.url}/_config", json={"failNext": 1, "failStatus": 503})
    body = {"amount": {"amount": "15.00", "currency": "BRL"}, "reason": "outage"}
    down = _refund(api, admin, payment["id"], body, key="refund-outage")
    assert down.status_code == 503
    pending = call(api, "GET", f"/payments/{payment['id']}", None, admin.headers()).json_body
    assert [r["status"] for r in pending["refunds"]] == ["failed", "pending"]
    retried = _refund(api, admin, payment["id"], body, key="refund-outage")
    assert retried.status_code == 201, retried.body
    assert [r["status"] for r in retried.json_body["refunds"]] == ["failed", "succeeded"]
    made = [r for r in fakes.stripe.received if r["path"] == "/v1/refunds" and r["status"] == 200]
    assert len([r for r in made if key in r["headers"]["authorization"]]) == 1


def test_a_payment_that_failed_without_money_cannot_be_refunded(api: Any, admin: Account, fakes: PaymentFakes) -> None:
    connect_mercadopago(api, admin, fakes)
    order = create_order(api, admin, "12.00")
    link = create_link(api, admin, order["id"]).json_body
    fakes.mercadopago.pay(link["providerCheckoutId"], status="rejected")
    confirm(admin.tenant_id)
    [payment] = call(api, "GET", f"/payments?orderId={order['id']}", None, admin.headers()).json_body["items"]
    assert (payment["status"], payment["captured"]) == ("failed", False)
    answer = _refund(api, admin, payment["id"], {"reason": "nothing to give back"})
    assert answer.status_code == 409
    assert (
        call(api, "GET", "/payments?status=failed&limit=100", None, admin.headers()).json_body["items"][0]["id"]
        == payment["id"]
    )
