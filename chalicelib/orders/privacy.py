"""What orders hold about a person, for privacy requests: the customer's orders, each with its partition (lines,
status history, payment links and state, audit trail). Erasure keeps them (totals and taxes are accounting records)
with the person's name, email and phone replaced by the pseudonym wherever a copy of them was kept."""

from __future__ import annotations

from typing import Any

from chalicelib.core.personal_data import DataSubject, declare_personal_data, export_partition, scrub_partition
from chalicelib.orders import store

__all__ = ["erase_orders", "export_orders"]


def export_orders(subject: DataSubject) -> list[dict[str, Any]]:
    """Every order of the customer, with what is kept under it."""
    if subject.kind != "customer":
        return []
    ids = store.customer_order_ids(subject.tenant_id, subject.id)
    return [found for i in ids if (found := export_partition(store.order_pk(subject.tenant_id, i)))]


def erase_orders(subject: DataSubject) -> int:
    """Pseudonymise the customer in their orders; answers how many items changed."""
    if subject.kind != "customer":
        return 0
    ids = store.customer_order_ids(subject.tenant_id, subject.id)
    return sum(scrub_partition(store.order_pk(subject.tenant_id, i), subject) for i in ids)


declare_personal_data("orders", exporter=export_orders, eraser=erase_orders)
