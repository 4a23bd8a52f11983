"""Standard Webhooks signatures: ``whsec_`` secrets and the ``webhook-id/-timestamp/-signature`` headers.

The signature is ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed with the secret's bytes; during a
rotation's overlap the header carries one signature per secret, space-separated, so a receiver holding either
secret verifies (https://www.standardwebhooks.com/, the ``standardwebhooks`` package does exactly this).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence

__all__ = ["SECRET_BYTES", "SECRET_PREFIX", "headers", "new_secret", "secret_key", "sign"]

SECRET_PREFIX = "whsec_"
# Standard Webhooks asks for 24 to 64 random bytes; 32 is SHA-256's output size, the key length RFC 2104
# recommends for HMAC-SHA256.
SECRET_BYTES = 32


def new_secret() -> str:
    """A new random signing secret, ``whsec_<base64 of 32 bytes>``."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a ``whsec_`` secret; ValueError if it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a signing secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ValueError("a signing secret is whsec_ followed by base64") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError("a signing secret holds 24 to 64 bytes")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """``v1,<signature>`` of one message with one secret."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets: Sequence[str], message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret in ``secrets`` (current first)."""
    if not secrets:
        raise ValueError("at least one secret signs a message")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret, message_id, timestamp, body) for secret in secrets),
    }
