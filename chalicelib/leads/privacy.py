"""What leads hold about a person, for privacy requests: the leads converted into the customer or carrying one of
their emails or phones, each with its partition (status history, audit trail). Erasure pseudonymises them (the
pipeline's counts stay) and frees the open leads' email and phone claims."""

from __future__ import annotations

from typing import Any

from chalicelib.core.db.store import Table
from chalicelib.core.personal_data import DataSubject, declare_personal_data, export_partition, scrub_partition
from chalicelib.leads import store

__all__ = ["erase_leads", "export_leads"]

_CONTACTS: tuple[tuple[store.ContactField, str], ...] = (("email", "contactEmail"), ("phone", "contactPhone"))


def _leads(subject: DataSubject) -> list[dict[str, Any]]:
    return store.leads_of_person(subject.tenant_id, subject.id, subject.emails, subject.phones)


def export_leads(subject: DataSubject) -> list[dict[str, Any]]:
    """The person's leads, with what is kept under them."""
    found = (export_partition(store.lead_pk(subject.tenant_id, str(lead["id"]))) for lead in _leads(subject))
    return [lead for lead in found if lead]


def erase_leads(subject: DataSubject) -> int:
    """Free the leads' claims and pseudonymise them; answers how many items changed."""
    changed = 0
    for lead in _leads(subject):
        lead_id = str(lead["id"])
        releases = [
            store.release_claim_if_held_op(subject.tenant_id, field, str(lead[attribute]), lead_id)
            for field, attribute in _CONTACTS
            if lead.get(attribute)
        ]
        if releases:
            Table().transact(releases)
        changed += scrub_partition(store.lead_pk(subject.tenant_id, lead_id), subject)
    return changed


declare_personal_data("leads", exporter=export_leads, eraser=erase_leads)
