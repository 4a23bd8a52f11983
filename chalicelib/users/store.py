"""User items, and the global login routes (email, CPF → tenant and user) that point at them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.access.permissions import Role
from chalicelib.core.crypto import lookup_hash
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind, RouteKind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, change_op, condition_op, delete_op, put_op, update_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, PARTITION_KEY, SORT_KEY, strip_storage
from chalicelib.core.errors import AppError, Conflict, FieldError
from chalicelib.users.models import UserRecord, UserStatus

__all__ = [
    "LoginRoute",
    "active_admin_op",
    "active_user_ids",
    "cpf_route_key",
    "email_route_key",
    "erase_user_op",
    "find_login",
    "get_user",
    "list_users",
    "new_user_ops",
    "prune_revoked_sessions",
    "release_login_ops",
    "revoke_session_op",
    "update_user_op",
    "user_key",
]

USER_ENTITY = "User"
ROUTE_ENTITY = "LoginRoute"
LoginRoute = tuple[str, str]


def user_key(tenant_id: str, user_id: str) -> tuple[str, str]:
    """(PK, SK) of a user."""
    return keys.entity_pk(tenant_id, Kind.USER, user_id), keys.META_SK


def email_route_key(email: str) -> tuple[str, str]:
    """(PK, SK) of the login route of ``email`` (hashed: the table holds no list of addresses)."""
    return keys.route_pk(RouteKind.LOGIN_EMAIL, lookup_hash("email", email.strip().lower())), keys.ROUTE_SK


def cpf_route_key(cpf_hash: str) -> tuple[str, str]:
    """(PK, SK) of the login route of a CPF, by its keyed hash."""
    return keys.route_pk(RouteKind.LOGIN_CPF, cpf_hash), keys.ROUTE_SK


def _status_list(tenant_id: str, status: UserStatus) -> str:
    return keys.collection_pk(tenant_id, Collection.USERS, status.upper())


def _route(pk_sk: tuple[str, str], record: UserRecord, field: str, what: str) -> WriteOp:
    pk, sk = pk_sk
    taken = Conflict(
        detail=f"this {what} is already registered", errors=(FieldError(field, "already registered", "taken"),)
    )
    return put_op(
        {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: ROUTE_ENTITY, "tenantId": record.tenant_id, "userId": record.id},
        conflict=taken,
    )


def new_user_ops(record: UserRecord, *, field: str) -> list[WriteOp]:
    """Create the user and claim its email (and CPF) for login; a taken one fails the transaction with a
    ``Conflict`` naming ``<field>.email`` (``<field>.cpf``), ``field`` being where the request holds the user."""
    pk, sk = user_key(record.tenant_id, record.id)
    sort = keys.time_sk(record.created_at, record.id)
    ops = [
        put_op(
            {
                PARTITION_KEY: pk,
                SORT_KEY: sk,
                GSI1.partition_key: keys.collection_pk(record.tenant_id, Collection.USERS),
                GSI1.sort_key: sort,
                GSI2.partition_key: _status_list(record.tenant_id, record.status),
                GSI2.sort_key: sort,
                ENTITY: USER_ENTITY,
                **record.model_dump(),
            }
        ),
        _route(email_route_key(record.email), record, f"{field}.email", "email"),
    ]
    if record.cpf_hash:
        ops.append(_route(cpf_route_key(record.cpf_hash), record, f"{field}.cpf", "CPF"))
    return ops


def release_login_ops(record: UserRecord) -> list[WriteOp]:
    """Free the user's email and CPF for others (when the user is removed for good)."""
    ops = [delete_op(*email_route_key(record.email))]
    if record.cpf_hash:
        ops.append(delete_op(*cpf_route_key(record.cpf_hash)))
    return ops


def get_user(tenant_id: str, user_id: str, *, consistent: bool = False) -> UserRecord | None:
    """The user, or None."""
    item = Table().get(*user_key(tenant_id, user_id), consistent=consistent)
    return _user(item) if item else None


def find_login(route: tuple[str, str]) -> LoginRoute | None:
    """(tenant id, user id) behind a login route, or None."""
    item = Table().get(*route)
    return (str(item["tenantId"]), str(item["userId"])) if item else None


def update_user_op(record: UserRecord, changes: Mapping[str, Any]) -> WriteOp:
    """Apply ``changes`` (stored names) to the version of ``record`` that was read; keeps the lists right."""
    updates = dict(changes)
    if "status" in updates:
        updates[GSI2.partition_key] = _status_list(record.tenant_id, updates["status"])
    return update_op(*user_key(record.tenant_id, record.id), updates, expected_version=record.version)


def erase_user_op(record: UserRecord, pseudonym: str, email: str, at: str) -> WriteOp:
    """The user as erased, on the version read: named ``pseudonym`` with the stand-in ``email``, inactive, every
    session ended (a new epoch), password, CPF and WhatsApp number removed (the id and role stay: what they did keeps
    its actor)."""
    changes: dict[str, Any] = {
        "name": pseudonym,
        "email": email,
        "status": "inactive",
        "whatsappVerified": False,
        "sessionEpoch": record.session_epoch + 1,
        "updatedAt": at,
        GSI2.partition_key: _status_list(record.tenant_id, "inactive"),
    }
    removed = ["passwordHash", "cpfEncrypted", "cpfHash", "whatsappNumber", "revokedSessions"]
    return update_op(*user_key(record.tenant_id, record.id), changes, expected_version=record.version, remove=removed)


def active_admin_op(tenant_id: str, user_id: str, gone: AppError) -> WriteOp:
    """The condition that the user is still an active ADMIN of the tenant (else the transaction fails with
    ``gone``)."""
    condition = Attr("status").eq("active") & Attr("role").eq(Role.ADMIN.value)
    return condition_op(*user_key(tenant_id, user_id), condition, conflict=gone)


def revoke_session_op(tenant_id: str, user_id: str, marker: str) -> WriteOp:
    """Add ``marker`` to the user's revoked sessions (a set: concurrent revocations add up, nothing is read)."""
    return change_op(*user_key(tenant_id, user_id), add={"revokedSessions": {marker}})


def prune_revoked_sessions(tenant_id: str, user_id: str, stale: set[str]) -> None:
    """Remove entries of the user's revoked sessions that no longer matter (idempotent)."""
    if stale:
        Table().transact([change_op(*user_key(tenant_id, user_id), delete={"revokedSessions": stale})])


def _user(item: Mapping[str, Any]) -> UserRecord:
    return UserRecord.model_validate(strip_storage(item))


def list_users(
    tenant_id: str, status: UserStatus | None, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[UserRecord]:
    """One page of the tenant's users, newest first, optionally only those with ``status``."""
    if status is None:
        partition, index = keys.collection_pk(tenant_id, Collection.USERS), GSI1
    else:
        partition, index = _status_list(tenant_id, status), GSI2
    return Table().query_page(partition, index=index, limit=limit, start_key=start_key, newest_first=True).map(_user)


def active_user_ids(tenant_id: str, user_ids: Iterable[str]) -> set[str]:
    """The ids among ``user_ids`` that name active users of the tenant (one batch read)."""
    items = Table().batch_get(user_key(tenant_id, u) for u in user_ids)
    return {str(item["id"]) for item in items if item.get("status") == "active"}
