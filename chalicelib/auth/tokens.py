"""Access tokens: short-lived ES256 JWTs with a ``kid``, verifiable by anyone through the JWKS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from chalicelib.access.permissions import Module, Role
from chalicelib.auth import jws, keys
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Unauthorized
from chalicelib.core.ids import new_id

__all__ = ["AccessClaims", "claimed_principal", "issue_access_token", "jwks", "reads_to_verify", "verify_access_token"]

_ALGORITHM = "ES256"
_REQUIRED = ("exp", "iat", "sub", "jti", "iss", "aud")


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says."""

    user_id: str
    tenant_id: str
    role: Role
    modules: tuple[Module, ...]
    session_id: str
    token_id: str
    session_epoch: int = 0


def issue_access_token(
    *, user_id: str, tenant_id: str, role: Role, modules: list[Module], session_id: str, session_epoch: int
) -> tuple[str, int]:
    """A signed access token for the user and its lifetime in seconds."""
    import jwt

    settings = get_settings()
    key = keys.signing_key()
    issued = clock.now()
    lifetime = settings.access_token_ttl_s
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": user_id,
        "tenantId": tenant_id,
        "role": role.value,
        "modules": sorted(m.value for m in modules),
        "sid": session_id,
        "sep": session_epoch,
        "jti": new_id(issued),
        "iat": clock.to_epoch(issued),
        "exp": clock.to_epoch(issued + timedelta(seconds=lifetime)),
    }
    return jwt.encode(claims, key.private_key, algorithm=_ALGORITHM, headers={"kid": key.kid}), lifetime


def reads_to_verify(token: str) -> list[tuple[str, str]]:
    """The items verifying ``token`` needs read first (the published keys, when this container must read them),
    so that a caller can read them in one BatchGetItem with others; nothing when the token is malformed."""
    try:
        kid = jws.header_of(token).get("kid")
    except jws.MalformedToken:
        return []
    return keys.reads_to_verify(kid if isinstance(kid, str) else None)


def claimed_principal(token: str) -> tuple[str, str] | None:
    """The (tenant id, user id) a token names, NOT verified: only to read them ahead with its keys, before
    ``verify_access_token`` says whether to believe it; None when it names none."""
    try:
        claims = jws.unverified_payload(token)
    except jws.MalformedToken:
        return None
    tenant_id, user_id = claims.get("tenantId"), claims.get("sub")
    return (tenant_id, user_id) if isinstance(tenant_id, str) and isinstance(user_id, str) else None


def verify_access_token(token: str, *, allow_expired: bool = False) -> AccessClaims:
    """The claims of a valid token; ``Unauthorized`` when it is expired (unless ``allow_expired``: ending a session
    needs only proof of which one), tampered, of an unknown key or alg. Verified by ``auth.jws`` (not PyJWT: every
    guarded request, and a new container's first, comes here)."""
    settings = get_settings()
    try:
        header = jws.header_of(token)
    except jws.MalformedToken as exc:
        raise Unauthorized(detail="the access token is malformed") from exc
    kid = header.get("kid")
    key = keys.verification_key(kid) if isinstance(kid, str) and header.get("alg") == _ALGORITHM else None
    if key is None:
        raise Unauthorized(detail="the access token was not signed by this service")
    try:
        claims = jws.verified_payload(token, key)
    except (jws.MalformedToken, jws.BadSignature) as exc:
        raise Unauthorized(detail="the access token is not valid") from exc
    if not _meant_for_us(claims, issuer=settings.jwt_issuer, audience=settings.jwt_audience):
        raise Unauthorized(detail="the access token is not valid")
    now = clock.to_epoch(clock.now())
    if not isinstance(claims["exp"], int) or (claims["exp"] <= now and not allow_expired):
        raise Unauthorized(detail="the access token has expired; refresh it")
    # We never sign one with "nbf"; a token that has one is honoured as PyJWT did (an integer, not in the future).
    if "nbf" in claims and (not isinstance(claims["nbf"], int) or claims["nbf"] > now):
        raise Unauthorized(detail="the access token is not valid yet")
    try:
        return AccessClaims(
            user_id=str(claims["sub"]),
            tenant_id=str(claims["tenantId"]),
            role=Role(claims["role"]),
            modules=tuple(Module(m) for m in claims.get("modules", [])),
            session_id=str(claims.get("sid", "")),
            token_id=str(claims["jti"]),
            session_epoch=int(claims.get("sep", 0)),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise Unauthorized(detail="the access token lacks required claims") from exc


def _meant_for_us(claims: dict[str, Any], *, issuer: str, audience: str) -> bool:
    """The registered claims every access token carries, issued by us for this API (times are checked by the caller,
    against our clock: it is injectable)."""
    if any(name not in claims for name in _REQUIRED):
        return False
    granted = claims["aud"]
    audiences = [granted] if isinstance(granted, str) else granted
    return (
        claims["iss"] == issuer
        and isinstance(audiences, list)
        and audience in audiences
        and all(isinstance(claims[name], str) for name in ("sub", "jti"))
    )


def jwks() -> dict[str, Any]:
    """The public keys (RFC 7517 key set) that verify our access tokens: the published ones."""
    return {
        "keys": [
            {"kty": "EC", "crv": "P-256", "x": k.x, "y": k.y, "kid": k.kid, "use": "sig", "alg": _ALGORITHM}
            for k in keys.published_keys()
        ]
    }
