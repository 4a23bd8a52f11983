"""What the customers capability holds about a person, for privacy requests: the customer record with its consent
history, notification preferences and audit trail (its partition). Erasure keeps the record (orders and sales refer
to it; its statistics and consents stay) under the pseudonym, with contacts, document, address, notes and tags
removed and the email and phone claims freed; its other items are pseudonymised. Runs last: the other capabilities
find the person through this record."""

from __future__ import annotations

from typing import Any

from chalicelib.core import clock
from chalicelib.core.db.store import Table
from chalicelib.core.personal_data import DataSubject, declare_personal_data, export_partition, scrub_partition
from chalicelib.customers import store

__all__ = ["erase_customer", "export_customer"]

_SECRET = frozenset({"documentEncrypted", "documentHash"})


def export_customer(subject: DataSubject) -> list[dict[str, Any]]:
    """The customer record and everything under it (the document only masked)."""
    if subject.kind != "customer":
        return []
    found = export_partition(store.customer_pk(subject.tenant_id, subject.id), leave_out=_SECRET)
    return [found] if found else []


def erase_customer(subject: DataSubject) -> int:
    """Pseudonymise the customer (see the module docstring); answers how many items changed."""
    if subject.kind != "customer":
        return 0
    record = store.get_customer(subject.tenant_id, subject.id, consistent=True)
    changed = 0
    if record is not None and record.name != subject.pseudonym:
        ops = [store.pseudonymise_customer_op(record, subject.pseudonym, clock.now_iso())]
        for field in ("email", "phone"):
            value = getattr(record, field)
            if value is not None:
                ops.append(store.release_op(subject.tenant_id, field, value))
        Table().transact(ops)
        changed = 1
    return changed + scrub_partition(store.customer_pk(subject.tenant_id, subject.id), subject)


declare_personal_data("customers", exporter=export_customer, eraser=erase_customer, last=True)
