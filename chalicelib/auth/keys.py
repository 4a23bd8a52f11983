"""Access-token signing keys (ES256), kept as one JSON key set in Secrets Manager; their public half published.

The set lists keys newest first. A new key is published (JWKS, verification) at once but signs only after
``ACTIVATION_DELAY``, longer than any instance keeps the published keys: by the time a token carries the new
``kid``, every instance can verify it. The previous key stays until the next rotation, well past the
lifetime of the tokens it signed. Each key carries its public point (x, y) beside its private PEM (keys written before
carry none: their public half is derived from the private key).

Signing (login, refresh) reads the secret. Verifying needs only each key's kid and point, which are not secret: they
are published to a table item (``auth.store.publish_keys``) whenever the set is created or rotated, and the guard reads
that item in the BatchGetItem it makes anyway for the caller's user and tenant, so a new container's first request
builds no Secrets Manager client and makes no call to it (issue 20's cold path). A container keeps the published keys
``_KEEP_PUBLISHED``; a token naming a kid it does not know makes it read them again at once (at most once every
``_RECHECK_UNKNOWN``, so made-up kids cost no read each), then it is refused. A deployment whose set was never
published derives the public half from the secret on its first verification and publishes it, never over a set
published meanwhile.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.auth import store
from chalicelib.auth.store import PublishedKey
from chalicelib.core import aws, clock
from chalicelib.core.errors import DependencyUnavailable
from chalicelib.core.ids import new_id
from chalicelib.core.resources import JWT_SIGNING_KEYS, secret_name
from chalicelib.core.secrets import get_secret

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey, EllipticCurvePublicKey

__all__ = [
    "ACTIVATION_DELAY",
    "SigningKey",
    "key_set",
    "new_key_set",
    "publish_key_set",
    "published_keys",
    "reads_to_verify",
    "rotate",
    "signing_key",
    "verification_key",
]

ACTIVATION_DELAY = timedelta(minutes=10)
_KEEP = 2
# Under ACTIVATION_DELAY: every container has re-read the published keys before a new key signs its first token.
_KEEP_PUBLISHED = timedelta(minutes=5)
_RECHECK_UNKNOWN = timedelta(seconds=5)
_COORDINATE_BYTES = 32  # a P-256 coordinate


@dataclass(frozen=True)
class SigningKey:
    """One key of the set; ``public_point`` is the public key's (x, y), kept beside the private key since the set's
    keys carry it (older ones do not: their public half is derived from the private key when it is published)."""

    kid: str
    created_at: datetime
    private_pem: str
    public_point: tuple[int, int] | None = None

    @property
    def private_key(self) -> EllipticCurvePrivateKey:
        """The parsed private key."""
        return _parse_private(self.private_pem)


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
    """Add a new key (signing after the activation delay) and drop all but the previous one, and publish the new set's
    public half; returns the new kid."""
    name = secret_name(JWT_SIGNING_KEYS)
    client = aws.secrets_manager()
    current = json.loads(client.get_secret_value(SecretId=name)["SecretString"])
    fresh = _new_key(clock.now())
    rotated = json.dumps({"keys": [fresh, *current["keys"]][:_KEEP]})
    client.put_secret_value(SecretId=name, SecretString=rotated)
    _publish(_parse(rotated))
    return str(fresh["kid"])


def publish_key_set() -> None:
    """Publish the public half of the key set as the secret holds it now (provisioning; after an operator changed the
    secret by hand)."""
    _publish(_parse(aws.secrets_manager().get_secret_value(SecretId=secret_name(JWT_SIGNING_KEYS))["SecretString"]))


def _publish(signing_keys: list[SigningKey]) -> None:
    published = [_public_half(k) for k in signing_keys]
    store.publish_keys(published)
    _remember(published)  # this container verifies the new key at once


def _coordinate(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(_COORDINATE_BYTES, "big")).rstrip(b"=").decode("ascii")


def _number(coordinate: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(coordinate + "=" * (-len(coordinate) % 4)), "big")


def _public_half(key: SigningKey) -> PublishedKey:
    if key.public_point is not None:
        x, y = key.public_point
    else:
        numbers = key.private_key.public_key().public_numbers()
        x, y = numbers.x, numbers.y
    return PublishedKey(key.kid, clock.isoformat(key.created_at), _coordinate(x), _coordinate(y))


@dataclass(frozen=True)
class _Published:
    """The published keys by kid (newest first) and when this container read them."""

    keys: dict[str, PublishedKey]
    read_at: datetime


@dataclass
class _PublishedCache:
    current: _Published | None = None


@cache
def _published_cache() -> _PublishedCache:
    return _PublishedCache()


def _remember(published: list[PublishedKey]) -> _Published:
    kept = _Published({k.kid: k for k in published}, clock.now())
    _published_cache().current = kept
    return kept


def _must_read(kid: str | None) -> bool:
    kept = _published_cache().current
    if kept is None:
        return True
    age = clock.now() - kept.read_at
    if age < timedelta(0) or age >= _KEEP_PUBLISHED:  # stale, or the clock went back: read again
        return True
    return kid is not None and kid not in kept.keys and age >= _RECHECK_UNKNOWN


def _read_published() -> _Published:
    published = store.get_published_keys()
    if published is None:
        # Never published (a deployment from before the publication, or a key set an operator created by hand):
        # derived from the secret, and published unless another container did it meanwhile.
        published = [_public_half(k) for k in key_set()]
        store.publish_keys(published, replace=False)
    return _remember(published)


def _known(kid: str | None) -> _Published:
    kept = _published_cache().current
    return _read_published() if kept is None or _must_read(kid) else kept


def reads_to_verify(kid: str | None) -> list[tuple[str, str]]:
    """What verifying a token of ``kid`` must read first: the published keys' item when this container has to (re)read
    it, else nothing (the guard reads it in one BatchGetItem with the caller's user and tenant)."""
    return [store.published_keys_key()] if _must_read(kid) else []


def verification_key(kid: str) -> EllipticCurvePublicKey | None:
    """The public key named ``kid``, or None when no published key has that kid (after at most one fresh read)."""
    found = _known(kid).keys.get(kid)
    return None if found is None else _public_from_point(_number(found.x), _number(found.y))


def published_keys() -> list[PublishedKey]:
    """Every published public key (the JWKS), newest first."""
    return list(_known(None).keys.values())
