"""What orders hold about a person, for privacy requests: the customer's orders, each with its partition (lines,
status history, payment links and state, audit trail). Erasure keeps them (totals and taxes are accounting records)
with the person's name, email and phone replaced by the pseudonym wherever a copy of them was kept.

A user (staff member): the orders they placed, exported as references only (number, status, dates: the rest is
their customers' data), and erased by pseudonymising any copy of the user's name, email or phone in them (the orders
keep ``createdBy``, which now names the pseudonymised user)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.personal_data import (
    DataSubject,
    all_pages,
    declare_personal_data,
    export_partition,
    scrub_partition,
)
from chalicelib.orders import store

__all__ = ["erase_orders", "export_orders"]

_REFERENCE = {"id", "number", "status", "channel", "created_by", "created_at"}


def _ids(subject: DataSubject) -> list[str]:
    if subject.kind == "customer":
        return store.customer_order_ids(subject.tenant_id, subject.id)
    return list(all_pages(lambda start: store.list_user_order_ids(subject.tenant_id, subject.id, 100, start)))


def export_orders(subject: DataSubject) -> list[dict[str, Any]]:
    """Every order of the customer, with what is kept under it; the orders a user placed, as references."""
    if subject.kind == "user":
        placed = (store.get_order(subject.tenant_id, i, consistent=True) for i in _ids(subject))
        return [
            order.view().model_dump(mode="json", by_alias=True, include=_REFERENCE)
            for order in placed
            if order is not None
        ]
    return [found for i in _ids(subject) if (found := export_partition(store.order_pk(subject.tenant_id, i)))]


def erase_orders(subject: DataSubject) -> int:
    """Pseudonymise the person in their orders; answers how many items changed."""
    return sum(scrub_partition(store.order_pk(subject.tenant_id, i), subject) for i in _ids(subject))


declare_personal_data("orders", exporter=export_orders, eraser=erase_orders)
