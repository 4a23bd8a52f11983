"""BTRIX's subscription billing end to end: the ADMIN subscribes, pays at the fake Stripe or MercadoPago, whose
signed webhooks (``?scope=billing``) reach the webhook functions, the integrations queue and the billing handlers;
dunning (a failed charge, the ADMINs told, the grace period, suspension, reactivation by a payment); upgrade and
downgrade rules; duplicate, reordered and unmatched events; another tenant's view."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from chalicelib.access.permissions import Role
from chalicelib.core import aws, clock
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.resources import QueueKind, queue_name, queue_url
from chalicelib.integrations.jobs import MAX_ATTEMPTS, RetryJob, job_of
from chalicelib.notifications.outbox import list_messages
from tests.support.billing import BillingAccounts, billing, billing_accounts, subscribe
from tests.support.environment import settings_from
from tests.support.identity import Account, add_user, call, platform_operator, signup
from tests.support.inbound_hooks import stripe_signature, take_messages
from tests.support.payments import PaymentFakes, running_fakes


@pytest.fixture(scope="module")
def fakes(stack: Any, hooks: httpx.Client) -> Iterator[PaymentFakes]:
    """Both fakes, the settings pointing at them, and retries without waiting."""
    with settings_from({"BTRIX_INTEGRATION_RETRY_BASE_S": "0", "BTRIX_INTEGRATION_RETRY_MAX_S": "0"}):
        yield from running_fakes(str(hooks.base_url).rstrip("/"))


@pytest.fixture(scope="module")
def accounts(fakes: PaymentFakes) -> Iterator[BillingAccounts]:
    """BTRIX's billing accounts at the fakes, in Secrets Manager."""
    with billing_accounts(fakes) as created:
        yield created


@pytest.fixture
def admin(api: Any, accounts: BillingAccounts) -> Account:
    """The ADMIN of a new tenant, on the plan a signup gets."""
    account, _ = signup(api, plan="lojista")
    return account


def _tenant(api: Any, account: Account) -> Any:
    return call(api, "GET", "/tenant", headers=account.headers())


def _pay_stripe(fakes: PaymentFakes, checkout_url: str, **options: Any) -> dict[str, Any]:
    return fakes.stripe.pay(checkout_url.rsplit("/", 1)[1], **options)


def _subscribed_stripe(api: Any, admin: Account, fakes: PaymentFakes, drain: Any, plan: str = "empresa") -> str:
    """Subscribe through Stripe and pay; returns the Stripe subscription id."""
    answer = subscribe(api, admin, plan)
    assert answer.status_code == 200, answer.body
    paid = _pay_stripe(fakes, answer.json_body["checkoutUrl"])
    drain(lambda: billing(api, admin)["status"] == "active")
    return str(paid["session"]["subscription"])


def _admin_messages(tenant_id: str, template: str) -> list[Any]:
    return [m for m in list_messages(tenant_id, limit=50) if m.template == template]


def test_a_stripe_subscription_is_paid_at_checkout_then_lapses_into_suspension_and_a_payment_reactivates_it(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any
) -> None:
    before = billing(api, admin)
    assert (before["status"], before["planId"], before["invoices"]) == ("none", "lojista", [])

    answer = subscribe(api, admin, "empresa")
    assert answer.status_code == 200, answer.body
    assert answer.json_body["effective"] == "after_payment"
    checkout = answer.json_body["checkoutUrl"]
    assert checkout.startswith(fakes.stripe.url + "/c/pay/cs_")
    assert billing(api, admin)["planId"] == "lojista"  # nothing paid yet: the plan waits
    session = fakes.stripe.session(checkout.rsplit("/", 1)[1])
    assert session["mode"] == "subscription"

    subscription_id = str(_pay_stripe(fakes, checkout)["session"]["subscription"])
    drain(lambda: billing(api, admin)["status"] == "active")
    paid = billing(api, admin)
    assert paid["planId"] == "empresa"
    assert paid["nextCharge"] == {"amount": "149.90", "currency": "BRL"}
    assert paid["nextChargeAt"] is not None
    assert [(i["status"], i["amount"]["amount"]) for i in paid["invoices"]] == [("paid", "149.90")]
    assert paid["invoices"][0]["paidAt"] is not None
    assert "sales" in _tenant(api, admin).json_body["modules"]  # the plan's modules, at once

    fakes.stripe.renew(subscription_id, outcome="failed")
    drain(lambda: billing(api, admin)["status"] == "past_due")
    lapsed = billing(api, admin)
    assert lapsed["graceUntil"] is not None
    assert sorted(i["status"] for i in lapsed["invoices"]) == ["failed", "paid"]
    assert len(_admin_messages(admin.tenant_id, "billing.payment_failed")) == 1  # told at once
    assert _tenant(api, admin).status_code == 200  # still working during the grace period

    from chalicelib.billing.lifecycle import suspend_overdue

    with clock.frozen_clock(clock.now() + timedelta(days=6)):
        suspend_overdue()
    assert _tenant(api, admin).status_code == 200
    with clock.frozen_clock(clock.now() + timedelta(days=8)):
        assert suspend_overdue() >= 1
    refused = _tenant(api, admin)
    assert refused.status_code == 403
    assert refused.json_body["type"] == "urn:btrix:problem:tenant-suspended"
    suspended = billing(api, admin)  # billing stays open, to pay
    assert suspended["tenantStatus"] == "suspended"
    assert suspended["status"] == "past_due"
    assert _admin_messages(admin.tenant_id, "billing.suspended")

    failed_invoice = next(i for i in lapsed["invoices"] if i["status"] == "failed")["providerId"]
    fakes.stripe.settle(failed_invoice, outcome="paid")
    drain(lambda: billing(api, admin)["tenantStatus"] == "active")
    back = billing(api, admin)
    assert back["status"] == "active"
    assert back["graceUntil"] is None
    assert sorted(i["status"] for i in back["invoices"]) == ["paid", "paid"]
    assert _tenant(api, admin).status_code == 200


def test_an_operator_suspension_is_not_lifted_by_a_payment(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any
) -> None:
    subscription_id = _subscribed_stripe(api, admin, fakes, drain)
    operator = platform_operator(api)
    assert (
        call(api, "POST", f"/platform/tenants/{admin.tenant_id}/suspend", None, operator.headers()).status_code == 200
    )
    fakes.stripe.renew(subscription_id, outcome="paid")
    drain(lambda: len(billing(api, admin)["invoices"]) == 2)
    assert billing(api, admin)["tenantStatus"] == "suspended"
    assert _tenant(api, admin).json_body["type"] == "urn:btrix:problem:tenant-suspended"


def test_duplicate_and_reversed_webhooks_end_in_the_same_state(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any
) -> None:
    answer = subscribe(api, admin, "empresa")
    fakes.stripe._configure({"hold": True})
    try:
        _pay_stripe(fakes, answer.json_body["checkoutUrl"])
    finally:
        fakes.stripe._configure({"hold": False})
    held = fakes.stripe._held[:]
    assert [json.loads(h.body)["type"] for h in held][-1] == "invoice.paid"
    fakes.stripe._deliver_held(reverse=True)  # invoice.paid first, checkout.session.completed last
    for hook in held:
        fakes.stripe._send(hook, times=3)  # and every one again, three at once
    drain(lambda: billing(api, admin)["status"] == "active")
    state = billing(api, admin)
    assert state["planId"] == "empresa"
    assert [i["status"] for i in state["invoices"]] == ["paid"]  # one transaction per invoice
    changes = [m for m in list_messages(admin.tenant_id, limit=50) if m.template == "billing.payment_failed"]
    assert changes == []


def _held_in(order: str, held: list[Any]) -> list[tuple[Any, int]]:
    """The held webhooks as one delivery order sends them: each once in order, reversed, or reversed with every
    one sent three times at once and all of them once more in order."""
    if order == "in_order":
        return [(hook, 1) for hook in held]
    if order == "reversed":
        return [(hook, 1) for hook in reversed(held)]
    return [(hook, 3) for hook in reversed(held)] + [(hook, 1) for hook in held]


def _settled() -> bool:
    """Whether the integrations queue holds nothing more (visible, in flight or delayed): every copy handled."""
    url = queue_url(queue_name(QueueKind.INTEGRATIONS))
    counts = aws.sqs().get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return all(int(value) == 0 for value in counts.values())


@pytest.mark.parametrize("order", ["in_order", "reversed", "duplicated"])
def test_a_late_payment_of_an_older_invoice_does_not_undo_a_newer_invoices_failure(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any, order: str
) -> None:
    subscription_id = _subscribed_stripe(api, admin, fakes, drain)
    fakes.stripe._configure({"hold": True})
    try:
        older = fakes.stripe.renew(subscription_id, outcome="paid")["invoice"]["id"]
        newer = fakes.stripe.renew(subscription_id, outcome="failed")["invoice"]["id"]
    finally:
        fakes.stripe._configure({"hold": False})
    held, fakes.stripe._held = fakes.stripe._held[:], []
    assert [json.loads(h.body)["type"] for h in held] == [
        "invoice.paid",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    for hook, times in _held_in(order, held):
        fakes.stripe._send(hook, times=times)
        drain(_settled)  # each one handled before the next arrives: the order is the one sent
    state = billing(api, admin)
    assert state["status"] == "past_due"  # the newest invoice's word, whatever the order
    assert state["graceUntil"] is not None
    statuses = {i["providerId"]: i["status"] for i in state["invoices"]}
    assert (statuses[older], statuses[newer]) == ("paid", "failed")  # the older payment is recorded all the same
    assert _admin_messages(admin.tenant_id, "billing.payment_failed")  # the ADMINs are told

    fakes.stripe.settle(newer, outcome="paid")  # the newer invoice paid: active again
    drain(lambda: billing(api, admin)["status"] == "active")
    assert billing(api, admin)["graceUntil"] is None


@pytest.mark.parametrize("order", ["in_order", "reversed", "duplicated"])
def test_a_late_approval_of_an_older_mercadopago_charge_does_not_undo_a_newer_rejection(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any, order: str
) -> None:
    answer = subscribe(api, admin, "empresa", provider="mercadopago")
    preapproval_id = answer.json_body["checkoutUrl"].rsplit("=", 1)[1]
    fakes.mercadopago.authorize(preapproval_id)
    drain(lambda: billing(api, admin)["status"] == "active")
    fakes.mercadopago._configure({"hold": True})
    try:
        older = fakes.mercadopago.charge(preapproval_id, "approved")["authorizedPayment"]["id"]
        newer = fakes.mercadopago.charge(preapproval_id, "rejected")["authorizedPayment"]["id"]
    finally:
        fakes.mercadopago._configure({"hold": False})
    held, fakes.mercadopago._held = fakes.mercadopago._held[:], []
    assert len(held) == 2
    for hook, times in _held_in(order, held):
        fakes.mercadopago._send(hook, times=times)
        drain(_settled)
    state = billing(api, admin)
    assert state["status"] == "past_due"
    statuses = {i["providerId"]: i["status"] for i in state["invoices"]}
    assert (statuses[str(older)], statuses[str(newer)]) == ("paid", "failed")


def test_an_upgrade_applies_at_once_and_a_downgrade_at_the_period_end(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any
) -> None:
    subscription_id = _subscribed_stripe(api, admin, fakes, drain, plan="empresa")

    up = subscribe(api, admin, "corporativo")
    assert up.status_code == 200, up.body
    assert up.json_body["effective"] == "now"
    assert billing(api, admin)["planId"] == "corporativo"
    assert fakes.stripe.subscription(subscription_id)["items"]["data"][0]["price"]["unit_amount"] == 49990
    drain(lambda: any(i["amount"]["amount"] == "350.00" for i in billing(api, admin)["invoices"]))  # prorated

    down = subscribe(api, admin, "lojista")
    assert down.status_code == 200, down.body
    assert down.json_body["effective"] == "period_end"
    assert down.json_body["effectiveAt"]
    waiting = billing(api, admin)
    assert waiting["planId"] == "corporativo"
    assert waiting["subscription"]["pendingPlanId"] == "lojista"
    assert waiting["nextCharge"] == {"amount": "49.90", "currency": "BRL"}

    fakes.stripe.renew(subscription_id, outcome="paid")  # the next period begins
    drain(lambda: billing(api, admin)["planId"] == "lojista")
    assert billing(api, admin)["subscription"]["pendingPlanId"] is None


def test_a_downgrade_that_would_break_a_limit_is_refused_naming_it(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any
) -> None:
    _subscribed_stripe(api, admin, fakes, drain, plan="empresa")
    for role in (Role.MANAGER, Role.STAFF):
        add_user(api, admin, role)  # three users; Lojista allows two
    refused = subscribe(api, admin, "lojista")
    assert refused.status_code == 409, refused.body
    assert "maxUsers" in refused.json_body["detail"]
    assert refused.json_body["errors"][0]["field"] == "body.planId"
    assert billing(api, admin)["subscription"]["pendingPlanId"] is None


def test_bad_subscription_requests_name_the_field(api: Any, admin: Account) -> None:
    unknown = subscribe(api, admin, "platinum")
    assert unknown.status_code == 422
    assert unknown.json_body["errors"][0]["field"] == "body.planId"
    bad = call(api, "POST", "/billing/subscription", {"planId": "empresa", "provider": "paypal"}, admin.headers())
    assert bad.status_code == 422
    assert "provider" in json.dumps(bad.json_body["errors"])
    manager = add_user(api, admin, Role.MANAGER)
    assert subscribe(api, manager, "empresa").status_code == 403
    assert call(api, "GET", "/billing", headers=manager.headers()).status_code == 403


def test_a_mercadopago_preapproval_is_authorized_charged_declined_and_paid_again(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any
) -> None:
    answer = subscribe(api, admin, "empresa", provider="mercadopago", cycle="yearly")
    assert answer.status_code == 200, answer.body
    checkout = answer.json_body["checkoutUrl"]
    preapproval_id = checkout.rsplit("=", 1)[1]
    created = fakes.mercadopago.preapproval(preapproval_id)
    assert created["external_reference"] == f"billing:{admin.tenant_id}:{answer.json_body['subscriptionId']}"
    assert created["auto_recurring"]["frequency"] == 12
    assert created["auto_recurring"]["transaction_amount"] == 1499.0  # a year is ten months

    page = httpx.post(checkout, timeout=30)  # the payer authorizes at the init_point (its first charge is made)
    assert page.status_code == 200
    assert "authorized" in page.text
    drain(lambda: billing(api, admin)["status"] == "active" and len(billing(api, admin)["invoices"]) == 1)
    assert billing(api, admin)["planId"] == "empresa"

    fakes.mercadopago.charge(preapproval_id, "rejected", duplicates=2)
    drain(lambda: billing(api, admin)["status"] == "past_due")
    assert _admin_messages(admin.tenant_id, "billing.payment_failed")
    fakes.mercadopago.charge(preapproval_id, "approved")
    drain(lambda: billing(api, admin)["status"] == "active")
    assert sorted(i["status"] for i in billing(api, admin)["invoices"]) == ["failed", "paid", "paid"]
    portal = call(api, "POST", "/billing/portal", None, admin.headers())
    assert portal.status_code == 409  # the customer portal is Stripe's


def test_the_stripe_customer_portal_opens_for_the_subscriber(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any
) -> None:
    _subscribed_stripe(api, admin, fakes, drain)
    portal = call(api, "POST", "/billing/portal", None, admin.headers())
    assert portal.status_code == 200, portal.body
    assert portal.json_body["url"].startswith(fakes.stripe.url + "/p/session/bps_")


def test_a_paid_plan_comes_only_through_a_subscription_or_the_operator(api: Any, accounts: BillingAccounts) -> None:
    body = {
        "companyName": "Sneaky",
        "businessType": "retail",
        "planId": "corporativo",
        "admin": {"name": "Ana", "email": f"sneaky-{clock.to_epoch(clock.now())}@example.com", "password": "x" * 12},
    }
    answer = call(api, "POST", "/auth/signup", body)
    if answer.status_code == 201:
        assert answer.json_body["tenant"]["planId"] == "lojista"
    else:
        assert answer.status_code in (400, 422)


def _signed_billing_event(hooks: httpx.Client, secret: str, event: dict[str, Any]) -> httpx.Response:
    body = json.dumps(event).encode()
    headers = {"Stripe-Signature": stripe_signature(body, secret), "Content-Type": "application/json"}
    return hooks.post("/stripe?scope=billing", content=body, headers=headers)


def test_an_event_of_no_known_subscription_is_retried_then_parked_and_listed(
    api: Any, admin: Account, other: Account, fakes: PaymentFakes, hooks: httpx.Client, accounts: BillingAccounts
) -> None:
    from chalicelib.core import secrets
    from chalicelib.core.resources import STRIPE_BILLING_CREDENTIALS, secret_name

    secret = json.loads(secrets.get_secret(secret_name(STRIPE_BILLING_CREDENTIALS)))["webhookSecret"]
    # Another tenant's name on an invoice of a subscription it does not have: nothing of either tenant changes.
    event = {
        "id": f"evt_probe{clock.to_epoch(clock.now())}{admin.tenant_id[-6:]}",
        "object": "event",
        "type": "invoice.paid",
        "created": clock.to_epoch(clock.now()),
        "data": {
            "object": {
                "id": "in_unknown",
                "object": "invoice",
                "amount_paid": 49990,
                "amount_due": 49990,
                "currency": "brl",
                "parent": {
                    "subscription_details": {
                        "subscription": "sub_unknown",
                        "metadata": {"tenantId": other.tenant_id, "btrixSubscription": "01NOSUCHSUBSCRIPTION0000"},
                    }
                },
            }
        },
    }
    unsigned = hooks.post("/stripe?scope=billing", content=json.dumps(event).encode())
    assert unsigned.status_code == 401
    accepted = _signed_billing_event(hooks, secret, event)
    assert accepted.status_code == 200, accepted.text
    queued = take_messages(
        QueueKind.INTEGRATIONS,
        lambda body: body.get("provider") == "stripe_billing" and (body.get("event") or {}).get("id") == event["id"],
    )
    assert len(queued) == 1
    body = queued[0][0]
    for attempt in (1, MAX_ATTEMPTS):
        job, registration = job_of(body, attempt)
        assert registration is not None
        with tenant_scope(job.tenant_id), pytest.raises(RetryJob):
            registration.handler(job)
    operator = platform_operator(api)
    parked = call(api, "GET", "/platform/billing/events?limit=100", headers=operator.headers())
    assert parked.status_code == 200, parked.body
    mine = [e for e in parked.json_body["items"] if e["eventId"] == event["id"]]
    assert len(mine) == 1
    assert mine[0]["parked"] is True
    assert mine[0]["attempts"] == MAX_ATTEMPTS
    assert billing(api, other)["invoices"] == []
    assert billing(api, other)["status"] == "none"
    assert call(api, "GET", "/platform/billing/events", headers=admin.headers()).status_code == 403


@pytest.fixture
def other(api: Any, accounts: BillingAccounts) -> Account:
    """A second tenant."""
    account, _ = signup(api, plan="lojista")
    return account


def test_each_tenant_sees_only_its_own_billing_and_the_operator_lists_past_due_tenants(
    api: Any, admin: Account, other: Account, fakes: PaymentFakes, drain: Any
) -> None:
    subscription_id = _subscribed_stripe(api, admin, fakes, drain)
    assert billing(api, other)["status"] == "none"
    assert billing(api, other)["invoices"] == []
    assert call(api, "POST", "/billing/portal", None, other.headers()).status_code == 409
    fakes.stripe.renew(subscription_id, outcome="failed")
    drain(lambda: billing(api, admin)["status"] == "past_due")
    operator = platform_operator(api)
    listed = call(api, "GET", "/platform/subscriptions?status=past_due&limit=100", headers=operator.headers())
    assert listed.status_code == 200, listed.body
    tenants = {s["tenantId"]: s for s in listed.json_body["items"]}
    assert admin.tenant_id in tenants
    assert tenants[admin.tenant_id]["graceUntil"]
    assert other.tenant_id not in tenants
    every = call(api, "GET", "/platform/subscriptions?limit=100", headers=operator.headers()).json_body["items"]
    assert admin.tenant_id in {s["tenantId"] for s in every}
    assert call(api, "GET", "/platform/subscriptions", headers=admin.headers()).status_code == 403


def test_a_new_checkout_closes_the_open_one_and_the_same_request_gets_the_same_checkout(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    first = subscribe(api, admin, "empresa").json_body
    again = subscribe(api, admin, "empresa").json_body
    assert again["checkoutUrl"] == first["checkoutUrl"]
    other_plan = subscribe(api, admin, "corporativo")
    assert other_plan.status_code == 200, other_plan.body
    assert other_plan.json_body["checkoutUrl"] != first["checkoutUrl"]
    assert fakes.stripe.session(first["checkoutUrl"].rsplit("/", 1)[1])["status"] == "expired"
    by_mercadopago = subscribe(api, admin, "corporativo", provider="mercadopago")
    assert by_mercadopago.status_code == 200, by_mercadopago.body
    assert fakes.stripe.session(other_plan.json_body["checkoutUrl"].rsplit("/", 1)[1])["status"] == "expired"
    preapproval = by_mercadopago.json_body["checkoutUrl"].rsplit("=", 1)[1]
    assert subscribe(api, admin, "empresa", provider="stripe").status_code == 200
    assert fakes.mercadopago.preapproval(preapproval)["status"] == "cancelled"


def test_mercadopago_notifications_reversed_and_repeated_end_in_one_paid_charge(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any
) -> None:
    answer = subscribe(api, admin, "corporativo", provider="mercadopago")
    preapproval_id = answer.json_body["checkoutUrl"].rsplit("=", 1)[1]
    fakes.mercadopago.authorize(preapproval_id, reverse=True, duplicates=3)  # the charge before the authorization
    drain(lambda: billing(api, admin)["status"] == "active")
    state = billing(api, admin)
    assert state["planId"] == "corporativo"
    assert [(i["status"], i["amount"]["amount"]) for i in state["invoices"]] == [("paid", "499.90")]
    assert state["subscription"]["providerSubscriptionId"] == preapproval_id


def test_a_cancelled_stripe_subscription_ends_with_its_period_and_the_plan_goes_back_to_the_default(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any
) -> None:
    subscription_id = _subscribed_stripe(api, admin, fakes, drain, plan="empresa")
    cancelled = call(api, "DELETE", "/billing/subscription", None, admin.headers())
    assert cancelled.status_code == 200, cancelled.body
    assert cancelled.json_body["status"] == "active"
    assert cancelled.json_body["cancelAt"]
    assert fakes.stripe.subscription(subscription_id)["cancel_at_period_end"] is True
    assert subscribe(api, admin, "corporativo").status_code == 409  # it is ending
    assert billing(api, admin)["planId"] == "empresa"  # paid until the period's end
    fakes.stripe.renew(subscription_id)  # the period ends: Stripe deletes the subscription
    drain(lambda: billing(api, admin)["status"] == "canceled")
    assert billing(api, admin)["planId"] == "lojista"
    assert call(api, "DELETE", "/billing/subscription", None, admin.headers()).status_code == 409


def test_a_cancelled_mercadopago_subscription_ends_at_once(
    api: Any, admin: Account, fakes: PaymentFakes, drain: Any
) -> None:
    answer = subscribe(api, admin, "empresa", provider="mercadopago")
    fakes.mercadopago.authorize(answer.json_body["checkoutUrl"].rsplit("=", 1)[1])
    drain(lambda: billing(api, admin)["status"] == "active")
    assert call(api, "DELETE", "/billing/subscription", None, admin.headers()).status_code == 200
    drain(lambda: billing(api, admin)["status"] == "canceled")
    assert billing(api, admin)["planId"] == "lojista"


def test_cancelling_an_open_checkout_closes_it(api: Any, admin: Account, fakes: PaymentFakes) -> None:
    answer = subscribe(api, admin, "empresa").json_body
    cancelled = call(api, "DELETE", "/billing/subscription", None, admin.headers())
    assert cancelled.status_code == 200
    assert cancelled.json_body["status"] == "canceled"
    assert fakes.stripe.session(answer["checkoutUrl"].rsplit("/", 1)[1])["status"] == "expired"
