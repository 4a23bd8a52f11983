"""Access tokens: JWKS verification, rotation with overlap, and every kind of bad token → 401."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.access.permissions import Role
from chalicelib.auth import keys
from chalicelib.core import clock
from chalicelib.core.secrets import reset_secrets_cache
from chalicelib.users import store as users_store
from tests.support.identity import PASSWORD, add_user, call, signup


def _me(api: Any, token: str) -> Any:
    return call(api, "GET", "/auth/me", headers={"Authorization": f"Bearer {token}"})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_access_token_verifies_with_the_published_jwks(api: Any) -> None:
    admin, _ = signup(api)
    published = call(api, "GET", "/.well-known/jwks.json").json_body["keys"]
    header = jwt.get_unverified_header(admin.access_token)
    jwk = next(k for k in published if k["kid"] == header["kid"])
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in jwk  # never the private part
    claims = jwt.decode(
        admin.access_token, jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="btrix-api", issuer="btrix"
    )
    assert claims["sub"] == admin.user_id
    assert claims["tenantId"] == admin.tenant_id
    assert claims["role"] == "ADMIN"
    assert claims["exp"] - claims["iat"] == 900
    assert {"jti", "modules", "sid"} <= set(claims)


def test_expired_token_is_401(api: Any) -> None:
    admin, _ = signup(api)
    with clock.frozen_clock(clock.now() + timedelta(minutes=16)):
        response = _me(api, admin.access_token)
    assert response.status_code == 401
    assert "expired" in response.json_body["detail"]


def test_tampered_token_is_401(api: Any) -> None:
    admin, _ = signup(api)
    header, payload, signature = admin.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "PLATFORM_ADMIN"
    assert _me(api, f"{header}.{_b64(claims)}.{signature}").status_code == 401


def test_token_signed_with_another_key_is_401(api: Any) -> None:
    admin, _ = signup(api)
    claims = jwt.decode(admin.access_token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(admin.access_token)["kid"]
    forged = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": kid})
    assert _me(api, forged).status_code == 401


def test_alg_none_is_401(api: Any) -> None:
    admin, _ = signup(api)
    claims = jwt.decode(admin.access_token, options={"verify_signature": False})
    kid = jwt.get_unverified_header(admin.access_token)["kid"]
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}."
    assert _me(api, unsigned).status_code == 401
    hs256 = jwt.encode(claims, "a-guessed-shared-secret-of-32-bytes", algorithm="HS256", headers={"kid": kid})
    assert _me(api, hs256).status_code == 401


def test_a_header_nested_deeper_than_json_parsing_goes_is_401_not_a_crash(api: Any) -> None:
    admin, _ = signup(api)
    _, payload, signature = admin.access_token.split(".")
    nested = base64.urlsafe_b64encode(b"[" * 3000).rstrip(b"=").decode()
    response = _me(api, f"{nested}.{payload}.{signature}")
    assert response.status_code == 401
    assert response.json_body["detail"] == "the access token is malformed"


def test_a_token_of_ours_not_valid_before_a_later_time_is_401_until_then(api: Any) -> None:
    admin, _ = signup(api)
    claims = jwt.decode(admin.access_token, options={"verify_signature": False})
    key = keys.signing_key()
    later = jwt.encode(
        {**claims, "nbf": claims["iat"] + 120}, key.private_key, algorithm="ES256", headers={"kid": key.kid}
    )
    refused = _me(api, later)
    assert (refused.status_code, refused.json_body["detail"]) == (401, "the access token is not valid yet")
    with clock.frozen_clock(clock.now() + timedelta(seconds=180)):
        assert _me(api, later).status_code == 200


def test_token_of_a_deactivated_user_is_401_at_once(api: Any) -> None:
    admin, _ = signup(api)
    staff = add_user(api, admin, Role.STAFF)
    assert _me(api, staff.access_token).status_code == 200
    assert call(api, "POST", f"/users/{staff.user_id}/deactivate", headers=admin.headers()).status_code == 200
    assert _me(api, staff.access_token).status_code == 401
    assert call(api, "POST", "/auth/refresh", {"refreshToken": staff.refresh_token}).status_code == 401
    login = call(api, "POST", "/auth/login", {"identifier": staff.email, "password": PASSWORD})
    assert login.status_code == 401


@pytest.fixture
def rotated_keys(stack: Any) -> Any:
    """Rotate the signing keys for a test, and put the original set (and its published half) back afterwards."""
    from chalicelib.core import aws
    from chalicelib.core.resources import JWT_SIGNING_KEYS, secret_name

    name = secret_name(JWT_SIGNING_KEYS)
    original = aws.secrets_manager().get_secret_value(SecretId=name)["SecretString"]
    yield keys.rotate
    aws.secrets_manager().put_secret_value(SecretId=name, SecretString=original)
    reset_secrets_cache()
    keys.publish_key_set()


def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key_after_the_delay(
    api: Any, rotated_keys: Any
) -> None:
    admin, _ = signup(api)
    old_kid = jwt.get_unverified_header(admin.access_token)["kid"]
    new_kid = rotated_keys()
    reset_secrets_cache()
    published = {k["kid"] for k in call(api, "GET", "/.well-known/jwks.json").json_body["keys"]}
    assert published == {old_kid, new_kid}
    assert _me(api, admin.access_token).status_code == 200
    fresh = call(api, "POST", "/auth/login", {"identifier": admin.email, "password": PASSWORD}).json_body
    assert jwt.get_unverified_header(fresh["accessToken"])["kid"] == old_kid
    with clock.frozen_clock(clock.now() + keys.ACTIVATION_DELAY + timedelta(seconds=1)):
        later = call(api, "POST", "/auth/login", {"identifier": admin.email, "password": PASSWORD}).json_body
        assert jwt.get_unverified_header(later["accessToken"])["kid"] == new_kid
        assert _me(api, later["accessToken"]).status_code == 200
        assert _me(api, fresh["accessToken"]).status_code == 200


def test_password_is_rehashed_when_the_parameters_change(api: Any) -> None:
    admin, _ = signup(api)
    user = users_store.get_user(admin.tenant_id, admin.user_id, consistent=True)
    assert user is not None
    weak = PasswordHasher(time_cost=1, memory_cost=8_192, parallelism=1).hash(PASSWORD)
    from chalicelib.core.db.store import Table

    Table().transact([users_store.update_user_op(user, {"passwordHash": weak})])
    assert call(api, "POST", "/auth/login", {"identifier": admin.email, "password": PASSWORD}).status_code == 200
    stored = users_store.get_user(admin.tenant_id, admin.user_id, consistent=True)
    assert stored is not None
    assert stored.password_hash is not None
    assert stored.password_hash != weak
    assert "m=19456,t=2,p=1" in stored.password_hash
