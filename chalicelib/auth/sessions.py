"""Sessions: refresh tokens (opaque, stored only as hashes, rotated on every use, grouped in families), and how a
session's access tokens stop working the moment it ends.

A login starts a family (a session). Each refresh marks the presented token used and issues the next one.
Presenting a used token means it was stolen (or replayed): the whole family is revoked, so the thief's copy and the
victim's both stop working.

Access tokens are not stored, so a session's end is written where the guard already looks, on the user item it
reads for every request: ending one session (logout, refresh reuse) adds ``<session id>@<until>`` to the user's
``revokedSessions`` (until = the last second one of its access tokens could still be valid; older entries are
pruned); ending every session (deactivation, password change) bumps the user's ``sessionEpoch``. An access token
carries its session id (``sid``) and the epoch its session started in (``sep``); a family stores that epoch too, so
refreshing a session of an older epoch fails as well, without enumerating the user's families.
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
    "revoke_family_op",
    "revoked_marker",
    "rotate_ops",
    "session_ended",
    "stale_markers",
    "start_session_ops",
]

TOKEN_PREFIX = "btrx_rt_"  # lets secret scanners recognise a leaked refresh token


@dataclass(frozen=True)
class Session:
    """A refresh token's family and owner, and the owner's session epoch when it started."""

    tenant_id: str
    user_id: str
    family_id: str
    epoch: int = 0


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


def start_session_ops(tenant_id: str, user_id: str, epoch: int) -> tuple[str, Session, list[WriteOp]]:
    """A new family of the user, whose session epoch is ``epoch``, and its first refresh token: (token, session,
    transaction writes)."""
    session = Session(tenant_id, user_id, new_id(), epoch)
    family = store.new_family_op(
        tenant_id, user_id, session.family_id, epoch=epoch, expires_at=clock.to_epoch(_expiry() + timedelta(days=1))
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
    epoch = store.live_family_epoch(found.tenant_id, found.user_id, found.family_id)
    if epoch is None:
        raise Unauthorized(detail="the session has ended; log in again")
    session = Session(found.tenant_id, found.user_id, found.family_id, epoch)
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
    """The write that ends a family: none of its refresh tokens works any more (access tokens: ``revoked_marker``)."""
    return store.revoke_family_op(session.tenant_id, session.user_id, session.family_id)


def revoked_marker(session_id: str) -> str:
    """The entry of the user's ``revokedSessions`` that refuses the session's access tokens until they expire."""
    until = clock.to_epoch(clock.now()) + get_settings().access_token_ttl_s
    return f"{session_id}@{until}"


def _marker_parts(marker: str) -> tuple[str, int]:
    session_id, _, until = marker.rpartition("@")
    return session_id, int(until) if until.isdigit() else 0


def stale_markers(revoked: frozenset[str]) -> set[str]:
    """The entries of ``revokedSessions`` whose session's access tokens have all expired (to prune)."""
    now = clock.to_epoch(clock.now())
    return {marker for marker in revoked if _marker_parts(marker)[1] < now}


def session_ended(session_id: str, epoch: int, user_epoch: int, revoked: frozenset[str]) -> bool:
    """Whether an access token of the session ``session_id`` (started in the user's ``epoch``) must be refused:
    every session of the user ended since, or this one did."""
    return epoch != user_epoch or any(_marker_parts(marker)[0] == session_id for marker in revoked)
