"""What the provider adapters make of BTRIX's terms and of the providers' events (no network)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.money import Money
from chalicelib.payments.models import CheckoutClosed, PaymentNotice, RefundNotice
from chalicelib.payments.providers import (
    LinkReference,
    StripeGateway,
    link_reference,
    parse_reference,
    stripe_locale,
)


def test_a_link_reference_round_trips_and_foreign_references_are_none() -> None:
    reference = link_reference("01TENANT", ("order", "01ORDER"), "01LINK")
    assert reference == "01TENANT:01ORDER:01LINK"  # as links made before sales could be paid
    assert parse_reference(reference) == LinkReference("01TENANT", ("order", "01ORDER"), "01LINK")
    of_a_sale = link_reference("01TENANT", ("sale", "01SALE"), "01LINK")
    assert parse_reference(of_a_sale) == LinkReference("01TENANT", ("sale", "01SALE"), "01LINK")
    for foreign in (None, "", "order-123", "a:b", "a:b:c:d", "a:b:c:d:e", "a#b:c:d", "t:o:l l", "t:sale::l"):
        assert parse_reference(foreign) is None, foreign


def test_checkout_locales_follow_what_stripe_knows() -> None:
    assert [stripe_locale(x) for x in ("pt-BR", "en-US", "es-ES", "da-DK", "pt-PT", "tlh-KL")] == [
        "pt-BR",
        "en",
        "es",
        "da",
        "pt",
        "auto",
    ]


def _event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": "stripe.event", "event": {"id": "evt_1", "type": event_type, "data": {"object": obj}}}


def test_stripe_events_become_notices_with_the_amount_in_money() -> None:
    session = {
        "id": "cs_1",
        "mode": "payment",
        "payment_intent": "pi_1",
        "payment_status": "paid",
        "amount_total": 5230,
        "currency": "brl",
        "metadata": {"btrixRef": "t:o:l"},
    }
    [paid] = StripeGateway().interpret("t", _event("checkout.session.completed", session))
    assert isinstance(paid, PaymentNotice)
    assert (paid.payment.status, paid.payment.amount, paid.payment.reference) == (
        "succeeded",
        Money.of("52.30", "BRL"),
        "t:o:l",
    )
    [waiting] = StripeGateway().interpret(
        "t", _event("checkout.session.completed", {**session, "payment_status": "unpaid"})
    )
    assert isinstance(waiting, PaymentNotice)
    assert waiting.payment.status == "pending"
    [failed] = StripeGateway().interpret("t", _event("checkout.session.async_payment_failed", session))
    assert isinstance(failed, PaymentNotice)
    assert failed.payment.status == "failed"
    [closed] = StripeGateway().interpret("t", _event("checkout.session.expired", {**session, "payment_intent": None}))
    assert closed == CheckoutClosed("cs_1", "t:o:l")
    refund = {
        "id": "re_1",
        "payment_intent": "pi_1",
        "amount": 1000,
        "currency": "brl",
        "status": "succeeded",
        "metadata": {},
    }
    [refunded] = StripeGateway().interpret("t", _event("refund.created", refund))
    assert isinstance(refunded, RefundNotice)
    assert refunded.refund.amount == Money.of("10.00", "BRL")
    assert StripeGateway().interpret("t", _event("customer.created", {"id": "cus_1"})) == []
    subscription = {**session, "mode": "subscription"}
    assert StripeGateway().interpret("t", _event("checkout.session.completed", subscription)) == []
