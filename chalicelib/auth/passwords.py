"""Passwords: argon2id hashes (rehashed on login when the parameters change) and the password policy."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.core.config import get_settings
from chalicelib.core.errors import FieldError, InvalidInput

if TYPE_CHECKING:
    from argon2 import PasswordHasher

__all__ = ["check_policy", "hash_password", "verify_password"]

_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")


@cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher  # when a password is first hashed or checked, not with every guarded route

    settings = get_settings()
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )


@cache
def _common() -> frozenset[str]:
    text = (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` with the current parameters."""
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs rehash). A missing or unreadable hash never matches."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    if not stored_hash:
        # Spend the same time as a real check, so that response times do not reveal unknown accounts.
        _hasher().hash(password)
        return False, False
    try:
        _hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, _hasher().check_needs_rehash(stored_hash)


def _is_sequence(text: str) -> bool:
    return any(text in seq or text in seq[::-1] for seq in _SEQUENCES)


def check_policy(password: str, *, field: str = "body.password", personal: tuple[str, ...] = ()) -> None:
    """Raise ``InvalidInput`` naming ``field`` unless the password is long and not guessable.

    Rules: at least ``password_min_length`` characters; not a well-known password; not one repeated
    character or a keyboard/alphabet run; not the person's email or name.
    """
    minimum = get_settings().password_min_length
    folded = password.lower().replace(" ", "")
    problem = None
    if len(password) < minimum:
        problem = f"must have at least {minimum} characters"
    elif folded in _common():
        problem = "is too common; choose another"
    elif len(set(folded)) <= 2 or _is_sequence(folded):
        problem = "is too easy to guess; choose another"
    elif any(p and len(p) >= 4 and p.lower() in folded for p in personal):
        problem = "must not contain your name or email"
    if problem is not None:
        raise InvalidInput(detail=f"password {problem}", errors=(FieldError(field, problem, "weak-password"),))
