"""Access-token signing keys (ES256), kept as one JSON key set in Secrets Manager.

The set lists keys newest first. A new key is published (JWKS, verification) at once but signs only after
``ACTIVATION_DELAY``, longer than any instance caches the secret: by the time a token carries the new
``kid``, every instance can verify it. The previous key stays until the next rotation, well past the
lifetime of the tokens it signed. Each key carries its public point (x, y) beside its private PEM, so verifying a token
builds the public key from two numbers instead of parsing the PEM (keys written before carry none: their public half is
derived from the private key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.core import aws, clock
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.ids import new_id
from chalicelib.core.resources import JWT_SIGNING_KEYS, secret_name
from chalicelib.core.secrets import get_secret

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey, EllipticCurvePublicKey

__all__ = ["ACTIVATION_DELAY", "SigningKey", "key_set", "new_key_set", "rotate", "signing_key"]

ACTIVATION_DELAY = timedelta(minutes=10)
_KEEP = 2


@dataclass(frozen=True)
class SigningKey:
    """One key of the set; ``public_point`` is the public key's (x, y), kept beside the private key since the set's
    keys carry it (older ones do not: their public half is derived from the private key)."""

    kid: str
    created_at: datetime
    private_pem: str
    public_point: tuple[int, int] | None = None

    @property
    def private_key(self) -> EllipticCurvePrivateKey:
        """The parsed private key."""
        return _parse_private(self.private_pem)

    @property
    def public_key(self) -> EllipticCurvePublicKey:
        """The public half (for verification and the JWKS). From its point when the set has it: parsing the private
        key's PEM imports cryptography's serialization (every key format), which verifying a token does not need."""
        if self.public_point is None:
            return self.private_key.public_key()
        return _public_from_point(*self.public_point)


@lru_cache(maxsize=8)
def _public_from_point(x: int, y: int) -> EllipticCurvePublicKey:
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicNumbers

    return EllipticCurvePublicNumbers(x, y, SECP256R1()).public_key()


@lru_cache(maxsize=8)
def _parse_private(pem: str) -> EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, EllipticCurvePrivateKey):
        raise DependencyUnavailable(detail="the signing key set holds a key that is not EC")
    return key


def _new_key(created_at: datetime) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    point = key.public_key().public_numbers()
    return {
        "kid": new_id(created_at),
        "createdAt": clock.isoformat(created_at),
        "privateKey": pem,
        "publicPoint": {"x": str(point.x), "y": str(point.y)},
    }


def new_key_set() -> str:
    """A key set with one key, active at once (the first key of a new deployment)."""
    first = _new_key(clock.now() - ACTIVATION_DELAY)
    return json.dumps({"keys": [first]})


def _parse(raw: str) -> list[SigningKey]:
    data: dict[str, Any] = json.loads(raw)
    return [
        SigningKey(
            k["kid"],
            datetime.fromisoformat(k["createdAt"].replace("Z", "+00:00")),
            k["privateKey"],
            (int(k["publicPoint"]["x"]), int(k["publicPoint"]["y"])) if "publicPoint" in k else None,
        )
        for k in data["keys"]
    ]


def key_set() -> list[SigningKey]:
    """Every key that verifies tokens, newest first."""
    return _parse(get_secret(secret_name(JWT_SIGNING_KEYS)))


def signing_key() -> SigningKey:
    """The key that signs now: the newest one whose activation delay has passed."""
    keys = key_set()
    ready = clock.now() - ACTIVATION_DELAY
    return next((k for k in keys if k.created_at <= ready), keys[-1])


def rotate() -> str:
    """Add a new key (signing after the activation delay) and drop all but the previous one; returns its kid."""
    name = secret_name(JWT_SIGNING_KEYS)
    client = aws.secrets_manager()
    current = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
    fresh = _new_key(clock.now())
    client.put_secret_value(SecretId=name, SecretString=json.dumps({"keys": [fresh, *current["keys"]][:_KEEP]}))
    return str(fresh["kid"])
