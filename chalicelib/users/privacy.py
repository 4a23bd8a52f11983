"""What the users capability holds about a person who is a user of the tenant, for privacy requests: their user
record (no password hash, CPF ciphertext or session secrets) and its audit trail. Customers are never users, so a
customer's erasure changes nothing here; a user's own data is closed by deactivating them (their name and email
stay in the audit trail of what they did: the tenant's legitimate interest), not by this erasure."""

from __future__ import annotations

from typing import Any

from chalicelib.core.personal_data import DataSubject, declare_personal_data, export_partition
from chalicelib.users import store

__all__ = ["erase_user_data", "export_user"]

_SECRET = frozenset({"passwordHash", "cpfEncrypted", "cpfHash", "revokedSessions", "sessionEpoch", "tokenHash"})
_SECRET_CHILDREN = frozenset({"SESSION", "OTP"})


def export_user(subject: DataSubject) -> list[dict[str, Any]]:
    """The user record and its audit trail (sessions and one-time codes left out: they are secrets)."""
    if subject.kind != "user":
        return []
    found = export_partition(store.user_key(subject.tenant_id, subject.id)[0], leave_out=_SECRET)
    if not found:
        return []
    found["related"] = [item for item in found["related"] if item.get("kind") not in _SECRET_CHILDREN]
    return [found]


def erase_user_data(subject: DataSubject) -> int:
    """Nothing of a customer is kept here (see the module docstring): no records change."""
    return 0


declare_personal_data("users", exporter=export_user, eraser=erase_user_data)
