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

from chalicelib.auth import store
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import WriteOp
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


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _expiry() -> datetime:
    return clock.now() + timedelta(days=get_settings().refresh_token_ttl_days)


def _token_op(session: Session) -> tuple[str, WriteOp]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    op = store.new_refresh_token_op(
        _hash(token), session.tenant_id, session.user_id, session.family_id, expires_at=clock.to_epoch(_expiry())
    )
    return token, op


def start_session_ops(tenant_id: str, user_id: str) -> tuple[str, Session, list[WriteOp]]:
    """A new family and its first refresh token: (token, session, transaction writes)."""
    session = Session(tenant_id, user_id, new_id())
    family = store.new_family_op(
        tenant_id, user_id, session.family_id, expires_at=clock.to_epoch(_expiry() + timedelta(days=1))
    )
    token, token_op = _token_op(session)
    return token, session, [family, token_op]


def find_session(token: str) -> RefreshOutcome:
    """Who a refresh token belongs to and whether it was already used; ``Unauthorized`` if unknown or expired."""
    if not token.startswith(TOKEN_PREFIX):
        raise Unauthorized(detail="the refresh token is not valid")
    found = store.get_refresh_token(_hash(token))
    if found is None or found.expires_at < clock.to_epoch(clock.now()):
        raise Unauthorized(detail="the refresh token is not valid or has expired")
    session = Session(found.tenant_id, found.user_id, found.family_id)
    if not store.is_family_live(session.tenant_id, session.user_id, session.family_id):
        raise Unauthorized(detail="the session has ended; log in again")
    return RefreshOutcome(session, reused=found.version > 1, token_version=found.version)


def rotate_ops(token: str, outcome: RefreshOutcome) -> tuple[str, list[WriteOp]]:
    """Use ``token`` up and issue the next one of its family: (new token, transaction writes).

    The writes fail (``Conflict``) if another request used the token first or the family was revoked.
    """
    session = outcome.session
    used = store.use_refresh_token_op(_hash(token), outcome.token_version)
    alive = store.family_alive_op(session.tenant_id, session.user_id, session.family_id)
    following, issue = _token_op(session)
    return following, [used, alive, issue]


def revoke_family_op(session: Session) -> WriteOp:
    """The write that ends a family: none of its refresh tokens works any more."""
    return store.revoke_family_op(session.tenant_id, session.user_id, session.family_id)


def revoke_all_ops(tenant_id: str, user_id: str) -> list[WriteOp]:
    """The writes that end every live session of a user (deactivation, password change)."""
    return [store.revoke_family_op(tenant_id, user_id, family) for family in store.live_family_ids(tenant_id, user_id)]
