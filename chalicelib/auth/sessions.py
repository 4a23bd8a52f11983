"""Refresh tokens: opaque, stored only as hashes, rotated on every use, grouped in families.

A login starts a family. Each refresh marks the presented token used and issues the next one. Presenting a
used token means it was stolen (or replayed): the whole family is revoked, so the thief's copy and the
victim's both stop working.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from boto3.dynamodb.conditions import Attr

from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Kind, RouteKind
from chalicelib.core.db.store import Table, WriteOp, condition_op, put_op, set_op, update_op
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from chalicelib.core.errors import Unauthorized
from chalicelib.core.ids import new_id

__all__ = [
    "RefreshOutcome",
    "Session",
    "find_session",
    "revoke_all_ops",
    "revoke_family_op",
    "rotate_ops",
    "start_session_ops",
]

TOKEN_PREFIX = "btrx_rt_"  # lets secret scanners recognise a leaked refresh token
_CHILD = "SESSION"
SESSION_ENTITY = "Session"
TOKEN_ENTITY = "RefreshToken"


@dataclass(frozen=True)
class Session:
    """A refresh token's family and owner."""

    tenant_id: str
    user_id: str
    family_id: str


@dataclass(frozen=True)
class RefreshOutcome:
    """What presenting a refresh token found: a usable session, or a replay of a used token."""

    session: Session
    reused: bool
    token_version: int


def _token_key(token: str) -> tuple[str, str]:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return keys.route_pk(RouteKind.REFRESH_TOKEN, digest), keys.ROUTE_SK


def _family_key(session: Session) -> tuple[str, str]:
    return keys.entity_pk(session.tenant_id, Kind.USER, session.user_id), keys.child_sk(_CHILD, session.family_id)


def _expiry() -> datetime:
    return clock.now() + timedelta(days=get_settings().refresh_token_ttl_days)


def _token_op(session: Session) -> tuple[str, WriteOp]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    pk, sk = _token_key(token)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: TOKEN_ENTITY,
        "tenantId": session.tenant_id,
        "userId": session.user_id,
        "familyId": session.family_id,
        "version": 1,
        TTL_ATTRIBUTE: clock.to_epoch(_expiry()),
    }
    return token, put_op(item)


def start_session_ops(tenant_id: str, user_id: str) -> tuple[str, Session, list[WriteOp]]:
    """A new family and its first refresh token: (token, session, transaction writes)."""
    session = Session(tenant_id, user_id, new_id())
    pk, sk = _family_key(session)
    family = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: SESSION_ENTITY,
        "familyId": session.family_id,
        "revoked": False,
        "createdAt": clock.now_iso(),
        TTL_ATTRIBUTE: clock.to_epoch(_expiry() + timedelta(days=1)),
    }
    token, token_op = _token_op(session)
    return token, session, [put_op(family), token_op]


def find_session(token: str) -> RefreshOutcome:
    """Who a refresh token belongs to and whether it was already used; ``Unauthorized`` if unknown or expired."""
    if not token.startswith(TOKEN_PREFIX):
        raise Unauthorized(detail="the refresh token is not valid")
    item = Table().get(*_token_key(token), consistent=True)
    if item is None or int(item[TTL_ATTRIBUTE]) < clock.to_epoch(clock.now()):
        raise Unauthorized(detail="the refresh token is not valid or has expired")
    session = Session(str(item["tenantId"]), str(item["userId"]), str(item["familyId"]))
    family = Table().get(*_family_key(session), consistent=True)
    if family is None or family.get("revoked"):
        raise Unauthorized(detail="the session has ended; log in again")
    version = int(item["version"])
    return RefreshOutcome(session, reused=version > 1, token_version=version)


def rotate_ops(token: str, outcome: RefreshOutcome) -> tuple[str, list[WriteOp]]:
    """Use ``token`` up and issue the next one of its family: (new token, transaction writes).

    The writes fail (``Conflict``) if another request used the token first or the family was revoked.
    """
    session = outcome.session
    used = update_op(*_token_key(token), {"usedAt": clock.now_iso()}, expected_version=outcome.token_version)
    alive = condition_op(*_family_key(session), Attr("revoked").eq(False))
    following, issue = _token_op(session)
    return following, [used, alive, issue]


def revoke_family_op(session: Session) -> WriteOp:
    """The write that ends a family: none of its refresh tokens works any more."""
    return set_op(*_family_key(session), {"revoked": True, "revokedAt": clock.now_iso()})


def revoke_all_ops(tenant_id: str, user_id: str) -> list[WriteOp]:
    """The writes that end every live session of a user (deactivation, password change)."""
    pk = keys.entity_pk(tenant_id, Kind.USER, user_id)
    ops: list[WriteOp] = []
    start: dict[str, str] | None = None
    while True:
        page = Table().query_page(pk, sort_prefix=keys.child_prefix(_CHILD), limit=100, start_key=start)
        ops += [
            revoke_family_op(Session(tenant_id, user_id, str(item["familyId"])))
            for item in page.items
            if not item.get("revoked")
        ]
        if page.last_key is None:
            return ops
        start = page.last_key
