"""Field encryption and lookup hashes against the local stack's KMS key and Secrets Manager."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator

import pytest

from chalicelib.core import aws, crypto
from chalicelib.core.crypto import clear_key_cache, decrypt_field, encrypt_field, lookup_hash
from chalicelib.core.errors import DecryptionFailed, DependencyUnavailable
from chalicelib.core.ids import new_id
from tests.support.aws_calls import calls_of

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def kms_calls() -> Iterator[list[str]]:
    """The names of the KMS operations the process calls during the test, in order."""
    with calls_of(aws.kms()) as calls:
        yield calls


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _tamper(token: str, part: int) -> str:
    """``token`` with the last byte of part ``part`` (1 = data key, 2 = nonce, 3 = ciphertext) flipped."""
    parts = token.split(".")
    raw = bytearray(_unb64(parts[part]))
    raw[-1] ^= 0x01
    parts[part] = _b64(bytes(raw))
    return ".".join(parts)


@pytest.mark.parametrize("plaintext", ["529.982.247-25", "", "sk_live_51Hx…ção 🔑", "x" * 10_000])
def test_encrypted_field_decrypts_to_the_plaintext(tenant_id: str, plaintext: str) -> None:
    token = encrypt_field(tenant_id, plaintext)

    assert decrypt_field(tenant_id, token) == plaintext


def test_encrypted_field_decrypts_after_the_key_cache_is_cleared(tenant_id: str, kms_calls: list[str]) -> None:
    token = encrypt_field(tenant_id, "52998224725")
    clear_key_cache()

    assert decrypt_field(tenant_id, token) == "52998224725"
    assert kms_calls == ["GenerateDataKey", "Decrypt"]


def test_token_is_a_compact_versioned_string_without_the_plaintext(tenant_id: str) -> None:
    token = encrypt_field(tenant_id, "52998224725")

    version, encrypted_key, nonce, ciphertext = token.split(".")
    assert version == "v1"
    assert len(_unb64(nonce)) == 12
    assert len(_unb64(ciphertext)) == len("52998224725") + 16  # GCM tag
    assert encrypted_key
    assert "52998224725" not in token
    assert set(token) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def test_same_plaintext_encrypts_differently_each_time(tenant_id: str) -> None:
    tokens = {encrypt_field(tenant_id, "52998224725") for _ in range(5)}

    assert len(tokens) == 5
    assert {decrypt_field(tenant_id, token) for token in tokens} == {"52998224725"}


@pytest.mark.parametrize("cold_cache", [False, True], ids=["cached-key", "key-from-kms"])
def test_decrypt_with_another_tenant_fails(tenant_id: str, cold_cache: bool) -> None:
    token = encrypt_field(tenant_id, "client-secret-value")
    other_tenant = new_id()
    encrypt_field(other_tenant, "warms the other tenant's cache")
    if cold_cache:
        clear_key_cache()

    with pytest.raises(DecryptionFailed):
        decrypt_field(other_tenant, token)
    assert decrypt_field(tenant_id, token) == "client-secret-value"


@pytest.mark.parametrize(("part", "cold_cache"), [(3, False), (3, True), (2, False), (1, True)])
def test_tampered_token_fails(tenant_id: str, part: int, cold_cache: bool) -> None:
    token = encrypt_field(tenant_id, "client-secret-value")
    tampered = _tamper(token, part)
    if cold_cache:
        clear_key_cache()

    with pytest.raises(DecryptionFailed):
        decrypt_field(tenant_id, tampered)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token.replace("v1.", "v2.", 1),
        lambda token: token.rsplit(".", 1)[0],
        lambda token: token + ".extra",
        lambda token: token[:-3] + "!!!",
        lambda token: "v1.AAAA.AAAA.AAAA",
        lambda token: "plain text",
    ],
    ids=["version", "missing-part", "extra-part", "not-base64", "short-nonce", "not-a-token"],
)
def test_malformed_token_fails(tenant_id: str, mangle: Callable[[str], str]) -> None:
    token = encrypt_field(tenant_id, "client-secret-value")

    with pytest.raises(DecryptionFailed):
        decrypt_field(tenant_id, mangle(token))


def test_several_encryptions_for_one_tenant_make_one_kms_call(tenant_id: str, kms_calls: list[str]) -> None:
    tokens = [encrypt_field(tenant_id, f"field-{n}") for n in range(10)]
    assert kms_calls == ["GenerateDataKey"]

    assert [decrypt_field(tenant_id, token) for token in tokens] == [f"field-{n}" for n in range(10)]
    assert kms_calls == ["GenerateDataKey"]

    clear_key_cache()
    assert [decrypt_field(tenant_id, token) for token in tokens] == [f"field-{n}" for n in range(10)]
    assert kms_calls == ["GenerateDataKey", "Decrypt"]


def test_each_tenant_gets_its_own_data_key(tenant_id: str, kms_calls: list[str]) -> None:
    other_tenant = new_id()

    mine = encrypt_field(tenant_id, "a")
    theirs = encrypt_field(other_tenant, "b")

    assert kms_calls == ["GenerateDataKey", "GenerateDataKey"]
    assert mine.split(".")[1] != theirs.split(".")[1]


def test_data_key_is_replaced_after_its_message_budget(
    tenant_id: str, kms_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crypto, "_KEY_MAX_MESSAGES", 3)

    tokens = [encrypt_field(tenant_id, f"field-{n}") for n in range(4)]

    assert kms_calls == ["GenerateDataKey", "GenerateDataKey"]
    assert len({token.split(".")[1] for token in tokens}) == 2


def test_missing_kms_key_is_a_dependency_failure(tenant_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crypto, "kms_alias", lambda: "alias/btrix-does-not-exist")

    with pytest.raises(DependencyUnavailable):
        encrypt_field(tenant_id, "value")


def test_lookup_hash_is_stable_for_the_same_kind_and_value() -> None:
    first = lookup_hash("cpf", "52998224725")

    assert lookup_hash("cpf", "52998224725") == first
    assert len(first) == 64
    assert int(first, 16) >= 0


def test_lookup_hash_differs_per_kind_and_per_value() -> None:
    hashes = {
        lookup_hash("cpf", "11987654321"),
        lookup_hash("phone", "11987654321"),
        lookup_hash("cpf", "52998224725"),
        lookup_hash("cnpj", "11222333000181"),
    }

    assert len(hashes) == 4


def test_lookup_hash_is_keyed() -> None:
    unkeyed = hashlib.sha256(b"cpf:52998224725").hexdigest()

    assert lookup_hash("cpf", "52998224725") != unkeyed


@pytest.mark.parametrize("kind", ["", "CPF", "cpf:x", "1cpf", "phone number"])
def test_lookup_hash_refuses_an_ambiguous_kind(kind: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        lookup_hash(kind, "52998224725")
