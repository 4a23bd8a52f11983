"""OAuth access tokens of the integrations (Google Calendar): kept encrypted next to the integration, refreshed by
one worker for everyone, and the integration disconnected (its ADMINs told) when the refresh token is dead.

Single flight, as the Bitrix24 portals do it (``channels/tokens.py``): a worker that finds no token, or one within
``REFRESH_AHEAD`` of its expiry, or one the provider just refused (401), takes a lease on the token item with a
conditional write (same ``tokenVersion``, no live lease), refreshes, and stores the new token with ``tokenVersion
+ 1``. The others poll the item with consistent reads until the version moves (or the lease of a crashed worker
lapses and one of them takes over). Google keeps the refresh token across refreshes, so a second refresh would
not break anything; what single flight saves is a burst of refreshes (and Google's per-user token limits) when a
hundred sales are scheduled at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from boto3.dynamodb.conditions import Attr

from chalicelib.core import clock
from chalicelib.core.crypto import decrypt_field, encrypt_field
from chalicelib.core.db.store import Table, TransactionConflict
from chalicelib.core.ids import new_id
from chalicelib.core.observability import logger
from chalicelib.integrations import service, store
from chalicelib.integrations.google_calendar.oauth import TokenGrant, app_client, refresh_access_token
from chalicelib.integrations.http import Failure, ProviderError
from chalicelib.integrations.models import AccessTokenRecord, GoogleCalendarCredentials, Provider

__all__ = ["LEASE_S", "REFRESH_AHEAD", "google_access_token", "keep_grant", "with_google_token"]

T = TypeVar("T")

# A refresh is one HTTP call (the provider timeout bounds it): a lease this long outlives it, and a worker that
# died holding one blocks the others only this long.
LEASE_S = 30
_WAIT_S = LEASE_S + 5
_POLL_S = 0.1
_LEASE_FIELDS = ("leaseId", "leaseUntil")
REFRESH_AHEAD = timedelta(minutes=2)


def _fresh(record: AccessTokenRecord | None) -> bool:
    return record is not None and record.token_expires_at > clock.isoformat(clock.now() + REFRESH_AHEAD)


def keep_grant(tenant_id: str, provider: Provider, grant: TokenGrant, after: AccessTokenRecord | None) -> None:
    """Store ``grant``'s access token as the integration's current one (a new connection: whatever was there
    goes; its version moves on, so a refresh in flight for the old credentials cannot overwrite it)."""
    now = clock.now_iso()
    record = AccessTokenRecord(
        tenant_id=tenant_id,
        provider=provider,
        access_token_encrypted=encrypt_field(tenant_id, grant.access_token),
        token_expires_at=clock.isoformat(grant.expires_at),
        token_version=(after.token_version + 1) if after else 1,
        refreshed_at=now,
    )
    Table().transact([store.put_access_token_op(record)])


def _take_lease(tenant_id: str, seen: AccessTokenRecord | None) -> str | None:
    lease = new_id()
    now = clock.to_epoch(clock.now())
    if seen is None:
        # No token yet (connected by PUT, or the item expired away): the first worker creates it, leased.
        placeholder = AccessTokenRecord(
            tenant_id=tenant_id,
            provider=Provider.GOOGLE_CALENDAR,
            access_token_encrypted="",
            token_expires_at=clock.now_iso(),
            token_version=0,
            refreshed_at=clock.now_iso(),
            lease_id=lease,
            lease_until=now + LEASE_S,
        )
        try:
            Table().transact([store.put_access_token_op(placeholder, create=True)])
        except TransactionConflict:
            return None
        return lease
    free = Attr("leaseUntil").not_exists() | Attr("leaseUntil").lt(now)
    op = store.access_token_change_op(
        tenant_id,
        Provider.GOOGLE_CALENDAR,
        set_={"leaseId": lease, "leaseUntil": now + LEASE_S},
        condition=Attr("tokenVersion").eq(seen.token_version) & free,
    )
    try:
        Table().transact([op])
    except TransactionConflict:
        return None
    return lease


def _refresh_as_leader(
    tenant_id: str, credentials: GoogleCalendarCredentials, seen: AccessTokenRecord | None, lease: str
) -> AccessTokenRecord:
    try:
        grant = refresh_access_token(app_client(credentials), credentials.refresh_token.get_secret_value())
    except ProviderError as exc:
        _release(tenant_id, lease)  # the next worker to need a token may try again
        if exc.fatal:
            service.mark_disconnected(tenant_id, Provider.GOOGLE_CALENDAR, f"Google refused the refresh token: {exc}")
        raise
    version = (seen.token_version if seen else 0) + 1
    moment = clock.now()
    fresh = AccessTokenRecord(
        tenant_id=tenant_id,
        provider=Provider.GOOGLE_CALENDAR,
        access_token_encrypted=encrypt_field(tenant_id, grant.access_token),
        token_expires_at=clock.isoformat(grant.expires_at),
        token_version=version,
        refreshed_at=clock.isoformat(moment),
    )
    op = store.access_token_change_op(
        tenant_id,
        Provider.GOOGLE_CALENDAR,
        set_={
            "accessTokenEncrypted": fresh.access_token_encrypted,
            "tokenExpiresAt": fresh.token_expires_at,
            "tokenVersion": version,
            "refreshedAt": fresh.refreshed_at,
        },
        remove=_LEASE_FIELDS,
        condition=Attr("leaseId").eq(lease),
    )
    try:
        Table().transact([op])
    except TransactionConflict:
        # Reconnected meanwhile (the item was replaced): this token still works for this call.
        logger.info("refreshed google token not kept: the integration was reconnected", extra={"tenant": tenant_id})
    service.record_sync(tenant_id, Provider.GOOGLE_CALENDAR, "refresh_token", ok=True, detail="access token refreshed")
    return fresh


def _release(tenant_id: str, lease: str) -> None:
    op = store.access_token_change_op(
        tenant_id, Provider.GOOGLE_CALENDAR, remove=_LEASE_FIELDS, condition=Attr("leaseId").eq(lease)
    )
    try:
        Table().transact([op])
    except TransactionConflict:
        logger.info("google token lease was gone on release", extra={"tenant": tenant_id})


def _token(
    tenant_id: str, credentials: GoogleCalendarCredentials, refused: AccessTokenRecord | None
) -> AccessTokenRecord:
    """A usable token: the stored one if fresh (and not the one just ``refused``), else one refreshed by us or by
    another worker meanwhile."""
    deadline = time.monotonic() + _WAIT_S
    while True:
        current = store.get_access_token(tenant_id, Provider.GOOGLE_CALENDAR)
        stale = refused is not None and current is not None and current.token_version == refused.token_version
        if current is not None and current.access_token_encrypted and _fresh(current) and not stale:
            return current
        lease = _take_lease(tenant_id, current)
        if lease is not None:
            return _refresh_as_leader(tenant_id, credentials, current, lease)
        if time.monotonic() > deadline:
            detail = "another worker's Google token refresh did not finish in time"
            raise ProviderError(detail, failure=Failure.RETRYABLE)
        time.sleep(_POLL_S * (0.5 + random.random()))  # noqa: S311 - jitter, not security


def google_access_token(tenant_id: str) -> tuple[GoogleCalendarCredentials, AccessTokenRecord]:
    """The tenant's Google Calendar credentials and a usable access token (``IntegrationNotConnected`` without a
    connected integration)."""
    credentials = service.load_credentials(tenant_id, Provider.GOOGLE_CALENDAR)
    assert isinstance(credentials, GoogleCalendarCredentials)
    return credentials, _token(tenant_id, credentials, None)


def with_google_token(tenant_id: str, call: Callable[[GoogleCalendarCredentials, str], T]) -> T:
    """Run ``call(credentials, access token)``; if Google refuses the token (401), refresh it once (single flight)
    and call again. A refresh Google refuses disconnects the integration (a ``fatal`` ``ProviderError``)."""
    credentials, record = google_access_token(tenant_id)
    try:
        return call(credentials, decrypt_field(tenant_id, record.access_token_encrypted))
    except ProviderError as exc:
        if exc.status != 401:
            raise
    fresh = _token(tenant_id, credentials, record)
    return call(credentials, decrypt_field(tenant_id, fresh.access_token_encrypted))
