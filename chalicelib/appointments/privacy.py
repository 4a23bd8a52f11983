"""What appointments hold about a person, for privacy requests: the customer's appointments, each with its partition
(status history, audit trail). Erasure keeps them (the resource's bookings) with any copy of the person's name,
email or phone (in notes, say) replaced by the pseudonym."""

from __future__ import annotations

from typing import Any

from chalicelib.appointments import store
from chalicelib.core.personal_data import DataSubject, declare_personal_data, export_partition, scrub_partition

__all__ = ["erase_appointments", "export_appointments"]


def _ids(subject: DataSubject) -> list[str]:
    return store.customer_appointment_ids(subject.tenant_id, subject.id) if subject.kind == "customer" else []


def export_appointments(subject: DataSubject) -> list[dict[str, Any]]:
    """The customer's appointments."""
    found = (export_partition(store.appointment_pk(subject.tenant_id, i)) for i in _ids(subject))
    return [appointment for appointment in found if appointment]


def erase_appointments(subject: DataSubject) -> int:
    """Pseudonymise the customer in their appointments; answers how many items changed."""
    return sum(scrub_partition(store.appointment_pk(subject.tenant_id, i), subject) for i in _ids(subject))


declare_personal_data("appointments", exporter=export_appointments, eraser=erase_appointments)
