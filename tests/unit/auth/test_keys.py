"""Signing key sets: each new key carries the public point that verifies its tokens; an older key without one still
verifies through its private key."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chalicelib.auth import keys


def _spki(key: object) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined, no-any-return]


def test_a_new_keys_public_point_is_its_private_keys_public_half() -> None:
    (key,) = keys._parse(keys.new_key_set())
    assert key.public_point is not None
    assert _spki(key.public_key) == _spki(key.private_key.public_key())


def test_a_key_written_without_its_point_gets_its_public_half_from_the_private_key() -> None:
    data = json.loads(keys.new_key_set())
    del data["keys"][0]["publicPoint"]
    (key,) = keys._parse(json.dumps(data))
    assert key.public_point is None
    assert _spki(key.public_key) == _spki(key.private_key.public_key())
