"""What the users capability holds about a person who is a user of the tenant, for privacy requests: their user
record (no password hash, CPF ciphertext or session secrets) and its audit trail. Customers are never users, so a
customer's erasure changes nothing here. A user's erasure (the request already deactivated them: see
``users.service.erasure_hold_ops``) keeps the record, its id and role (what they did keeps its actor), under the
pseudonym with a stand-in email: password, CPF and WhatsApp number removed, every session ended, their login
email and CPF freed; the rest of its partition (audit trail, sessions, a pending WhatsApp code) is pseudonymised.
Runs last with the customers': the other capabilities find the person through this record."""

from __future__ import annotations

from typing import Any

from chalicelib.core import clock
from chalicelib.core.db.store import Table, unscoped
from chalicelib.core.personal_data import (
    DataSubject,
    declare_personal_data,
    erased_email,
    export_partition,
    scrub_partition,
)
from chalicelib.users import store

__all__ = ["erase_user_data", "export_user"]

# ``keys``: a Web Push subscription's encryption keys (the browser's secret; its endpoint is exported).
_SECRET = frozenset(
    {"passwordHash", "cpfEncrypted", "cpfHash", "revokedSessions", "sessionEpoch", "tokenHash", "codeHash", "keys"}
)
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
    """Pseudonymise the user (see the module docstring); answers how many items changed. A customer: nothing."""
    if subject.kind != "user":
        return 0
    record = store.get_user(subject.tenant_id, subject.id, consistent=True)
    changed = 0
    if record is not None and record.name != subject.pseudonym:
        ops = [
            store.erase_user_op(record, subject.pseudonym, erased_email(subject.pseudonym), clock.now_iso()),
            *store.release_login_ops(record),
        ]
        with unscoped():  # the login routes are global (ROUTE#LOGIN#<hash>): no tenant owns that key space
            Table().transact(ops)
        changed = 1
    return changed + scrub_partition(store.user_key(subject.tenant_id, subject.id)[0], subject)


declare_personal_data("users", exporter=export_user, eraser=erase_user_data, last=True)
