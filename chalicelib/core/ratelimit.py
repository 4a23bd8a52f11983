"""Brute-force limits: attempts per subject in fixed windows, counted in DynamoDB and expired by TTL.

General API throttling belongs to API Gateway (stage and usage plans); this is for the few operations an
attacker repeats: login, refresh, signup, one-time codes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.store import Table, unscoped
from chalicelib.core.errors import RateLimited

__all__ = ["LOGIN_IDENTIFIER", "LOGIN_IP", "OTP_SEND", "REFRESH_IP", "SIGNUP_IP", "Limit", "check", "consume", "hit"]


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` per ``window_s`` seconds for one subject of ``scope``."""

    scope: str
    attempts: int
    window_s: int


LOGIN_IDENTIFIER = Limit("login-id", 5, 15 * 60)
LOGIN_IP = Limit("login-ip", 5, 15 * 60)
SIGNUP_IP = Limit("signup-ip", 5, 15 * 60)
REFRESH_IP = Limit("refresh-ip", 60, 15 * 60)
OTP_SEND = Limit("otp-send", 5, 15 * 60)


def _window(limit: Limit) -> tuple[int, int]:
    now = clock.to_epoch(clock.now())
    start = now - now % limit.window_s
    return start, start + limit.window_s - now


def _key(limit: Limit, subject: str) -> tuple[str, str, int, int]:
    # Subjects (emails, CPFs, IPs) are hashed: the counters must not become a list of who tried what.
    digest = hashlib.sha256(f"{limit.scope}\n{subject}".encode()).hexdigest()[:32]
    start, retry_after = _window(limit)
    return keys.rate_limit_pk(limit.scope, digest), str(start), start, retry_after


def _refuse(limit: Limit, retry_after: int) -> RateLimited:
    return RateLimited(
        detail=f"Too many attempts; try again in {retry_after} seconds.",
        limit=limit.scope,
        retry_after=max(retry_after, 1),
    )


def check(limit: Limit, subject: str, table: Table | None = None) -> None:
    """Raise ``RateLimited`` if ``subject`` already used up its attempts in this window (counts nothing)."""
    pk, sk, _, retry_after = _key(limit, subject)
    with unscoped():  # counters are the platform's: they exist before anyone is known to belong to a tenant
        item = (table or Table()).get(pk, sk, consistent=True)
    if item is not None and int(item.get("count", 0)) >= limit.attempts:
        raise _refuse(limit, retry_after)


def hit(limit: Limit, subject: str, table: Table | None = None) -> int:
    """Count one attempt (a failed login, say); returns the attempts in this window so far."""
    pk, sk, start, _ = _key(limit, subject)
    with unscoped():  # counters are the platform's (see check)
        return (table or Table()).increment(pk, sk, "count", expires_at=start + limit.window_s + 60)


def consume(limit: Limit, subject: str, table: Table | None = None) -> None:
    """Count this attempt and raise ``RateLimited`` if it is over the limit (for signup, refresh, OTP sends)."""
    if hit(limit, subject, table) > limit.attempts:
        raise _refuse(limit, _window(limit)[1])
