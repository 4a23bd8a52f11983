"""Pagar.me behind the payments port: v5 orders paid through its hosted checkout, charge refunds, and the webhooks
of both (the order fetched: a webhook is not trusted for the payment's state)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core import clock
from chalicelib.core.money import Money
from chalicelib.core.observability import logger
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.pagarme.credentials import PagarmeCredentials
from chalicelib.payments.models import (
    Checkout,
    CheckoutClosed,
    CheckoutRequest,
    Notice,
    PaymentNotice,
    PaymentProvider,
    ProviderPayment,
    ProviderRefund,
    RefundNotice,
    RefundStatus,
)
from chalicelib.payments.providers.port import credentials, provider_time

__all__ = [
    "PAGARME_CHARGE_EVENTS",
    "PAGARME_ORDER_EVENTS",
    "PAGARME_REFUND_EVENTS",
    "PagarmeGateway",
]


# What Pagar.me's hosted checkout offers the customer (card and Pix: both settle at once; boleto would leave a link
# "used" for days). Not confirmed against a live account: see docs/PAGARME.md.
_PAGARME_METHODS = ["credit_card", "pix"]
_PAGARME_PAID = frozenset({"paid", "overpaid", "underpaid"})
_PAGARME_FAILED = frozenset({"failed", "canceled", "not_authorized", "with_error"})
# Events whose subject is an order (fetched: its state is what counts) or a charge's money going back.
PAGARME_ORDER_EVENTS = frozenset({"order.paid", "order.payment_failed", "order.canceled", "order.closed"})
PAGARME_CHARGE_EVENTS = frozenset({"charge.paid", "charge.payment_failed", "charge.pending", "charge.underpaid"})
PAGARME_REFUND_EVENTS = frozenset({"charge.refunded", "charge.partial_canceled"})
# A charge's last transaction when it is a refund, and what that says of the refund.
_PAGARME_REFUND_STATES: dict[str, RefundStatus] = {
    "refunded": "succeeded",
    "partial_refunded": "succeeded",
    "pending_refund": "pending",
    "refund_failed": "failed",
}


class PagarmeGateway:
    """Pagar.me v5 orders paid through its hosted checkout (``payment_method: checkout``), charge refunds, and the
    webhooks of both. A webhook is authenticated by its Basic login (``inbound/pagarme.py``) and then not trusted for
    the payment's state: the order is fetched, as for MercadoPago."""

    provider: PaymentProvider = "pagarme"

    @staticmethod
    def _credentials(tenant_id: str) -> PagarmeCredentials:
        found: PagarmeCredentials = credentials(tenant_id, Provider.PAGARME)
        return found

    def open_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> Checkout:
        """An order of one item with a ``checkout`` payment that expires with the link; the order's ``code`` is the
        link id, ``metadata.btrixRef`` the link reference."""
        from chalicelib.integrations.pagarme.client import create_order

        cents = request.amount.minor_units
        minutes = max(1, int((request.expires_at - clock.now()).total_seconds() // 60))
        checkout: dict[str, Any] = {
            "expires_in": minutes,
            "accepted_payment_methods": _PAGARME_METHODS,
            "success_url": request.success_url,
            "skip_checkout_success_page": True,
            "customer_editable": True,
            "billing_address_editable": False,
            "credit_card": {"installments": [{"number": 1, "total": cents}]},
            "pix": {"expires_in": minutes * 60},
        }
        order: dict[str, Any] = {
            "code": request.link_id,
            "items": [{"amount": cents, "description": request.title[:256], "quantity": 1, "code": request.payable_id}],
            "payments": [{"payment_method": "checkout", "amount": cents, "checkout": checkout}],
            "metadata": {
                "tenantId": request.tenant_id,
                f"{request.payable_kind}Id": request.payable_id,
                "linkId": request.link_id,
                "btrixRef": request.reference,
            },
        }
        if request.customer_email:
            order["customer"] = {"email": request.customer_email, "type": "individual"}
        created = create_order(self._credentials(request.tenant_id), order, idempotency_key=idempotency_key)
        checkouts = created.get("checkouts") or []
        if not checkouts or not checkouts[0].get("payment_url"):
            from chalicelib.integrations.http import Failure, ProviderError

            raise ProviderError("Pagar.me answered an order without a checkout", failure=Failure.REJECTED)
        return Checkout(id=str(created["id"]), url=str(checkouts[0]["payment_url"]))

    def close_checkout(self, tenant_id: str, checkout_id: str) -> bool:
        """``PATCH /orders/<id>/closed {status: canceled}`` unless the order is paid already (False then)."""
        from chalicelib.integrations.pagarme.client import close_order, get_order

        credentials = self._credentials(tenant_id)
        if str(get_order(credentials, checkout_id).get("status")) in _PAGARME_PAID:
            return False
        closed = close_order(credentials, checkout_id, "canceled")
        return str(closed.get("status")) not in _PAGARME_PAID

    def refund(self, tenant_id: str, provider_payment_id: str, amount: Money, *, refund_id: str) -> ProviderRefund:
        """``DELETE /charges/<id> {amount}`` with ``Idempotency-Key``: the answer's ``last_transaction`` is the
        refund."""
        from chalicelib.integrations.pagarme.client import cancel_charge

        charge = cancel_charge(
            self._credentials(tenant_id),
            provider_payment_id,
            amount.minor_units,
            idempotency_key=f"btrix-refund-{refund_id}",
        )
        found = self._refund(charge, reference=refund_id)
        if found is None:
            from chalicelib.integrations.http import Failure, ProviderError

            raise ProviderError("Pagar.me answered a refund without its transaction", failure=Failure.REJECTED)
        return found

    @staticmethod
    def _refund(charge: Mapping[str, Any], reference: str | None = None) -> ProviderRefund | None:
        """The refund a charge's ``last_transaction`` is (None when it is not one)."""
        transaction = charge.get("last_transaction") or {}
        status = str(transaction.get("status") or "")
        if not transaction.get("id") or status not in _PAGARME_REFUND_STATES:
            return None
        state = _PAGARME_REFUND_STATES[status]
        currency = str(charge.get("currency") or "BRL")
        return ProviderRefund(
            provider_refund_id=str(transaction["id"]),
            amount=Money.of_minor(int(transaction.get("amount") or 0), currency),
            status=state,
            reference=reference,
        )

    def fetch_order(self, tenant_id: str, order_id: str) -> list[Notice]:
        """``GET /orders/<id>`` in BTRIX's terms: each charge a payment (the charge id is the provider's payment
        id), an order closed without a charge the checkout closed."""
        from chalicelib.integrations.pagarme.client import get_order

        order = get_order(self._credentials(tenant_id), order_id)
        reference = (order.get("metadata") or {}).get("btrixRef")
        charges = order.get("charges") or []
        if not charges:
            closed = str(order.get("status")) in _PAGARME_FAILED
            return [CheckoutClosed(str(order["id"]), reference)] if closed else []
        notices: list[Notice] = []
        for charge in charges:
            raw = str(charge.get("status") or "")
            status = "succeeded" if raw in _PAGARME_PAID else "failed" if raw in _PAGARME_FAILED else "pending"
            currency = str(charge.get("currency") or order.get("currency") or "BRL")
            cents = int(charge.get("paid_amount") or charge.get("amount") or 0)
            notices.append(
                PaymentNotice(
                    ProviderPayment(
                        provider="pagarme",
                        provider_payment_id=str(charge["id"]),
                        status=status,  # type: ignore[arg-type]
                        amount=Money.of_minor(cents, currency),
                        reference=reference,
                        checkout_id=str(order["id"]),
                        detail=None if status == "succeeded" else f"{raw}: charge {charge['id']}",
                        paid_at=provider_time(charge.get("paid_at")) if status == "succeeded" else None,
                    )
                )
            )
        return notices

    def interpret(self, tenant_id: str, message: Mapping[str, Any]) -> list[Notice]:
        """``order.*`` and ``charge.*`` payment events → the order as Pagar.me has it now (fetched); a refund event
        → its refund transaction, once the charge is confirmed at Pagar.me (fetched: it exists in this account and
        what it gave back covers the refund)."""
        from chalicelib.integrations.pagarme.client import get_charge

        event = message.get("event") or {}
        event_type = str(event.get("type") or "")
        data: Mapping[str, Any] = event.get("data") or {}
        if event_type in PAGARME_ORDER_EVENTS and data.get("id"):
            return self.fetch_order(tenant_id, str(data["id"]))
        order_id = (data.get("order") or {}).get("id")
        if event_type in PAGARME_CHARGE_EVENTS and order_id:
            return self.fetch_order(tenant_id, str(order_id))
        if event_type in PAGARME_REFUND_EVENTS and data.get("id"):
            reported = self._refund(data)
            if reported is None:
                return []
            charge = get_charge(self._credentials(tenant_id), str(data["id"]))
            if int(charge.get("canceled_amount") or 0) < reported.amount.minor_units:
                logger.warning("a Pagar.me refund the charge does not show", extra={"chargeId": data["id"]})
                return []
            return [RefundNotice(str(charge["id"]), reported)]
        return []
