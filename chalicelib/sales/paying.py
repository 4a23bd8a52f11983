"""Sales are payable: a payment link (``POST /payment-links {saleId}``) asks for a sale's final amount, and its
payment marks the sale paid.

Registered with ``payments.payables`` at import (``app.py`` imports this module), as orders register themselves:
``describe`` gives payments the sale's final amount, customer and channel (WhatsApp for a sale that came from a
conversation) and refuses a sale that cannot be paid any more (cancelled, or its Billy.dk invoice already paid);
``record_payment`` sets ``paymentStatus``, ``paymentId`` and ``paidAt`` through ``sales.service.record_payment``
(``sale.paid`` carries the ``paymentId``: the money itself is in that payment's ``payment.succeeded``).
"""

from __future__ import annotations

from chalicelib.access.principal import Principal
from chalicelib.payments import payables
from chalicelib.sales import service

__all__: list[str] = []

KIND = "sale"


class _SalePayables:
    """Sales as ``payments.payables`` see them."""

    def describe(self, tenant_id: str, payable_id: str, reader: Principal | None) -> payables.Payable:
        """The sale's final amount, customer and channel; ``closed`` when it was cancelled or its invoice paid."""
        sale = service.load_sale(tenant_id, payable_id) if reader is None else service.get_sale(reader, payable_id)
        closed = None
        if sale.outcome == "cancelled":
            closed = f"the sale is {sale.status}"
        elif sale.payment_status == "paid" and sale.payment_id is None:
            closed = "its invoice is paid"
        return payables.Payable(
            kind=KIND,
            id=sale.id,
            label=sale.number,
            total=sale.amounts.final,
            customer_id=sale.customer_id,
            channel="whatsapp" if sale.source == "whatsapp" else "web",
            closed=closed,
        )

    def record_payment(self, tenant_id: str, payable_id: str, state: payables.PaymentState) -> None:
        """``paymentStatus`` (paid, partially_refunded, refunded), ``paymentId`` and ``paidAt`` on the sale."""
        service.record_payment(tenant_id, payable_id, status=state.status, payment_id=state.payment_id, at=state.at)


payables.register(KIND, _SalePayables())
