"""What payments hold about a person, for privacy requests: the payments of the customer's orders and sales
(amounts, provider ids, refunds: no contact of theirs). Erasure keeps them (accounting records), pseudonymising any
copy of the person's name, email or phone; their payment links and state live under the order or sale and are
pseudonymised with it. The customer at Stripe is erased at the processor (``privacy/processors.py``)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.personal_data import DataSubject, declare_personal_data, export_partition, scrub_partition
from chalicelib.orders import service as orders
from chalicelib.payments import store
from chalicelib.sales import service as sales

__all__ = ["erase_payments", "export_payments"]


def _ids(subject: DataSubject) -> list[str]:
    if subject.kind != "customer":
        return []
    tenant = subject.tenant_id
    found = [
        i for o in orders.customer_order_ids(tenant, subject.id) for i in store.all_payment_ids(tenant, ("order", o))
    ]
    found += [
        i for s in sales.customer_sale_ids(tenant, subject.id) for i in store.all_payment_ids(tenant, ("sale", s))
    ]
    return list(dict.fromkeys(found))


def export_payments(subject: DataSubject) -> list[dict[str, Any]]:
    """The payments of the person's orders and sales."""
    found = (export_partition(store.payment_pk(subject.tenant_id, i)) for i in _ids(subject))
    return [payment for payment in found if payment]


def erase_payments(subject: DataSubject) -> int:
    """Pseudonymise any copy of the person in their payments; answers how many items changed."""
    return sum(scrub_partition(store.payment_pk(subject.tenant_id, i), subject) for i in _ids(subject))


declare_personal_data("payments", exporter=export_payments, eraser=erase_payments)
