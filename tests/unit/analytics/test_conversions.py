"""Which BTRIX events are conversions, and what GA4 and Meta are told about them."""

from __future__ import annotations

from typing import Any

from chalicelib.analytics.conversions import conversion_of, ga4_payload

AT = "2026-12-06T10:00:00.000Z"
AT_S = 1_796_551_200


def _event(event_type: str, data: dict[str, Any], subject: str = "E1") -> dict[str, Any]:
    return {"id": "01JEV", "type": event_type, "tenantId": "T1", "occurredAt": AT, "subject": subject, "data": data}


def test_an_order_placed_is_a_checkout_and_its_payment_a_purchase() -> None:
    total = {"amount": "42.50", "currency": "BRL"}
    placed = conversion_of(_event("order.created", {"number": 7, "total": total, "channel": "pos", "customerId": "C1"}))
    assert placed is not None
    assert (placed.ga4_name, placed.meta_name, placed.transaction_id, placed.at_s) == (
        "begin_checkout",
        "InitiateCheckout",
        "E1",
        AT_S,
    )
    payment = {"provider": "stripe", "providerPaymentId": "pi_1", "amount": total, "orderId": "O1", "customerId": "C1"}
    paid = conversion_of(_event("payment.succeeded", payment, subject="P1"))
    assert paid is not None
    assert (paid.ga4_name, paid.meta_name, paid.transaction_id, paid.value) == ("purchase", "Purchase", "O1", total)


def test_duplicate_payments_sale_payments_and_unfinished_sales_are_not_conversions() -> None:
    amount = {"amount": "10.00", "currency": "BRL"}
    duplicate = {
        "provider": "stripe",
        "providerPaymentId": "pi_2",
        "amount": amount,
        "orderId": "O1",
        "duplicateOf": "P1",
    }
    of_a_sale = {"provider": "stripe", "providerPaymentId": "pi_3", "amount": amount, "saleId": "S1"}
    assert conversion_of(_event("payment.succeeded", duplicate)) is None
    assert conversion_of(_event("payment.succeeded", of_a_sale)) is None
    sale = {"customerId": "C1", "amount": amount, "source": "whatsapp", "outcome": None}
    assert conversion_of(_event("sale.status_changed", {"sale": sale, "outcome": None})) is None
    won = conversion_of(
        _event("sale.status_changed", {"sale": {**sale, "outcome": "completed"}, "outcome": "completed"})
    )
    assert won is not None
    assert (won.ga4_name, won.source, won.customer_id) == ("purchase", "whatsapp", "C1")
    assert conversion_of(_event("order.updated", {})) is None


def test_ga4_gets_pseudonymous_ids_the_value_and_the_events_time() -> None:
    lead = {"lead": {"status": "NEW", "source": "web", "createdAt": AT, "customerId": "C9", "estimatedValue": None}}
    conversion = conversion_of(_event("lead.created", lead))
    assert conversion is not None
    payload = ga4_payload("T1", conversion)
    again = ga4_payload("T1", conversion)
    other_tenant = ga4_payload("T2", conversion)
    assert payload["events"] == [{"name": "generate_lead", "params": {"btrix_event_id": "01JEV"}}]
    assert payload["user_id"] == "C9"
    assert payload["client_id"] == again["client_id"] != other_tenant["client_id"]
    assert "C9" not in payload["client_id"]
    assert payload["timestamp_micros"] == AT_S * 1_000_000
