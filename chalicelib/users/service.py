"""User use cases: list, invite, change, deactivate and reactivate the tenant's users."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from chalicelib.access.permissions import Permission, Role
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.auth import service as auth
from chalicelib.core import clock
from chalicelib.core.crypto import encrypt_field, lookup_hash
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict, WriteOp, unscoped
from chalicelib.core.errors import Conflict, FieldError, InvalidInput, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.pagination import Page, paginate
from chalicelib.core.patch import merge_patch
from chalicelib.core.references import register_reference
from chalicelib.core.validation import normalize_cpf
from chalicelib.tenants import service as tenants
from chalicelib.tenants.service import load_tenant
from chalicelib.users import store
from chalicelib.users.models import InviteUserRequest, UpdateUserRequest, User, UserListQuery, UserRecord, UserStatus
from chalicelib.users.reading import find_user, record_key

__all__ = [
    "active_users",
    "all_users",
    "cpf_fields",
    "deactivate_user",
    "erasure_hold_ops",
    "find_login",
    "find_user",
    "get_user",
    "invite_user",
    "list_users",
    "new_user_ops",
    "prune_revoked_sessions",
    "reactivate_user",
    "record_key",
    "revoke_session_op",
    "update_user",
    "update_user_op",
]


def active_users(tenant_id: str, user_ids: Sequence[str]) -> set[str]:
    """The ids among ``user_ids`` that name active users of the tenant (``Ref("user")`` of request bodies: an
    order is assigned, a resource belongs, a message goes to someone who can sign in)."""
    return store.active_user_ids(tenant_id, user_ids)


register_reference("user", active_users)


def all_users(tenant_id: str, status: UserStatus) -> Iterator[UserRecord]:
    """Every user of the tenant with ``status``, newest first (read a page at a time)."""
    start: dict[str, str] | None = None
    while True:
        page = store.list_users(tenant_id, status, 100, start)
        yield from page.items
        if page.last_key is None:
            return
        start = page.last_key


def find_login(identifier: str, *, field: str) -> UserRecord | None:
    """The user who logs in with ``identifier`` (an email, or an 11-digit CPF), read consistently; None when
    nobody does. A CPF that is not valid is an ``InvalidInput`` naming ``field``."""
    digits = "".join(ch for ch in identifier if ch.isdigit())
    if "@" not in identifier and len(digits) == 11:
        try:
            route = store.cpf_route_key(lookup_hash("cpf", normalize_cpf(identifier)))
        except ValueError as exc:
            raise InvalidInput(detail="the CPF is not valid", errors=(FieldError(field, str(exc)),)) from exc
    else:
        route = store.email_route_key(identifier)
    found = store.find_login(route)
    return store.get_user(*found, consistent=True) if found else None


def cpf_fields(tenant_id: str, cpf: str | None, *, field: str) -> dict[str, Any]:
    """The stored form of a CPF (encrypted plus its keyed hash), checked first (``InvalidInput`` naming
    ``field``)."""
    if cpf is None:
        return {"cpfEncrypted": None, "cpfHash": None}
    try:
        digits = normalize_cpf(cpf)
    except ValueError as exc:
        raise InvalidInput(detail="the CPF is not valid", errors=(FieldError(field, str(exc)),)) from exc
    return {"cpfEncrypted": encrypt_field(tenant_id, digits), "cpfHash": lookup_hash("cpf", digits)}


def new_user_ops(record: UserRecord, *, field: str) -> list[WriteOp]:
    """The writes creating ``record`` with its login routes (email, CPF); a taken one fails the transaction
    with a ``Conflict`` naming ``<field>.email`` / ``<field>.cpf``."""
    return store.new_user_ops(record, field=field)


def update_user_op(record: UserRecord, changes: Mapping[str, Any]) -> WriteOp:
    """The write applying ``changes`` (stored names) to the version of ``record`` that was read."""
    return store.update_user_op(record, changes)


def revoke_session_op(tenant_id: str, user_id: str, marker: str) -> WriteOp:
    """The write that adds an ended session's ``marker`` to the user's revoked sessions (auth.sessions)."""
    return store.revoke_session_op(tenant_id, user_id, marker)


def prune_revoked_sessions(tenant_id: str, user_id: str, stale: set[str]) -> None:
    """Remove revoked-session entries that no longer matter (their access tokens have expired)."""
    store.prune_revoked_sessions(tenant_id, user_id, stale)


def _load(principal: Principal, user_id: str, *, consistent: bool = False) -> UserRecord:
    record = store.get_user(principal.tenant_id, user_id, consistent=consistent)
    if record is None:
        raise NotFound(detail=f"no user {user_id}")
    return record


def list_users(principal: Principal, query: UserListQuery) -> Page[User]:
    """One page of the tenant's users, newest first."""
    require(principal, Permission.USERS_READ)
    return paginate(
        Page[User],
        query,
        tenant_id=principal.tenant_id,
        scope=f"users:{query.status or 'all'}",
        fetch=lambda start: store.list_users(principal.tenant_id, query.status, query.limit, start),
        convert=User.of,
    )


def get_user(principal: Principal, user_id: str) -> User:
    """One user of the tenant (anyone may read their own profile)."""
    if user_id != principal.user_id:
        require(principal, Permission.USERS_READ)
    return User.of(_load(principal, user_id))


def invite_user(principal: Principal, body: InviteUserRequest) -> User:
    """Invite a user: takes a seat of the plan and sends a one-time link to set the password."""
    require(principal, Permission.USERS_MANAGE)
    tenant = load_tenant(principal.tenant_id)
    user_id = new_id()
    now = clock.now_iso()
    record = UserRecord.model_validate(
        {
            "id": user_id,
            "tenantId": principal.tenant_id,
            "email": str(body.email).lower(),
            "name": body.name,
            "role": body.role,
            "status": "invited",
            "whatsappNumber": body.whatsapp_number,
            "createdAt": now,
            "updatedAt": now,
            **cpf_fields(principal.tenant_id, body.cpf, field="body.cpf"),
        }
    )
    ops = [
        tenants.take_seat_op(tenant),
        *store.new_user_ops(record, field="body"),
        *auth.invitation_ops(record, tenant),
        audit_op(principal, "user.invited", Kind.USER, user_id, after=record.model_dump()),
        event_put_op(new_event("user.invited", principal.tenant_id, {"role": record.role}, subject=user_id)),
    ]
    # Login routes (email, CPF, invitation) are global by design: no tenant owns the address space.
    with unscoped():
        Table().transact(ops)
    return User.of(record)


def update_user(principal: Principal, user_id: str, body: UpdateUserRequest) -> User:
    """Change a user's name, role or WhatsApp number (optimistic locking on ``version``)."""
    require(principal, Permission.USERS_MANAGE)
    record = _load(principal, user_id, consistent=True)
    if record.version != body.version:
        raise VersionConflict(detail=f"the user is at version {record.version}; reload and retry")
    if user_id == principal.user_id and body.role is not None and body.role != record.role:
        raise InvalidInput(detail="you cannot change your own role", errors=(FieldError("body.role", "own role"),))
    changes = body.changes()
    if "whatsappNumber" in changes and changes["whatsappNumber"] != record.whatsapp_number:
        changes["whatsappVerified"] = False
    changes["updatedAt"] = clock.now_iso()
    after = merge_patch(record, changes, version=record.version + 1)
    Table().transact(
        [
            store.update_user_op(record, changes),
            audit_op(
                principal, "user.updated", Kind.USER, user_id, before=record.model_dump(), after=after.model_dump()
            ),
        ]
    )
    return User.of(after)


def _deactivation_ops(principal: Principal, record: UserRecord, at: str, reason: str | None = None) -> list[WriteOp]:
    # A new session epoch ends every session of the user: refresh tokens and access tokens alike (docs/SECURITY.md).
    changes = {"status": "inactive", "sessionEpoch": record.session_epoch + 1, "updatedAt": at}
    after: dict[str, Any] = {"status": "inactive", **({"reason": reason} if reason else {})}
    return [
        store.update_user_op(record, changes),
        tenants.release_seat_op(principal.tenant_id),
        audit_op(principal, "user.deactivated", Kind.USER, record.id, before={"status": record.status}, after=after),
        event_put_op(new_event("user.deactivated", principal.tenant_id, {}, subject=record.id)),
    ]


def deactivate_user(principal: Principal, user_id: str) -> User:
    """Deactivate a user: their sessions end, their access tokens stop working, their seat is freed."""
    require(principal, Permission.USERS_MANAGE)
    if user_id == principal.user_id:
        raise InvalidInput(detail="you cannot deactivate yourself", errors=(FieldError("path.user_id", "yourself"),))
    record = _load(principal, user_id, consistent=True)
    if record.status == "inactive":
        return User.of(record)
    at = clock.now_iso()
    Table().transact(_deactivation_ops(principal, record, at))
    return User.of(record.model_copy(update={"status": "inactive", "updated_at": at, "version": record.version + 1}))


def erasure_hold_ops(principal: Principal, user_id: str, *, field: str) -> list[WriteOp]:
    """The writes that stop a user the moment their erasure is requested (deactivated: their sessions end, their
    seat is freed), to go in the request's transaction. Refused with an ``InvalidInput`` for the caller themselves
    and with a ``Conflict`` for the tenant's last active ADMIN, both naming ``field``; the other ADMIN is checked in
    the same transaction (two ADMINs erasing each other at once: one of them is refused)."""
    if user_id == principal.user_id:
        raise InvalidInput(
            detail="you cannot erase yourself: another ADMIN of the tenant can",
            errors=(FieldError(field, "you cannot erase yourself", "self"),),
        )
    record = _load(principal, user_id, consistent=True)
    ops: list[WriteOp] = []
    if record.role is Role.ADMIN:
        last = Conflict(
            detail="this user is the tenant's last active ADMIN: make another user ADMIN before erasing them",
            errors=(FieldError(field, "the tenant's last active ADMIN", "last-admin"),),
        )
        # A tenant's active users are its plan's seats (a few dozen): read through, not a filtered table read.
        admins = (u.id for u in all_users(principal.tenant_id, "active") if u.role is Role.ADMIN and u.id != user_id)
        other = next(admins, None)
        if other is None:
            raise last
        ops.append(store.active_admin_op(principal.tenant_id, other, last))
    if record.status != "inactive":
        ops += _deactivation_ops(principal, record, clock.now_iso(), reason="erasure")
    return ops


def reactivate_user(principal: Principal, user_id: str) -> User:
    """Reactivate a deactivated user (takes a seat again); they log in with their old password."""
    require(principal, Permission.USERS_MANAGE)
    record = _load(principal, user_id, consistent=True)
    if record.status != "inactive":
        return User.of(record)
    status = "active" if record.password_hash else "invited"
    changes = {"status": status, "updatedAt": clock.now_iso()}
    after = UserRecord.model_validate({**record.model_dump(), **changes, "version": record.version + 1})
    Table().transact(
        [
            tenants.take_seat_op(load_tenant(principal.tenant_id)),
            store.update_user_op(record, changes),
            audit_op(
                principal,
                "user.reactivated",
                Kind.USER,
                user_id,
                before={"status": "inactive"},
                after={"status": status},
            ),
        ]
    )
    return User.of(after)
