"""Field encryption for tenant data (KMS envelope, AES-256-GCM) and keyed hashes to look encrypted values up."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.core import aws
from chalicelib.core.errors import DecryptionFailed, DependencyUnavailable
from chalicelib.core.resources import LOOKUP_HASH_KEY, kms_alias, secret_name
from chalicelib.core.secrets import get_secret

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["TOKEN_VERSION", "clear_key_cache", "decrypt_field", "encrypt_field", "lookup_hash"]

TOKEN_VERSION = "v1"
_NONCE_BYTES = 12  # the 96-bit nonce GCM is specified for; other sizes go through an extra GHASH step

# A data key is reused for a few minutes so a request (or a batch) that encrypts several fields makes one KMS
# call; the limits keep the exposure of one plaintext key short and far below GCM's random-nonce bound (2^32).
_KEY_MAX_AGE_SECONDS = 300.0
_KEY_MAX_MESSAGES = 1000
_MAX_TENANTS = 256
# Decrypted data keys are cached by their encrypted bytes: fields written close together share a data key, so a
# page of records costs one KMS Decrypt per distinct key instead of one per field. The age limit makes a disabled
# KMS key or a revoked grant take effect within minutes in a warm Lambda, not only on its next cold start.
_MAX_DECRYPTED_KEYS = 1024

_KIND = re.compile(r"[a-z][a-z0-9_]*")


@dataclass
class _DataKey:
    """A plaintext data key ready to use, with the KMS-encrypted form that is stored next to each ciphertext."""

    cipher: AESGCM
    encrypted: bytes
    created: float
    uses: int = 0


class _KeyCache:
    """Data keys in memory: the current encryption key per tenant and recently decrypted keys (both bounded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._encrypting: OrderedDict[str, _DataKey] = OrderedDict()
        # Keyed by (tenant, encrypted key), not by the encrypted key alone: a hit must never skip the check that
        # KMS makes on the encryption context.
        self._decrypted: OrderedDict[tuple[str, bytes], _DataKey] = OrderedDict()

    def key_for_encryption(self, tenant_id: str) -> _DataKey | None:
        """The tenant's current data key, counted as used once, or None when there is none still fresh."""
        with self._lock:
            key = self._encrypting.get(tenant_id)
            if key is None or _stale(key) or key.uses >= _KEY_MAX_MESSAGES:
                return None
            key.uses += 1
            self._encrypting.move_to_end(tenant_id)
            return key

    def add_for_encryption(self, tenant_id: str, key: _DataKey) -> None:
        """Make ``key`` the tenant's current data key (and decryptable without KMS, for read-after-write)."""
        with self._lock:
            self._encrypting[tenant_id] = key
            self._encrypting.move_to_end(tenant_id)
            _trim(self._encrypting, _MAX_TENANTS)
            self._remember(tenant_id, key)

    def key_for_decryption(self, tenant_id: str, encrypted: bytes) -> _DataKey | None:
        """The plaintext data key for ``encrypted``, if it was decrypted (or generated) recently for this tenant."""
        with self._lock:
            key = self._decrypted.get((tenant_id, encrypted))
            if key is None or _stale(key):
                return None
            self._decrypted.move_to_end((tenant_id, encrypted))
            return key

    def add_for_decryption(self, tenant_id: str, key: _DataKey) -> None:
        """Remember a data key KMS decrypted for this tenant."""
        with self._lock:
            self._remember(tenant_id, key)

    def clear(self) -> None:
        """Forget every data key."""
        with self._lock:
            self._encrypting.clear()
            self._decrypted.clear()

    def _remember(self, tenant_id: str, key: _DataKey) -> None:
        self._decrypted[(tenant_id, key.encrypted)] = key
        self._decrypted.move_to_end((tenant_id, key.encrypted))
        _trim(self._decrypted, _MAX_DECRYPTED_KEYS)


def _stale(key: _DataKey) -> bool:
    return time.monotonic() - key.created > _KEY_MAX_AGE_SECONDS


def _trim(cache: OrderedDict[str, _DataKey] | OrderedDict[tuple[str, bytes], _DataKey], size: int) -> None:
    while len(cache) > size:
        cache.popitem(last=False)


_KEYS = _KeyCache()


def clear_key_cache() -> None:
    """Forget cached data keys (after the KMS key or the endpoints change, e.g. a new local stack)."""
    _KEYS.clear()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    # validate=True refuses stray characters instead of silently skipping them, so a mangled token fails here.
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _context(tenant_id: str) -> dict[str, str]:
    return {"tenantId": tenant_id}


def _associated_data(tenant_id: str) -> bytes:
    # The version is bound too, so a ciphertext cannot be replayed under a future format's rules.
    return f"btrix:{TOKEN_VERSION}:{tenant_id}".encode()


def _cipher(plaintext_key: bytes) -> AESGCM:
    # cryptography is imported on first use: most invocations never touch an encrypted field.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(plaintext_key)


def _new_data_key(tenant_id: str) -> _DataKey:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = aws.kms().generate_data_key(
            KeyId=kms_alias(), KeySpec="AES_256", EncryptionContext=_context(tenant_id)
        )
    except (BotoCoreError, ClientError) as exc:
        raise DependencyUnavailable(detail="the encryption key service is unavailable") from exc
    return _DataKey(_cipher(response["Plaintext"]), response["CiphertextBlob"], time.monotonic(), uses=1)


def _decrypt_data_key(tenant_id: str, encrypted: bytes) -> _DataKey:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        # No KeyId: the blob names the key that made it, so pointing the alias at a new key later leaves older
        # fields readable; which keys the function may use at all is the IAM policy's job.
        response = aws.kms().decrypt(CiphertextBlob=encrypted, EncryptionContext=_context(tenant_id))
    except ClientError as exc:
        # KMS answers InvalidCiphertextException for a blob that was altered or bound to another encryption
        # context (another tenant): that is a bad token, not an outage.
        if exc.response.get("Error", {}).get("Code") == "InvalidCiphertextException":
            raise DecryptionFailed(detail="the field's data key was altered or belongs to another tenant") from exc
        raise DependencyUnavailable(detail="the encryption key service is unavailable") from exc
    except BotoCoreError as exc:
        raise DependencyUnavailable(detail="the encryption key service is unavailable") from exc
    return _DataKey(_cipher(response["Plaintext"]), encrypted, time.monotonic())


def encrypt_field(tenant_id: str, plaintext: str) -> str:
    """``plaintext`` encrypted for ``tenant_id``, as ``v1.<data key>.<nonce>.<ciphertext>`` (base64url parts).

    Each call uses a fresh random nonce, so equal plaintexts give different tokens; use ``lookup_hash`` to find
    a record by an encrypted value. Raises ``DependencyUnavailable`` if KMS cannot be reached.
    """
    key = _KEYS.key_for_encryption(tenant_id)
    if key is None:
        key = _new_data_key(tenant_id)
        _KEYS.add_for_encryption(tenant_id, key)
    nonce = os.urandom(_NONCE_BYTES)
    ciphertext = key.cipher.encrypt(nonce, plaintext.encode(), _associated_data(tenant_id))
    return ".".join((TOKEN_VERSION, _b64(key.encrypted), _b64(nonce), _b64(ciphertext)))


def decrypt_field(tenant_id: str, token: str) -> str:
    """The plaintext of a token made by ``encrypt_field`` for the same tenant.

    Raises ``DecryptionFailed`` if the token is malformed, was altered, or belongs to another tenant, and
    ``DependencyUnavailable`` if KMS cannot be reached.
    """
    from cryptography.exceptions import InvalidTag

    parts = token.split(".")
    if len(parts) != 4 or parts[0] != TOKEN_VERSION:
        raise DecryptionFailed(detail=f"not a {TOKEN_VERSION} encrypted field")
    try:
        encrypted_key, nonce, ciphertext = (_unb64(part) for part in parts[1:])
    except binascii.Error as exc:
        raise DecryptionFailed(detail="the encrypted field is not valid base64url") from exc
    if len(nonce) != _NONCE_BYTES:
        raise DecryptionFailed(detail="the encrypted field has a malformed nonce")
    key = _KEYS.key_for_decryption(tenant_id, encrypted_key)
    if key is None:
        key = _decrypt_data_key(tenant_id, encrypted_key)
        _KEYS.add_for_decryption(tenant_id, key)
    try:
        plaintext = key.cipher.decrypt(nonce, ciphertext, _associated_data(tenant_id))
    except InvalidTag as exc:
        raise DecryptionFailed(detail="the encrypted field was altered or belongs to another tenant") from exc
    return plaintext.decode()


def lookup_hash(kind: str, value: str) -> str:
    """A keyed hash (HMAC-SHA256, hex) of ``value`` to find records by a value that is stored encrypted.

    ``kind`` names what the value is (``cpf``, ``cnpj``, ``phone``, ``email``: lowercase letters, digits, ``_``)
    and is part of the hashed message, so a CPF and a phone with the same digits hash differently. The caller
    normalises ``value`` first, the same way when storing and when searching: CPF/CNPJ as digits only, phones in
    E.164, emails lowercased and stripped. The key is a secret, so the hash cannot be reversed by hashing
    every possible CPF. Raises ``DependencyUnavailable`` if the key cannot be read.
    """
    if not _KIND.fullmatch(kind):
        raise ValueError(f"lookup hash kind must be lowercase letters, digits and _: {kind!r}")
    key = get_secret(secret_name(LOOKUP_HASH_KEY)).encode()
    # The kind cannot contain ":", so "kind:value" is unambiguous.
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
