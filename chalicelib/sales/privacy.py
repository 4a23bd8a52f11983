"""What sales hold about a person, for privacy requests: the customer's sales, each with its partition (status
history, payment links and state, audit trail). Erasure keeps them (amounts, taxes and invoice numbers are
accounting records) with the person's name, email and phone replaced by the pseudonym wherever a copy was kept.
The sales' Google Calendar events and Billy.dk contact are erased at the processors (``privacy/processors.py``).

A user (a sales rep): the sales assigned to them, exported as references only (number, status, dates: the rest is
their customers' data), and erased by pseudonymising any copy of the rep's name, email or phone in them (the sales
stay theirs: ``assignedTo`` keeps the id, which now names the pseudonymised user)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.personal_data import DataSubject, declare_personal_data, export_partition, scrub_partition
from chalicelib.sales import store

__all__ = ["erase_sales", "export_sales"]

_REFERENCE = ("id", "number", "status", "assignedTo", "createdAt", "closedAt")


def _sales(subject: DataSubject) -> list[dict[str, Any]]:
    if subject.kind == "customer":
        return store.customer_sales(subject.tenant_id, subject.id)
    return store.assignee_sales(subject.tenant_id, subject.id)


def export_sales(subject: DataSubject) -> list[dict[str, Any]]:
    """Every sale of the customer, with what is kept under it; a rep's sales as references."""
    sales = _sales(subject)
    if subject.kind == "user":
        return [{name: sale[name] for name in _REFERENCE if name in sale} for sale in sales]
    found = (export_partition(store.sale_pk(subject.tenant_id, str(sale["id"]))) for sale in sales)
    return [sale for sale in found if sale]


def erase_sales(subject: DataSubject) -> int:
    """Pseudonymise the person in their sales; answers how many items changed."""
    return sum(scrub_partition(store.sale_pk(subject.tenant_id, str(sale["id"])), subject) for sale in _sales(subject))


declare_personal_data("sales", exporter=export_sales, eraser=erase_sales)
