"""ES256 JSON Web Signatures (RFC 7515, compact form) read and checked without PyJWT, on every guarded request.

PyJWT imports every algorithm it knows and with them cryptography's X.509 and RSA modules: about a tenth of a new
container's first request for a token that is only ever ES256. Verifying one needs just the P-256 public key,
SHA-256 and the two halves of the signature (RFC 7518 §3.4: ``R || S``, 32 bytes each). Signing (at login and
refresh) and the JWKS still use PyJWT.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePublicKey

__all__ = ["BadSignature", "MalformedToken", "header_of", "unverified_payload", "verified_payload"]

_HALF = 32  # bytes of R and of S for P-256
# Our tokens are under 2 KiB; API Gateway refuses headers over 10 KiB. A bound before any decoding keeps a hostile
# one from costing more than a real one.
MAX_TOKEN_CHARS = 8192
# RFC 7515 §2: base64url without padding, nothing else (no '+', '/', '=' or whitespace: one token, one spelling).
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")


class MalformedToken(ValueError):
    """Raised when a token is not three base64url segments whose first two are JSON objects."""


class BadSignature(ValueError):
    """Raised when a token's signature does not verify with the key it names."""


def _decode(segment: str) -> bytes:
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise MalformedToken("a segment is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("a segment is not base64url") from exc


def _object(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(_decode(segment))
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested deeper than the parser goes
        raise MalformedToken("a segment is not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedToken("a segment is not a JSON object")
    return value


def _segments(token: str) -> tuple[str, str, str]:
    if len(token) > MAX_TOKEN_CHARS:
        raise MalformedToken(f"a token is at most {MAX_TOKEN_CHARS} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("a compact JWS has three segments")
    return parts[0], parts[1], parts[2]


def header_of(token: str) -> dict[str, Any]:
    """The token's header (``alg``, ``kid``), not verified: it says which key to verify with."""
    return _object(_segments(token)[0])


def unverified_payload(token: str) -> dict[str, Any]:
    """The token's claims WITHOUT checking its signature: only to know what to read ahead of verifying it."""
    return _object(_segments(token)[1])


@cache
def _es256() -> ECDSA:
    """ECDSA over SHA-256, made without ``ECDSA.__init__``: it imports cryptography's OpenSSL backend and its cipher
    modules (on a new container's first request) only to check that deterministic signing is supported, which
    verifying never asks for. The key's ``verify`` reads the hash from ``algorithm``, as it does ``ECDSA``'s."""
    from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
    from cryptography.hazmat.primitives.hashes import SHA256

    class ES256(ECDSA):
        def __init__(self) -> None:  # ECDSA.__init__ not called: see above
            self._algorithm = SHA256()
            self._deterministic_signing = False

    return ES256()


def verified_payload(token: str, key: EllipticCurvePublicKey) -> dict[str, Any]:
    """The token's claims once its ES256 signature verifies with ``key``; ``BadSignature`` otherwise."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    header, payload, signature = _segments(token)
    raw = _decode(signature)
    if len(raw) != 2 * _HALF:
        raise BadSignature("an ES256 signature is 64 bytes")
    der = encode_dss_signature(int.from_bytes(raw[:_HALF], "big"), int.from_bytes(raw[_HALF:], "big"))
    try:
        key.verify(der, f"{header}.{payload}".encode("ascii"), _es256())
    except (InvalidSignature, UnicodeEncodeError) as exc:
        raise BadSignature("the signature does not verify") from exc
    return _object(payload)
