"""What a Stripe billing event says in BTRIX's terms: invoices of the current API (``parent.subscription_details``)
and of older ones, payment-link sessions left to payments, and tenant ids that could bend a key refused."""

from __future__ import annotations

from typing import Any

from chalicelib.billing.providers import interpret, price_of
from chalicelib.plans.catalog import get_plan


def _event(kind: str, obj: dict[str, Any], created: int = 1_700_000_000) -> dict[str, Any]:
    return {"event": {"id": "evt_1", "type": kind, "created": created, "data": {"object": obj}}}


def _invoice(**fields: Any) -> dict[str, Any]:
    return {
        "id": "in_1",
        "object": "invoice",
        "customer": "cus_1",
        "amount_due": 14990,
        "amount_paid": 14990,
        "currency": "brl",
        "status_transitions": {"paid_at": 1_700_000_100},
        "lines": {"data": [{"period": {"start": 1_700_000_000, "end": 1_702_592_000}}]},
        **fields,
    }


def test_an_invoice_of_the_current_api_names_the_tenant_and_the_subscription() -> None:
    details = {"subscription": "sub_1", "metadata": {"tenantId": "T1", "btrixSubscription": "S1"}}
    notice = interpret("stripe_billing", _event("invoice.paid", _invoice(parent={"subscription_details": details})))
    assert notice is not None
    assert notice.charge is not None
    assert (notice.tenant_id, notice.subscription_ref, notice.provider_subscription_id) == ("T1", "S1", "sub_1")
    assert (notice.charge.status, str(notice.charge.amount.amount), notice.charge.amount.currency) == (
        "paid",
        "149.90",
        "BRL",
    )
    assert notice.charge.period_start == 1_700_000_000
    assert notice.charge.issued_at == "2023-11-14T22:13:20.000Z"  # where it stands: the period it bills
    assert notice.period_end is not None
    assert notice.period_end.startswith("2023-12-14")


def test_an_invoice_of_an_older_api_version_is_read_too() -> None:
    old = _invoice(
        subscription="sub_9", subscription_details={"metadata": {"tenantId": "T2", "btrixSubscription": "S9"}}
    )
    notice = interpret("stripe_billing", _event("invoice.payment_failed", old))
    assert notice is not None
    assert notice.charge is not None
    assert (notice.tenant_id, notice.provider_subscription_id, notice.charge.status) == ("T2", "sub_9", "failed")


def test_subscription_status_events_map_to_ours_and_deleted_is_canceled() -> None:
    subscription = {"id": "sub_1", "object": "subscription", "status": "past_due", "metadata": {"tenantId": "T1"}}
    updated = interpret("stripe_billing", _event("customer.subscription.updated", subscription))
    deleted = interpret("stripe_billing", _event("customer.subscription.deleted", subscription))
    assert updated is not None
    assert updated.status == "past_due"
    assert deleted is not None
    assert deleted.status == "canceled"


def test_payment_link_sessions_and_other_events_are_not_billing() -> None:
    assert (
        interpret(
            "stripe_billing", _event("checkout.session.completed", {"object": "checkout.session", "mode": "payment"})
        )
        is None
    )
    assert interpret("stripe_billing", _event("charge.refunded", {"object": "charge"})) is None


def test_a_tenant_id_that_could_bend_a_key_is_nobody() -> None:
    subscription = {"id": "sub_1", "object": "subscription", "status": "active", "metadata": {"tenantId": "T1#X"}}
    notice = interpret("stripe_billing", _event("customer.subscription.created", subscription))
    assert notice is not None
    assert notice.tenant_id is None


def test_a_year_costs_ten_months() -> None:
    plan = get_plan("empresa")
    assert price_of(plan, "yearly") == plan.price * 10
