"""Auth items: refresh-token families and their tokens, invitations, one-time codes, the published signing keys.

Tokens and codes are stored only as hashes. A family lives in its user's partition (``SESSION#<family id>``);
a refresh token and an invitation are global routes (the token is presented before anyone knows the tenant);
a WhatsApp verification code sits in its user's partition (``OTP#WHATSAPP``). The public half of the access-token
signing keys (kid and point, nothing secret) is one platform item, ``PLATFORM#SIGNINGKEYS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Kind, PlatformItem, RouteKind
from chalicelib.core.db.store import (
    AlreadyExists,
    Table,
    WriteOp,
    condition_op,
    delete_op,
    put_op,
    set_op,
    update_op,
)
from chalicelib.core.db.table import ENTITY, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE

__all__ = [
    "Invitation",
    "OneTimeCode",
    "PublishedKey",
    "RefreshToken",
    "count_code_attempt",
    "delete_code_op",
    "delete_invitation_op",
    "family_alive_op",
    "get_code",
    "get_invitation",
    "get_published_keys",
    "get_refresh_token",
    "live_family_epoch",
    "new_family_op",
    "new_invitation_op",
    "new_refresh_token_op",
    "publish_keys",
    "published_keys_key",
    "put_code_op",
    "revoke_family_op",
    "use_refresh_token_op",
]

SESSION_ENTITY = "Session"
TOKEN_ENTITY = "RefreshToken"
INVITATION_ENTITY = "Invitation"
CODE_ENTITY = "OneTimeCode"
PUBLISHED_KEYS_ENTITY = "SigningKeys"
_WHATSAPP_CODE = "WHATSAPP"


@dataclass(frozen=True)
class RefreshToken:
    """A stored refresh token: whose family it belongs to, its version (above 1: used), its expiry (epoch s)."""

    tenant_id: str
    user_id: str
    family_id: str
    version: int
    expires_at: int


@dataclass(frozen=True)
class Invitation:
    """A stored invitation: the invited user, and when the link expires (epoch s)."""

    tenant_id: str
    user_id: str
    expires_at: int


@dataclass(frozen=True)
class OneTimeCode:
    """A stored verification code: its keyed hash, the number it was sent to, its expiry (epoch s)."""

    code_hash: str
    number: str
    expires_at: int


@dataclass(frozen=True)
class PublishedKey:
    """The public half of a signing key: its ``kid``, when it was made (ISO 8601) and its P-256 point (x, y: the
    JWK's base64url coordinates)."""

    kid: str
    created_at: str
    x: str
    y: str


def _token_key(token_hash: str) -> tuple[str, str]:
    return keys.route_pk(RouteKind.REFRESH_TOKEN, token_hash), keys.ROUTE_SK


def _family_key(tenant_id: str, user_id: str, family_id: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.USER, user_id), keys.child_sk(Child.SESSION, family_id)


def new_family_op(tenant_id: str, user_id: str, family_id: str, *, epoch: int, expires_at: int) -> WriteOp:
    """Start a family (a login) in the user's session ``epoch``: live until revoked, kept until ``expires_at``."""
    pk, sk = _family_key(tenant_id, user_id, family_id)
    return put_op(
        {
            PARTITION_KEY: pk,
            SORT_KEY: sk,
            ENTITY: SESSION_ENTITY,
            "familyId": family_id,
            "sessionEpoch": epoch,
            "revoked": False,
            "createdAt": clock.now_iso(),
            TTL_ATTRIBUTE: expires_at,
        }
    )


def new_refresh_token_op(token_hash: str, tenant_id: str, user_id: str, family_id: str, *, expires_at: int) -> WriteOp:
    """Store a new (unused) refresh token of a family."""
    pk, sk = _token_key(token_hash)
    return put_op(
        {
            PARTITION_KEY: pk,
            SORT_KEY: sk,
            ENTITY: TOKEN_ENTITY,
            "tenantId": tenant_id,
            "userId": user_id,
            "familyId": family_id,
            "version": 1,
            TTL_ATTRIBUTE: expires_at,
        }
    )


def get_refresh_token(token_hash: str) -> RefreshToken | None:
    """The refresh token with that hash, or None."""
    item = Table().get(*_token_key(token_hash), consistent=True)
    if item is None:
        return None
    return RefreshToken(
        str(item["tenantId"]),
        str(item["userId"]),
        str(item["familyId"]),
        int(item["version"]),
        int(item[TTL_ATTRIBUTE]),
    )


def live_family_epoch(tenant_id: str, user_id: str, family_id: str) -> int | None:
    """The session epoch the family started in, or None when it does not exist or was revoked."""
    item = Table().get(*_family_key(tenant_id, user_id, family_id), consistent=True)
    if item is None or item.get("revoked"):
        return None
    return int(item.get("sessionEpoch", 0))


def use_refresh_token_op(token_hash: str, version: int) -> WriteOp:
    """Mark the token used, only if it still is at ``version`` (another request did not use it first)."""
    return update_op(*_token_key(token_hash), {"usedAt": clock.now_iso()}, expected_version=version)


def family_alive_op(tenant_id: str, user_id: str, family_id: str) -> WriteOp:
    """The condition that the family has not been revoked."""
    return condition_op(*_family_key(tenant_id, user_id, family_id), Attr("revoked").eq(False))


def revoke_family_op(tenant_id: str, user_id: str, family_id: str) -> WriteOp:
    """End a family: none of its refresh tokens works any more."""
    return set_op(*_family_key(tenant_id, user_id, family_id), {"revoked": True, "revokedAt": clock.now_iso()})


def _invitation_key(token_hash: str) -> tuple[str, str]:
    return keys.route_pk(RouteKind.INVITE, token_hash), keys.ROUTE_SK


def new_invitation_op(token_hash: str, tenant_id: str, user_id: str, *, expires_at: int) -> WriteOp:
    """Store an invitation of a user (its link's token as a hash)."""
    pk, sk = _invitation_key(token_hash)
    return put_op(
        {
            PARTITION_KEY: pk,
            SORT_KEY: sk,
            ENTITY: INVITATION_ENTITY,
            "tenantId": tenant_id,
            "userId": user_id,
            TTL_ATTRIBUTE: expires_at,
        }
    )


def get_invitation(token_hash: str) -> Invitation | None:
    """The invitation with that token hash, or None."""
    item = Table().get(*_invitation_key(token_hash), consistent=True)
    if item is None:
        return None
    return Invitation(str(item["tenantId"]), str(item["userId"]), int(item[TTL_ATTRIBUTE]))


def delete_invitation_op(token_hash: str) -> WriteOp:
    """Use an invitation up."""
    return delete_op(*_invitation_key(token_hash))


def _code_key(tenant_id: str, user_id: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.USER, user_id), keys.child_sk(Child.ONE_TIME_CODE, _WHATSAPP_CODE)


def put_code_op(tenant_id: str, user_id: str, code: OneTimeCode) -> WriteOp:
    """Store the user's WhatsApp verification code, replacing an earlier one (its attempts start at 0)."""
    pk, sk = _code_key(tenant_id, user_id)
    item: dict[str, Any] = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: CODE_ENTITY,
        "codeHash": code.code_hash,
        "number": code.number,
        "attempts": 0,
        TTL_ATTRIBUTE: code.expires_at,
    }
    return put_op(item, must_not_exist=False)


def get_code(tenant_id: str, user_id: str) -> OneTimeCode | None:
    """The user's WhatsApp verification code, or None."""
    item = Table().get(*_code_key(tenant_id, user_id), consistent=True)
    if item is None:
        return None
    return OneTimeCode(str(item["codeHash"]), str(item.get("number", "")), int(item[TTL_ATTRIBUTE]))


def count_code_attempt(tenant_id: str, user_id: str) -> int:
    """Count one more try of the user's code; returns the tries so far."""
    return Table().increment(*_code_key(tenant_id, user_id), "attempts")


def delete_code_op(tenant_id: str, user_id: str) -> WriteOp:
    """Use the user's code up."""
    return delete_op(*_code_key(tenant_id, user_id))


def published_keys_key() -> tuple[str, str]:
    """The key of the published signing keys' item (for a read ahead with the caller's user and tenant)."""
    return keys.platform_item_key(PlatformItem.SIGNING_KEYS)


def get_published_keys() -> list[PublishedKey] | None:
    """The published public keys, newest first (from the request's read-ahead when it has them), or None while
    nothing has been published."""
    item = Table().get(*published_keys_key())
    if item is None:
        return None
    return [PublishedKey(str(k["kid"]), str(k["createdAt"]), str(k["x"]), str(k["y"])) for k in item["keys"]]


def publish_keys(published: list[PublishedKey], *, replace: bool = True) -> bool:
    """Write the public keys (newest first); with ``replace=False`` only while none are published (a set derived
    from a possibly stale copy of the secret never overwrites a newer one). Returns whether it wrote."""
    pk, sk = published_keys_key()
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: PUBLISHED_KEYS_ENTITY,
        "keys": [{"kid": k.kid, "createdAt": k.created_at, "x": k.x, "y": k.y} for k in published],
        "publishedAt": clock.now_iso(),
    }
    if replace:
        Table().put(item)
        return True
    try:
        Table().put_new(item)
    except AlreadyExists:
        return False
    return True
