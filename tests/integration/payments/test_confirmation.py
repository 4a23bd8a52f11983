"""Confirmation: the fakes pay and post their signed webhooks to BTRIX's webhook functions, which queue them; the
ledger applies them. One payment per provider payment however often it is reported, one payer per order, the
second payment refunded, amounts checked, refunds made in the provider's dashboard (also before the payment's own
webhook) recorded, the order paid through its flow and the customer's receipt requested."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from chalicelib.core.db.store import tenant_scope
from chalicelib.notifications.outbox import list_messages
from chalicelib.payments.recording import ArrivedEarly
from chalicelib.payments.service import handle_provider_message
from tests.support.commerce import WrittenEvent
from tests.support.identity import Account, call
from tests.support.payments import (
    PaymentFakes,
    confirm,
    connect_mercadopago,
    connect_stripe,
    create_link,
    create_order,
    order_of,
    payments_of,
    queued_webhooks,
    token_of,
)


def _types(events: list[WrittenEvent], prefix: str) -> list[str]:
    return [e.type for e in events if e.type.startswith(prefix)]


def test_a_paid_stripe_checkout_records_the_payment_uses_the_link_pays_the_order_and_requests_the_receipt(
    api: Any, admin: Account, fakes: PaymentFakes, written_events: list[WrittenEvent]
) -> None:
    connect_stripe(api, admin, fakes)
    order = create_order(api, admin, "52.30")
    link = create_link(api, admin, order["id"]).json_body
    paid = fakes.stripe.pay(link["providerCheckoutId"])
    assert [d["status"] for d in paid["webhooks"][0]["deliveries"]] == [200]
    lines = confirm(admin.tenant_id)
    [payment] = payments_of(api, admin, order["id"])
    assert (payment["status"], payment["provider"], payment["amount"]) == (
        "succeeded",
        "stripe",
        {"amount": "52.30", "currency": "BRL"},
    )
    assert payment["providerPaymentId"] == paid["session"]["payment_intent"]
    assert payment["linkId"] == link["id"]
    assert lines == [f"payment {payment['id']} of order #{order['number']} succeeded (52.30 BRL)"]
    after = order_of(api, admin, order["id"])
    assert (after["status"], after["paymentStatus"], after["paymentId"]) == ("PAID", "paid", payment["id"])
    history = call(api, "GET", f"/orders/{order['id']}/history", None, admin.headers()).json_body["items"]
    assert (history[-1]["to"], history[-1]["trigger"], history[-1]["actorId"]) == ("PAID", "payment", "system")
    listed = call(api, "GET", f"/payment-links?orderId={order['id']}", None, admin.headers()).json_body["items"]
    assert (listed[0]["status"], listed[0]["paymentId"]) == ("used", payment["id"])
    used = call(api, "GET", f"/pay/{token_of(link)}", None, {})
    assert used.status_code == 410
    assert "Pagamento já realizado" in used.body.decode()
    receipts = [m for m in list_messages(admin.tenant_id) if m.template == "payment.receipt"]
    assert [(m.channel, m.to, m.variables["paymentId"]) for m in receipts] == [
        ("whatsapp", f"customer:{order['customerId']}", payment["id"])
    ]
    assert _types(written_events, "payment.") == ["payment.succeeded"]
    succeeded = next(e for e in written_events if e.type == "payment.succeeded")
    assert (succeeded.subject, succeeded.data["orderId"], succeeded.data["amount"]) == (
        payment["id"],
        order["id"],
        {"amount": "52.30", "currency": "BRL"},
    )


def test_three_concurrent_deliveries_of_each_report_record_one_payment(
    api: Any, admin: Account, fakes: PaymentFakes, written_events: list[WrittenEvent]
) -> None:
    connect_mercadopago(api, admin, fakes)
    order = create_order(api, admin, "19.90", channel="web")
    link = create_link(api, admin, order["id"]).json_body
    paid = fakes.mercadopago.pay(
        link["providerCheckoutId"], actions=["payment.created", "payment.updated"], duplicates=3
    )
    statuses = [d["status"] for hook in paid["webhooks"] for d in hook["deliveries"]]
    assert statuses == [200] * 6
    lines = confirm(admin.tenant_id, times=3)
    assert len(lines) == 1
    [payment] = payments_of(api, admin, order["id"])
    assert payment["status"] == "succeeded"
    assert payment["fee"] is not None
    assert order_of(api, admin, order["id"])["paymentStatus"] == "paid"
    assert _types(written_events, "payment.") == ["payment.succeeded"]
    receipts = [m for m in list_messages(admin.tenant_id) if m.template == "payment.receipt"]
    assert [m.channel for m in receipts] == ["email"]


def test_a_mercadopago_preference_paid_twice_keeps_one_payment_and_refunds_the_other(
    api: Any, admin: Account, fakes: PaymentFakes, written_events: list[WrittenEvent]
) -> None:
    token = connect_mercadopago(api, admin, fakes)
    order = create_order(api, admin, "30.00")
    link = create_link(api, admin, order["id"]).json_body
    first = fakes.mercadopago.pay(link["providerCheckoutId"])["payment"]
    second = fakes.mercadopago.pay(link["providerCheckoutId"])["payment"]
    lines = confirm(admin.tenant_id)
    payments = {p["providerPaymentId"]: p for p in payments_of(api, admin, order["id"])}
    kept, refunded = payments[str(first["id"])], payments[str(second["id"])]
    assert kept["status"] == "succeeded"
    assert (refunded["status"], refunded["duplicateOf"]) == ("refunded", kept["id"])
    assert [(r["requestedBy"], r["status"], r["amount"]["amount"]) for r in refunded["refunds"]] == [
        ("system", "succeeded", "30.00")
    ]
    assert fakes.mercadopago.payment(str(second["id"]))["status"] == "refunded"
    assert fakes.mercadopago.payment(str(first["id"]))["status"] == "approved"
    refund_calls = [r for r in fakes.mercadopago.received if r["path"].endswith("/refunds")]
    assert [r["headers"]["x-idempotency-key"] for r in refund_calls] == [f"btrix-refund-AUTO{refunded['id']}"]
    assert any("refunded automatically" in line for line in lines)
    assert order_of(api, admin, order["id"])["paymentId"] == kept["id"]
    preference = fakes.mercadopago.preference(link["providerCheckoutId"])
    with pytest.raises(ValueError, match="expired"):
        fakes.mercadopago.pay(preference["id"])
    assert sorted(_types(written_events, "payment.")) == ["payment.refunded", "payment.succeeded", "payment.succeeded"]
    assert token.startswith("APP_USR-")


def test_a_payment_of_another_amount_fails_and_leaves_the_order_unpaid_and_tells_the_admins(
    api: Any, admin: Account, fakes: PaymentFakes, written_events: list[WrittenEvent]
) -> None:
    connect_stripe(api, admin, fakes)
    order = create_order(api, admin, "52.30")
    link = create_link(api, admin, order["id"]).json_body
    fakes.stripe.pay(link["providerCheckoutId"], amount=1000)
    confirm(admin.tenant_id)
    [payment] = payments_of(api, admin, order["id"])
    assert payment["status"] == "failed"
    assert payment["failureReason"].startswith("amount_mismatch: paid 10.00 BRL, the order is 52.30 BRL")
    assert payment["captured"] is True
    after = order_of(api, admin, order["id"])
    assert (after["status"], after["paymentStatus"]) == ("PENDING", "unpaid")
    [told] = [m for m in list_messages(admin.tenant_id) if m.template == "payment.mismatch"]
    assert (told.channel, told.to) == ("email", "role:ADMIN")
    assert _types(written_events, "payment.") == ["payment.failed"]


def test_an_asynchronous_payment_is_pending_until_stripe_says_it_succeeded(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    connect_stripe(api, admin, fakes)
    order = create_order(api, admin)
    link = create_link(api, admin, order["id"]).json_body
    fakes.stripe.pay(link["providerCheckoutId"], outcome="processing")
    confirm(admin.tenant_id)
    assert [p["status"] for p in payments_of(api, admin, order["id"])] == ["pending"]
    assert order_of(api, admin, order["id"])["paymentStatus"] == "unpaid"
    fakes.stripe.pay(link["providerCheckoutId"], outcome="async_succeeded")
    confirm(admin.tenant_id)
    assert [p["status"] for p in payments_of(api, admin, order["id"])] == ["succeeded"]
    assert order_of(api, admin, order["id"])["status"] == "PAID"


def test_a_dashboard_refund_delivered_before_its_payment_is_retried_then_recorded(
    api: Any, admin: Account, fakes: PaymentFakes, written_events: list[WrittenEvent]
) -> None:
    connect_stripe(api, admin, fakes)
    order = create_order(api, admin, "52.30")
    link = create_link(api, admin, order["id"]).json_body
    httpx.post(f"{fakes.stripe.url}/_config", json={"hold": True})
    try:
        intent = fakes.stripe.pay(link["providerCheckoutId"])["session"]["payment_intent"]
        httpx.post(f"{fakes.stripe.url}/_refund/{intent}", json={"amount": 2000})
        sent = httpx.post(f"{fakes.stripe.url}/_deliver", json={"reverse": True}).json()["sent"]
    finally:
        httpx.post(f"{fakes.stripe.url}/_config", json={"hold": False})
    delivered = [json_type(fakes, hook["id"]) for hook in sent]
    assert delivered == ["charge.refunded", "refund.created", "checkout.session.completed"]
    queued = queued_webhooks(admin.tenant_id)
    with tenant_scope(admin.tenant_id), pytest.raises(ArrivedEarly):
        handle_provider_message("stripe", admin.tenant_id, queued[0])
    confirm(admin.tenant_id, bodies=queued)
    [payment] = payments_of(api, admin, order["id"])
    assert (payment["status"], payment["amountRefunded"]) == (
        "partially_refunded",
        {"amount": "20.00", "currency": "BRL"},
    )
    assert [(r["requestedBy"], r["status"]) for r in payment["refunds"]] == [("provider", "succeeded")]
    assert order_of(api, admin, order["id"])["paymentStatus"] == "partially_refunded"
    assert _types(written_events, "payment.") == ["payment.succeeded", "payment.refunded"]


def json_type(fakes: PaymentFakes, webhook_id: str) -> str:
    """The event type of a webhook the fake Stripe sent."""
    log = httpx.get(f"{fakes.stripe.url}/_webhooks").json()["webhooks"]
    return str(next(w["body"]["type"] for w in log if w["id"] == webhook_id))


def test_a_payment_of_a_cancelled_order_is_refunded_automatically(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    connect_stripe(api, admin, fakes)
    order = create_order(api, admin)
    link = create_link(api, admin, order["id"]).json_body
    cancelled = call(
        api,
        "POST",
        f"/orders/{order['id']}/transitions",
        {"to": "CANCELLED", "version": order["version"]},
        admin.headers(),
    )
    assert cancelled.status_code == 200, cancelled.body
    assert call(api, "GET", f"/pay/{token_of(link)}", None, {}).status_code == 410
    fakes.stripe.pay(link["providerCheckoutId"])
    lines = confirm(admin.tenant_id)
    [payment] = payments_of(api, admin, order["id"])
    assert payment["status"] == "refunded"
    assert any("cannot be paid: the order is CANCELLED" in line for line in lines)
    assert order_of(api, admin, order["id"])["paymentStatus"] == "unpaid"


def test_a_webhook_signed_with_another_secret_than_the_tenants_is_refused_and_not_queued(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    from tests.support.inbound_hooks import stripe_signature

    connect_stripe(api, admin, fakes)
    body = b'{"id": "evt_forged", "type": "checkout.session.completed", "data": {"object": {}}}'
    forged = httpx.post(
        f"{fakes.hooks}/stripe?tenant={admin.tenant_id}",
        content=body,
        headers={"Stripe-Signature": stripe_signature(body), "Content-Type": "application/json"},
    )
    assert forged.status_code == 401
    assert queued_webhooks(admin.tenant_id) == []
