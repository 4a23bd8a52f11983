"""What sales hold about a person, for privacy requests: the customer's sales, each with its partition (status
history, payment links and state, audit trail). Erasure keeps them (amounts, taxes and invoice numbers are
accounting records) with the person's name, email and phone replaced by the pseudonym wherever a copy was kept.
The sales' Google Calendar events and Billy.dk contact are erased at the processors (``privacy/processors.py``)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.personal_data import DataSubject, declare_personal_data, export_partition, scrub_partition
from chalicelib.sales import store

__all__ = ["erase_sales", "export_sales"]


def _ids(subject: DataSubject) -> list[str]:
    return [str(item["id"]) for item in store.customer_sales(subject.tenant_id, subject.id)]


def export_sales(subject: DataSubject) -> list[dict[str, Any]]:
    """Every sale of the customer, with what is kept under it."""
    if subject.kind != "customer":
        return []
    return [found for i in _ids(subject) if (found := export_partition(store.sale_pk(subject.tenant_id, i)))]


def erase_sales(subject: DataSubject) -> int:
    """Pseudonymise the customer in their sales; answers how many items changed."""
    if subject.kind != "customer":
        return 0
    return sum(scrub_partition(store.sale_pk(subject.tenant_id, i), subject) for i in _ids(subject))


declare_personal_data("sales", exporter=export_sales, eraser=erase_sales)
