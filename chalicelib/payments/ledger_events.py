"""The events and messages a ledger change writes in its own transaction: ``payment.succeeded``, ``payment.failed``
and ``payment.refunded``, the customer's receipt, the ADMINs' mismatch email."""

from __future__ import annotations

from typing import Any

from chalicelib.core.db.store import WriteOp
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.formatting import money_value
from chalicelib.core.money import Money
from chalicelib.customers.service import load_customer
from chalicelib.notifications.outbox import Channel, request_message_ops
from chalicelib.payments import payables
from chalicelib.payments.models import Payment, Refund
from chalicelib.tenants.service import load_tenant

__all__ = ["failed_event", "mismatch_ops", "receipt_ops", "refunded_event", "succeeded_event"]

_PROVIDER_NAMES = {"stripe": "Stripe", "mercadopago": "Mercado Pago"}


def _money(value: Money | None) -> dict[str, str] | None:
    return None if value is None else value.model_dump()


def _paid_thing(payment: Payment) -> dict[str, str]:
    """``orderId`` or ``saleId``: what the payment pays, in its events."""
    kind, payable_id = payment.payable
    return {f"{kind}Id": payable_id}


def succeeded_event(payment: Payment, customer_id: str | None) -> WriteOp:
    """``payment.succeeded``: what was paid, through which provider, net of its fee."""
    data: dict[str, Any] = {
        **_paid_thing(payment),
        "provider": payment.provider,
        "providerPaymentId": payment.provider_payment_id,
        "amount": payment.amount.model_dump(),
        "paidAt": payment.paid_at,
    }
    for name, value in (
        ("fee", _money(payment.fee)),
        ("net", _money(payment.net)),
        ("linkId", payment.link_id),
        ("customerId", customer_id),
        ("duplicateOf", payment.duplicate_of),
    ):
        if value is not None:
            data[name] = value
    return event_put_op(new_event("payment.succeeded", payment.tenant_id, data, subject=payment.id))


def failed_event(payment: Payment) -> WriteOp:
    """``payment.failed`` with its reason."""
    data = {
        **_paid_thing(payment),
        "provider": payment.provider,
        "providerPaymentId": payment.provider_payment_id,
        "amount": payment.amount.model_dump(),
        "reason": payment.failure_reason or "failed",
    }
    return event_put_op(new_event("payment.failed", payment.tenant_id, data, subject=payment.id))


def refunded_event(payment: Payment, refund_done: Refund) -> WriteOp:
    """``payment.refunded``: the refund and how much of the payment is given back so far."""
    data: dict[str, Any] = {
        **_paid_thing(payment),
        "provider": payment.provider,
        "refundId": refund_done.id,
        "amount": refund_done.amount.model_dump(),
        "amountRefunded": payment.amount_refunded.model_dump(),
        "full": payment.status == "refunded",
        "requestedBy": refund_done.requested_by,
    }
    if refund_done.reason:
        data["reason"] = refund_done.reason
    return event_put_op(new_event("payment.refunded", payment.tenant_id, data, subject=payment.id))


def receipt_ops(tenant_id: str, payable: payables.Payable, payment: Payment, locale: str) -> list[WriteOp]:
    """The receipt, on the order's channel: WhatsApp for an order made there (the notifications capability sends
    the approved template outside the 24-hour window), else email, else WhatsApp to the customer's phone."""
    if payable.customer_id is None:
        return []
    customer = load_customer(tenant_id, payable.customer_id)
    channel: Channel
    if payable.channel == "whatsapp" and customer.phone:
        channel = "whatsapp"
    elif customer.email:
        channel = "email"
    elif customer.phone:
        channel = "whatsapp"
    else:
        return []
    variables = {
        "entityType": payable.kind,
        "entityId": payable.id,
        "amount": money_value(payment.amount),
        "provider": _PROVIDER_NAMES.get(payment.provider, payment.provider),
        "paymentId": payment.id,
    }
    return request_message_ops(tenant_id, channel, f"customer:{customer.id}", "payment.receipt", locale, variables)


def mismatch_ops(tenant_id: str, payable: payables.Payable, payment: Payment) -> list[WriteOp]:
    """The email telling the tenant's ADMINs that a payment's amount is not what was to be paid."""
    tenant = load_tenant(tenant_id)
    variables = {
        "orderNumber": payable.label,
        "paid": money_value(payment.amount),
        "expected": money_value(payable.total),
        "provider": _PROVIDER_NAMES.get(payment.provider, payment.provider),
        "paymentId": payment.id,
    }
    return request_message_ops(tenant_id, "email", "role:ADMIN", "payment.mismatch", tenant.locale, variables)
