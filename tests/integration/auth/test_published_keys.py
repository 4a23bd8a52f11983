"""The guard verifies access tokens with the signing keys' published public half: a key another container rotates in
verifies as soon as it is published, an unknown kid costs one fresh read of the published keys, then a 401."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.auth import keys, store
from chalicelib.core import aws, clock
from chalicelib.core.resources import JWT_SIGNING_KEYS, secret_name
from chalicelib.core.secrets import reset_secrets_cache
from tests.support.identity import Account, call, signup

ROOT = Path(__file__).resolve().parents[3]
# Past the few seconds a container waits before it reads the published keys again for a kid it does not know.
_LATER = timedelta(seconds=6)


def _me(api: Any, token: str) -> Any:
    return call(api, "GET", "/auth/me", headers={"Authorization": f"Bearer {token}"})


def _resigned(account: Account, private_key: Any, kid: str) -> str:
    """The account's access token, same claims, signed by ``private_key`` under ``kid``."""
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    return jwt.encode(claims, private_key, algorithm="ES256", headers={"kid": kid})


@pytest.fixture
def secret_restored(stack: Any) -> Iterator[None]:
    """Put the signing key set (and its published half) back as it was after the test."""
    name = secret_name(JWT_SIGNING_KEYS)
    original = aws.secrets_manager().get_secret_value(SecretId=name)["SecretString"]
    yield
    aws.secrets_manager().put_secret_value(SecretId=name, SecretString=original)
    reset_secrets_cache()
    keys.publish_key_set()


@pytest.fixture
def published_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts this process's reads of the published keys."""
    reads: list[int] = []
    read = store.get_published_keys

    def counted() -> list[store.PublishedKey] | None:
        reads.append(1)
        return read()

    monkeypatch.setattr(store, "get_published_keys", counted)
    return reads


def test_a_key_another_container_rotates_in_verifies_here_as_soon_as_it_is_published(
    api: Any, secret_restored: None
) -> None:
    admin, _ = signup(api)
    assert _me(api, admin.access_token).status_code == 200  # this container knows the current keys
    rotated = subprocess.run(
        [sys.executable, "-c", "from chalicelib.auth import keys; print(keys.rotate())"],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        check=True,
    )
    new_kid = rotated.stdout.strip().splitlines()[-1]
    secret = json.loads(aws.secrets_manager().get_secret_value(SecretId=secret_name(JWT_SIGNING_KEYS))["SecretString"])
    (newest,) = [k for k in keys._parse(json.dumps(secret)) if k.kid == new_kid]
    token = _resigned(admin, newest.private_key, new_kid)

    with clock.frozen_clock(clock.now() + _LATER):
        assert _me(api, token).status_code == 200
        assert _me(api, admin.access_token).status_code == 200  # the previous key still verifies
        published = {k["kid"] for k in call(api, "GET", "/.well-known/jwks.json").json_body["keys"]}
    assert new_kid in published


def test_an_unknown_kid_reads_the_published_keys_once_then_is_refused(api: Any, published_reads: list[int]) -> None:
    admin, _ = signup(api)
    forged = _resigned(admin, ec.generate_private_key(ec.SECP256R1()), "01JUNKNOWNKID0000000000000")
    with clock.frozen_clock(clock.now() + _LATER) as advance:
        refused = [_me(api, forged) for _ in range(3)]
        assert [r.status_code for r in refused] == [401, 401, 401]
        assert refused[0].json_body["detail"] == "the access token was not signed by this service"
        assert len(published_reads) == 1  # one fresh read for the burst, not one per request
        assert _me(api, admin.access_token).status_code == 200  # a known kid reads nothing more
        assert len(published_reads) == 1
        advance(_LATER)
        assert _me(api, forged).status_code == 401
        assert len(published_reads) == 2


def test_a_token_signed_by_a_key_that_was_never_published_is_refused(api: Any) -> None:
    admin, _ = signup(api)
    kid = keys._parse(keys.new_key_set())[0].kid  # a well-formed kid of a key this deployment never had
    with clock.frozen_clock(clock.now() + _LATER):
        assert _me(api, _resigned(admin, ec.generate_private_key(ec.SECP256R1()), kid)).status_code == 401
