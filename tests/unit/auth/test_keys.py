"""Signing key sets: each new key carries the public point that verifies its tokens, published as a JWK's coordinates;
an older key without one is published with the public half of its private key."""

from __future__ import annotations

import json

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

from chalicelib.auth import jws, keys
from chalicelib.auth.store import PublishedKey


def _verifies(published: PublishedKey, private_key: EllipticCurvePrivateKey) -> bool:
    token = jwt.encode({"sub": "U1"}, private_key, algorithm="ES256", headers={"kid": published.kid})
    public = keys._public_from_point(keys._number(published.x), keys._number(published.y))
    return jws.verified_payload(token, public) == {"sub": "U1"}


def test_a_new_keys_published_half_verifies_what_its_private_key_signs() -> None:
    (key,) = keys._parse(keys.new_key_set())
    published = keys._public_half(key)
    assert key.public_point is not None
    assert published.kid == key.kid
    assert _verifies(published, key.private_key)


def test_a_key_written_without_its_point_is_published_with_its_private_keys_public_half() -> None:
    data = json.loads(keys.new_key_set())
    del data["keys"][0]["publicPoint"]
    (key,) = keys._parse(json.dumps(data))
    assert key.public_point is None
    assert _verifies(keys._public_half(key), key.private_key)


def test_published_coordinates_are_the_jwks_32_byte_base64url_of_the_point() -> None:
    (key,) = keys._parse(keys.new_key_set())
    published = keys._public_half(key)
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.private_key.public_key(), as_dict=True)
    assert (published.x, published.y) == (jwk["x"], jwk["y"])
    assert keys._number(published.x) == key.public_point[0]  # type: ignore[index]
