"""OAuth access tokens of the integrations (Google Calendar, MelhorEnvio): kept encrypted next to the integration,
refreshed by one worker for everyone, and the integration disconnected (its ADMINs told) when the refresh token is
dead.

Single flight, as the Bitrix24 portals do it (``channels/tokens.py``): a worker that finds no token, or one within
``REFRESH_AHEAD`` of its expiry, or one the provider just refused (401), takes a lease on the token item with a
conditional write (same ``tokenVersion``, no live lease), refreshes, and stores the new token with ``tokenVersion
+ 1``. The others poll the item with consistent reads until the version moves (or the lease of a crashed worker
lapses and one of them takes over).

Each provider is a ``TokenSource``: how to refresh, and whether its refresh tokens rotate. Google keeps the refresh
token across refreshes (a second refresh would not break anything; single flight saves a burst of refreshes when a
hundred sales are scheduled at once). Providers whose refresh token rotates on every use (MelhorEnvio, Bling) would
break on a second concurrent refresh (the first one used the token up: ``invalid_grant``), so single flight is what
keeps them connected; the rotated refresh token is kept, encrypted, on the token item and wins over the one in the
credentials until the credentials are replaced (``service.store_credentials`` forgets the token item).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from boto3.dynamodb.conditions import Attr

from chalicelib.core import clock
from chalicelib.core.crypto import decrypt_field, encrypt_field
from chalicelib.core.db.store import Table, TransactionConflict
from chalicelib.core.ids import new_id
from chalicelib.core.observability import logger
from chalicelib.integrations import service, store
from chalicelib.integrations.credentials import Credentials, Provider
from chalicelib.integrations.google_calendar.credentials import GoogleCalendarCredentials
from chalicelib.integrations.google_calendar.oauth import app_client, refresh_access_token
from chalicelib.integrations.http import Failure, ProviderError, TokenGrant
from chalicelib.integrations.models import AccessTokenRecord

__all__ = [
    "GOOGLE",
    "LEASE_S",
    "REFRESH_AHEAD",
    "TokenSource",
    "access_token",
    "google_access_token",
    "keep_grant",
    "renew",
    "with_access_token",
    "with_google_token",
]

T = TypeVar("T")

# A refresh is one HTTP call (the provider timeout bounds it): a lease this long outlives it, and a worker that
# died holding one blocks the others only this long.
LEASE_S = 30
_WAIT_S = LEASE_S + 5
_POLL_S = 0.1
_LEASE_FIELDS = ("leaseId", "leaseUntil")
REFRESH_AHEAD = timedelta(minutes=2)


@dataclass(frozen=True)
class TokenSource:
    """How one provider's access tokens are refreshed: ``refresh(credentials, refresh token)`` → a grant (a
    ``fatal`` ``ProviderError`` when the refresh token is dead); ``refresh_token(credentials)`` is the one the
    credentials hold; ``rotates``: a grant's new refresh token replaces the old one (kept on the token item);
    ``initial(credentials)``: an access token the credentials came with, used before any refresh (a refresh would
    spend a rotating refresh token for nothing)."""

    provider: Provider
    name: str
    refresh: Callable[[Any, str], TokenGrant]
    refresh_token: Callable[[Any], str]
    rotates: bool = False
    initial: Callable[[Any], TokenGrant | None] | None = None


GOOGLE = TokenSource(
    Provider.GOOGLE_CALENDAR,
    "Google",
    lambda credentials, token: refresh_access_token(app_client(credentials), token),
    lambda credentials: credentials.refresh_token.get_secret_value(),
)


def _fresh(record: AccessTokenRecord | None) -> bool:
    return record is not None and record.token_expires_at > clock.isoformat(clock.now() + REFRESH_AHEAD)


def keep_grant(tenant_id: str, provider: Provider, grant: TokenGrant, after: AccessTokenRecord | None) -> None:
    """Store ``grant``'s access token (and its refresh token, for a provider whose tokens rotate) as the
    integration's current one (a new connection: whatever was there goes; its version moves on, so a refresh in
    flight for the old credentials cannot overwrite it)."""
    now = clock.now_iso()
    record = AccessTokenRecord(
        tenant_id=tenant_id,
        provider=provider,
        access_token_encrypted=encrypt_field(tenant_id, grant.access_token),
        token_expires_at=clock.isoformat(grant.expires_at),
        token_version=(after.token_version + 1) if after else 1,
        refreshed_at=now,
        refresh_token_encrypted=encrypt_field(tenant_id, grant.refresh_token) if grant.refresh_token else None,
    )
    Table().transact([store.put_access_token_op(record)])


def _take_lease(tenant_id: str, provider: Provider, seen: AccessTokenRecord | None) -> str | None:
    lease = new_id()
    now = clock.to_epoch(clock.now())
    if seen is None:
        # No token yet (connected by PUT, or the item expired away): the first worker creates it, leased.
        unrefreshed = AccessTokenRecord(
            tenant_id=tenant_id,
            provider=provider,
            access_token_encrypted="",
            token_expires_at=clock.now_iso(),
            token_version=0,
            refreshed_at=clock.now_iso(),
            lease_id=lease,
            lease_until=now + LEASE_S,
        )
        try:
            Table().transact([store.put_access_token_op(unrefreshed, create=True)])
        except TransactionConflict:
            return None
        return lease
    free = Attr("leaseUntil").not_exists() | Attr("leaseUntil").lt(now)
    op = store.access_token_change_op(
        tenant_id,
        provider,
        set_={"leaseId": lease, "leaseUntil": now + LEASE_S},
        condition=Attr("tokenVersion").eq(seen.token_version) & free,
    )
    try:
        Table().transact([op])
    except TransactionConflict:
        return None
    return lease


def _refresh_token(
    tenant_id: str, source: TokenSource, credentials: Credentials, seen: AccessTokenRecord | None
) -> str:
    if source.rotates and seen is not None and seen.refresh_token_encrypted:
        return decrypt_field(tenant_id, seen.refresh_token_encrypted)
    return source.refresh_token(credentials)


def _refresh_as_leader(
    tenant_id: str, source: TokenSource, credentials: Credentials, seen: AccessTokenRecord | None, lease: str
) -> AccessTokenRecord:
    provider = source.provider
    try:
        grant = source.refresh(credentials, _refresh_token(tenant_id, source, credentials, seen))
    except ProviderError as exc:
        _release(tenant_id, provider, lease)  # the next worker to need a token may try again
        if exc.fatal:
            service.mark_disconnected(tenant_id, provider, f"{source.name} refused the refresh token: {exc}")
        raise
    version = (seen.token_version if seen else 0) + 1
    moment = clock.now()
    rotated = encrypt_field(tenant_id, grant.refresh_token) if source.rotates and grant.refresh_token else None
    fresh = AccessTokenRecord(
        tenant_id=tenant_id,
        provider=provider,
        access_token_encrypted=encrypt_field(tenant_id, grant.access_token),
        token_expires_at=clock.isoformat(grant.expires_at),
        token_version=version,
        refreshed_at=clock.isoformat(moment),
        refresh_token_encrypted=rotated or (seen.refresh_token_encrypted if seen else None),
    )
    changes: dict[str, Any] = {
        "accessTokenEncrypted": fresh.access_token_encrypted,
        "tokenExpiresAt": fresh.token_expires_at,
        "tokenVersion": version,
        "refreshedAt": fresh.refreshed_at,
    }
    if rotated:
        changes["refreshTokenEncrypted"] = rotated
    op = store.access_token_change_op(
        tenant_id, provider, set_=changes, remove=_LEASE_FIELDS, condition=Attr("leaseId").eq(lease)
    )
    try:
        Table().transact([op])
    except TransactionConflict:
        # Reconnected meanwhile (the item was replaced): this token still works for this call.
        logger.info("refreshed token not kept: the integration was reconnected", extra={"provider": provider.value})
    service.record_sync(tenant_id, provider, "refresh_token", ok=True, detail="access token refreshed")
    return fresh


def _release(tenant_id: str, provider: Provider, lease: str) -> None:
    op = store.access_token_change_op(tenant_id, provider, remove=_LEASE_FIELDS, condition=Attr("leaseId").eq(lease))
    try:
        Table().transact([op])
    except TransactionConflict:
        logger.info("token lease was gone on release", extra={"provider": provider.value})


def _token(
    tenant_id: str, source: TokenSource, credentials: Credentials, refused: AccessTokenRecord | None
) -> AccessTokenRecord:
    """A usable token: the stored one if fresh (and not the one just ``refused``), else one refreshed by us or by
    another worker meanwhile."""
    deadline = time.monotonic() + _WAIT_S
    while True:
        current = store.get_access_token(tenant_id, source.provider)
        stale = refused is not None and current is not None and current.token_version == refused.token_version
        if current is not None and current.access_token_encrypted and _fresh(current) and not stale:
            return current
        lease = _take_lease(tenant_id, source.provider, current)
        if lease is not None:
            return _refresh_as_leader(tenant_id, source, credentials, current, lease)
        if time.monotonic() > deadline:
            detail = f"another worker's {source.name} token refresh did not finish in time"
            raise ProviderError(detail, failure=Failure.RETRYABLE)
        time.sleep(_POLL_S * (0.5 + random.random()))  # noqa: S311 - jitter, not security


def access_token(tenant_id: str, source: TokenSource) -> tuple[Credentials, AccessTokenRecord]:
    """The tenant's credentials for ``source``'s provider and a usable access token (``IntegrationNotConnected``
    without a connected integration)."""
    credentials = service.load_credentials(tenant_id, source.provider)
    if source.initial is not None and store.get_access_token(tenant_id, source.provider) is None:
        grant = source.initial(credentials)
        if grant is not None:
            _keep_initial(tenant_id, source.provider, grant)
    return credentials, _token(tenant_id, source, credentials, None)


def _keep_initial(tenant_id: str, provider: Provider, grant: TokenGrant) -> None:
    now = clock.now_iso()
    record = AccessTokenRecord(
        tenant_id=tenant_id,
        provider=provider,
        access_token_encrypted=encrypt_field(tenant_id, grant.access_token),
        token_expires_at=clock.isoformat(grant.expires_at),
        token_version=1,
        refreshed_at=now,
    )
    try:
        Table().transact([store.put_access_token_op(record, create=True)])
    except TransactionConflict:
        return  # another worker kept one first


def renew(
    tenant_id: str, source: TokenSource, credentials: Credentials, refused: AccessTokenRecord
) -> AccessTokenRecord:
    """A token other than ``refused`` (which the provider just answered 401 to): refreshed by us, single flight, or
    by another worker meanwhile (a client that holds a token across several calls: Bling)."""
    return _token(tenant_id, source, credentials, refused)


def with_access_token(tenant_id: str, source: TokenSource, call: Callable[[Any, str], T]) -> T:
    """Run ``call(credentials, access token)``; if the provider refuses the token (401, or an ``expired``
    failure), refresh it once (single flight) and call again. A refresh the provider refuses disconnects the
    integration (a ``fatal`` ``ProviderError``)."""
    credentials, record = access_token(tenant_id, source)
    try:
        return call(credentials, decrypt_field(tenant_id, record.access_token_encrypted))
    except ProviderError as exc:
        if exc.status != 401 and not exc.expired:
            raise
    fresh = _token(tenant_id, source, credentials, record)
    return call(credentials, decrypt_field(tenant_id, fresh.access_token_encrypted))


def google_access_token(tenant_id: str) -> tuple[GoogleCalendarCredentials, AccessTokenRecord]:
    """The tenant's Google Calendar credentials and a usable access token (``IntegrationNotConnected`` without a
    connected integration)."""
    credentials, record = access_token(tenant_id, GOOGLE)
    assert isinstance(credentials, GoogleCalendarCredentials)
    return credentials, record


def with_google_token(tenant_id: str, call: Callable[[GoogleCalendarCredentials, str], T]) -> T:
    """``with_access_token`` for Google Calendar."""
    return with_access_token(tenant_id, GOOGLE, call)
