"""Catalog codes such as ``RP123456K``: the tenant's initial, the kind, six digits and a check letter.

The first letter is the first A-Z letter of the tenant's name (folded; ``X`` when it has none), the second is
``P`` for a product or ``S`` for a service, so a code read aloud at a counter already says what it is. The digits
are random (uniqueness is claimed in the create's transaction; a collision just draws again). The check letter
is a weighted sum modulo 23 over the first eight characters, mapped to an alphabet without I, O and U (easily
misread), so a mistyped digit or two swapped neighbouring digits give an invalid code instead of another item.
"""

from __future__ import annotations

import re
import secrets

from chalicelib.core.text import fold

__all__ = ["CODE_PATTERN", "check_letter", "is_valid_code", "kind_letter", "new_code", "tenant_letter"]

CODE_PATTERN = re.compile(r"[A-Z]{2}[0-9]{6}[A-Z]")
_CHECK_ALPHABET = "ABCDEFGHJKLMNPQRSTVWXYZ"  # 23 letters: the modulus is prime, so every weight is invertible
_KIND_LETTERS = {"product": "P", "service": "S"}


def tenant_letter(tenant_name: str) -> str:
    """The first A-Z letter of the tenant's name after folding accents (``Água Viva`` → ``A``), else ``X``."""
    return next((ch.upper() for ch in fold(tenant_name) if "a" <= ch <= "z"), "X")


def kind_letter(kind: str) -> str:
    """``P`` for a product, ``S`` for a service."""
    return _KIND_LETTERS[kind]


def _value(ch: str) -> int:
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def check_letter(body: str) -> str:
    """The check letter of the first eight characters of a code."""
    total = sum(_value(ch) * weight for weight, ch in enumerate(body, start=1))
    return _CHECK_ALPHABET[total % len(_CHECK_ALPHABET)]


def new_code(tenant_name: str, kind: str) -> str:
    """A fresh code for an item of ``kind`` in the tenant called ``tenant_name`` (not yet claimed)."""
    body = f"{tenant_letter(tenant_name)}{kind_letter(kind)}{secrets.randbelow(1_000_000):06d}"
    return body + check_letter(body)


def is_valid_code(code: str) -> bool:
    """Whether ``code`` has the shape of a catalog code and its check letter matches."""
    return CODE_PATTERN.fullmatch(code) is not None and check_letter(code[:8]) == code[8]
