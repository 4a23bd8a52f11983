"""ES256 verification without PyJWT: it accepts what PyJWT signs and refuses what PyJWT refuses."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.auth import jws

_KEY = ec.generate_private_key(ec.SECP256R1())
_CLAIMS = {"sub": "U1", "tenantId": "T1", "iss": "btrix", "aud": "btrix-api", "exp": 2_000_000_000}


def _signed(claims: dict[str, object] = _CLAIMS, key: ec.EllipticCurvePrivateKey = _KEY) -> str:
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "K1"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_token_pyjwt_signed_verifies_and_gives_its_header_and_claims() -> None:
    token = _signed()
    assert jws.header_of(token) == {"alg": "ES256", "kid": "K1", "typ": "JWT"}
    assert jws.verified_payload(token, _KEY.public_key()) == _CLAIMS


def test_a_token_signed_by_another_key_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(jws.BadSignature):
        jws.verified_payload(_signed(key=other), _KEY.public_key())


def test_changed_claims_under_the_same_signature_are_refused() -> None:
    header, _, signature = _signed().split(".")
    forged = f"{header}.{_b64(json.dumps({**_CLAIMS, 'tenantId': 'T2'}).encode())}.{signature}"
    with pytest.raises(jws.BadSignature):
        jws.verified_payload(forged, _KEY.public_key())


@pytest.mark.parametrize("signature", ["", _b64(b"\x00" * 63), _b64(b"\x01" * 64), _b64(b"\x01" * 72)])
def test_an_empty_short_long_or_wrong_signature_is_refused(signature: str) -> None:
    header, payload, _ = _signed().split(".")
    with pytest.raises(jws.BadSignature):
        jws.verified_payload(f"{header}.{payload}.{signature}", _KEY.public_key())


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a.b.c.d", "!!!.e30.", f"{_b64(b'[1]')}.e30.", f"{_b64(b'not json')}.e30.", "e30.e30.e30.e30"],
)
def test_what_is_not_a_compact_jws_of_json_objects_is_malformed(token: str) -> None:
    with pytest.raises(jws.MalformedToken):
        jws.header_of(token)


@pytest.mark.parametrize("nested", [b"[" * 5000, b'{"a":' * 5000])
def test_json_nested_deeper_than_the_parser_goes_is_malformed_not_a_crash(nested: bytes) -> None:
    with pytest.raises(jws.MalformedToken):
        jws.header_of(f"{_b64(nested)}.e30.AA")


def test_a_token_over_the_size_bound_is_malformed_before_it_is_decoded() -> None:
    header, payload, signature = _signed().split(".")
    with pytest.raises(jws.MalformedToken):
        jws.header_of(f"{header}.{payload}{'A' * jws.MAX_TOKEN_CHARS}.{signature}")


def test_only_one_spelling_of_a_token_verifies() -> None:
    """PyJWT's base64url decoding skipped padding, '+', '/' and stray characters: the same token had many
    spellings. RFC 7515's base64url has no padding and no other alphabet."""
    header, payload, signature = _signed().split(".")
    assert jws.verified_payload(f"{header}.{payload}.{signature}", _KEY.public_key()) == _CLAIMS
    for spelled in (
        f"{header}.{payload}.{signature}==",
        f"{header}.{payload}.{signature}==AA",
        f"{header}.{payload}.{signature[:40]}${signature[40:]}$$",
        f"{header}.{payload}.{signature[:10]} {signature[10:]}",
        f"{header}.{payload}.{signature}A",
    ):
        with pytest.raises((jws.MalformedToken, jws.BadSignature)):
            jws.verified_payload(spelled, _KEY.public_key())


def test_the_standard_base64_alphabet_is_not_base64url() -> None:
    standard = base64.b64encode(b'{"alg":"ES256","kid":">>>?"}').decode().rstrip("=")
    assert "+" in standard or "/" in standard
    assert jws.header_of(f"{standard.replace('+', '-').replace('/', '_')}.e30.AA")["kid"] == ">>>?"
    with pytest.raises(jws.MalformedToken):
        jws.header_of(f"{standard}.e30.AA")
