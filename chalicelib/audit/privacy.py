"""What the audit log holds about a person who is a user of the tenant, for privacy requests: the entries of what they
did (their actor id, where they did it from). The entries about a person are in the partition of their customer or
user record and go with it. The export shows each action (what, on which entity, when, from where) without the
before/after states, which hold other people's data; erasure keeps the entries (the tenant's record of what happened,
its actor id now naming the pseudonymised user), removes the IP address they were made from and pseudonymises any copy
of the user's name, email or phone in them."""

from __future__ import annotations

from typing import Any

from chalicelib.audit import store
from chalicelib.core.personal_data import DataSubject, declare_personal_data, scrub_items

__all__ = ["erase_actor_entries", "export_actor_entries"]

_SHOWN = {"id", "action", "entity_type", "entity_id", "at", "request_id", "source_ip"}


def export_actor_entries(subject: DataSubject) -> list[dict[str, Any]]:
    """What the user did, entry by entry (no states: see the module docstring). A customer: nothing (never an actor)."""
    if subject.kind != "user":
        return []
    return [entry.model_dump(include=_SHOWN) for entry in store.actor_entries(subject.tenant_id, subject.id)]


def erase_actor_entries(subject: DataSubject) -> int:
    """Remove the IP address and pseudonymise the user in the entries of what they did; answers how many changed."""
    if subject.kind != "user":
        return 0
    found = [store.entry_key(entry) for entry in store.actor_entries(subject.tenant_id, subject.id)]
    return scrub_items(found, subject, drop=frozenset({"sourceIp"}))


declare_personal_data("audit", exporter=export_actor_entries, eraser=erase_actor_entries)
