"""What leads hold about a person, for privacy requests: the leads converted into the customer or carrying one of
their emails or phones, each with its partition (status history, audit trail). Erasure pseudonymises them (the
pipeline's counts stay) and frees the open leads' email and phone claims.

A user (a sales rep): also the leads they own, exported as references only (status, dates: the rest is the contact's
data) and erased by pseudonymising any copy of the rep's name, email or phone in them (the leads stay theirs)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.db.store import Table
from chalicelib.core.personal_data import DataSubject, declare_personal_data, export_partition, scrub_partition
from chalicelib.leads import store

__all__ = ["erase_leads", "export_leads"]

_CONTACTS: tuple[tuple[store.ContactField, str], ...] = (("email", "contactEmail"), ("phone", "contactPhone"))
_REFERENCE = ("id", "status", "ownerId", "createdAt", "closedAt")


def _leads(subject: DataSubject) -> list[dict[str, Any]]:
    customer = subject.id if subject.kind == "customer" else None
    return store.leads_of_person(subject.tenant_id, customer, subject.emails, subject.phones)


def _owned(subject: DataSubject, theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if subject.kind != "user":
        return []
    mine = {str(lead["id"]) for lead in theirs}
    return [lead for lead in store.owner_leads(subject.tenant_id, subject.id) if str(lead["id"]) not in mine]


def export_leads(subject: DataSubject) -> list[dict[str, Any]]:
    """The person's leads, with what is kept under them; a rep's leads as references."""
    theirs = _leads(subject)
    found = [
        lead for lead in (export_partition(store.lead_pk(subject.tenant_id, str(t["id"]))) for t in theirs) if lead
    ]
    owned = [{name: lead[name] for name in _REFERENCE if name in lead} for lead in _owned(subject, theirs)]
    return found + owned


def erase_leads(subject: DataSubject) -> int:
    """Free the leads' claims and pseudonymise them; answers how many items changed."""
    changed = 0
    theirs = _leads(subject)
    for lead in theirs:
        lead_id = str(lead["id"])
        releases = [
            store.release_claim_if_held_op(subject.tenant_id, field, str(lead[attribute]), lead_id)
            for field, attribute in _CONTACTS
            if lead.get(attribute)
        ]
        if releases:
            Table().transact(releases)
        changed += scrub_partition(store.lead_pk(subject.tenant_id, lead_id), subject)
    for lead in _owned(subject, theirs):
        changed += scrub_partition(store.lead_pk(subject.tenant_id, str(lead["id"])), subject)
    return changed


declare_personal_data("leads", exporter=export_leads, eraser=erase_leads)
