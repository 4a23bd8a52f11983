"""Password policy and hashing."""

from __future__ import annotations

import pytest

from chalicelib.auth.passwords import check_policy, hash_password, verify_password
from chalicelib.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "at least 10"),
        ("1234567890", "too common"),
        ("Password123", "too common"),
        ("qwertyuiop", "too common"),
        ("zzzzzzzzzzzz", "too easy"),
        ("abababababab", "too easy"),
        ("abcdefghijklm", "too easy"),
        ("mariasilva-2026", "name or email"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_policy(password, personal=("mariasilva", "Maria Silva"))
    assert reason in refused.value.errors[0].message
    assert refused.value.errors[0].loc == "body.password"


def test_a_long_unusual_password_passes() -> None:
    check_policy("violet-lantern-harbor", personal=("ana", "Ana"))


def test_hash_verifies_only_the_right_password() -> None:
    stored = hash_password("violet-lantern-harbor")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "violet-lantern-harbor") == (True, False)
    assert verify_password(stored, "violet-lantern-harbour") == (False, False)
    assert verify_password(None, "anything") == (False, False)
    assert verify_password("not-a-hash", "anything") == (False, False)
