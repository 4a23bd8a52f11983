"""Tenant ids that arrive from outside (a provider's metadata, a callback URL): checked before they are used; the
secrets a tenant's own provider account signs its webhooks with; and the tenant of an account connected through
BTRIX's shared app (``shared_app_tenant``: Bling, MelhorEnvio), whose webhooks name the account, not the tenant.

A webhook function reads the tenant's credentials (a GetItem and a KMS decrypt) for every delivery it verifies, so
each container keeps what it read for ``CREDENTIALS_TTL_S``. A secret the tenant changed meanwhile is not waited
for: ``verified_with`` checks the signature with the kept credentials and, if that fails, once more with a fresh
read, so a rotated secret works at once and a forged request costs one read more.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from time import monotonic
from typing import TypeVar

from chalicelib.core.errors import Unauthorized
from chalicelib.core.observability import emit_metric, logger
from chalicelib.core.resources import SecretDef, secret_name
from chalicelib.core.secrets import get_secret
from chalicelib.integrations import accounts
from chalicelib.integrations.credentials import Credentials, Provider
from chalicelib.integrations.service import find_credentials

__all__ = [
    "CREDENTIALS_TTL_S",
    "existing_tenant",
    "own_credentials",
    "shared_app_tenant",
    "signing_secret",
    "tenant_credentials",
    "tenant_id_or_none",
    "verified_with",
]

# The shape of the ids we hand out (ULIDs and the reserved "platform"): letters, digits, "_" and "-". Anything
# else (a "#" that would bend a key, a wildcard) is not one of ours.
_TENANT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CREDENTIALS_TTL_S = 30.0
_MAX_KEPT = 10_000
_kept: dict[tuple[str, Provider], tuple[float, Credentials | None]] = {}
_kept_lock = threading.Lock()
_tenants: dict[str, tuple[float, bool]] = {}
T = TypeVar("T")
C = TypeVar("C", bound=Credentials)


def tenant_id_or_none(value: object) -> str | None:
    """``value`` if it has the shape of a tenant id, else None."""
    if isinstance(value, str) and _TENANT_ID.fullmatch(value):
        return value
    return None


def existing_tenant(tenant_id: str) -> bool:
    """Whether a tenant with this id exists (as read at most ``CREDENTIALS_TTL_S`` ago in this container)."""
    from chalicelib.tenants.lookup import tenant_exists

    now = monotonic()
    kept = _tenants.get(tenant_id)
    if kept is not None and now - kept[0] < CREDENTIALS_TTL_S:
        return kept[1]
    found = tenant_exists(tenant_id)
    with _kept_lock:
        if len(_tenants) >= _MAX_KEPT:  # addresses of unverified mail name tenants too
            _tenants.clear()
        _tenants[tenant_id] = (now, found)
    return found


def tenant_credentials(tenant_id: str, provider: Provider, *, fresh: bool = False) -> Credentials | None:
    """The tenant's decrypted credentials for ``provider`` (None: not connected), as read at most
    ``CREDENTIALS_TTL_S`` ago in this container, or read now when ``fresh``."""
    now = monotonic()
    kept = None if fresh else _kept.get((tenant_id, provider))
    if kept is not None and now - kept[0] < CREDENTIALS_TTL_S:
        return kept[1]
    credentials = find_credentials(tenant_id, provider)
    with _kept_lock:
        if len(_kept) >= _MAX_KEPT:  # tenants named by unverified URLs are looked up too
            _kept.clear()
        _kept[(tenant_id, provider)] = (now, credentials)
    return credentials


def signing_secret(
    tenant_id: str | None, provider: Provider, kind: type[Credentials], platform: SecretDef, *, fresh: bool = False
) -> str:
    """The webhook signing secret of the tenant's own ``provider`` account (its integration's ``webhookSecret``, in
    the provider's schema ``kind``), else BTRIX's platform secret. A tenant named by an unsigned part of the request
    (the URL) is only trusted once the signature checks with its own secret. Passing ``kind`` makes the caller import
    its provider's credentials module: a webhook function's asset holds no other provider's."""
    credentials = tenant_credentials(tenant_id, provider, fresh=fresh) if tenant_id is not None else None
    own = getattr(credentials, "webhook_secret", None) if isinstance(credentials, kind) else None
    return str(own.get_secret_value()) if own is not None else get_secret(secret_name(platform))


def verified_with(check: Callable[[bool], T]) -> T:
    """``check(False)`` (verify with the credentials this container kept); if it refuses the signature,
    ``check(True)`` (with the tenant's credentials read again: they may have changed since)."""
    try:
        return check(False)
    except Unauthorized:
        return check(True)


def own_credentials(value: object, provider: Provider, kind: type[C], *, fresh: bool = False) -> tuple[str, C]:
    """The tenant a webhook URL names (``value``, its ``?tenant=``) and that tenant's own ``provider`` integration
    (kept per container unless ``fresh``), whose secret the webhook must be signed with. A provider BTRIX has no
    platform secret for: a URL naming no tenant connected to it is refused as a bad signature is (401), there is
    nothing to verify with."""
    tenant_id = tenant_id_or_none(value)
    credentials = tenant_credentials(tenant_id, provider, fresh=fresh) if tenant_id is not None else None
    if tenant_id is None or not isinstance(credentials, kind):
        detail = f"no {provider.value} integration is connected for this URL"
        raise Unauthorized(detail=detail, title="Invalid signature", code="invalid-signature")
    return tenant_id, credentials


def shared_app_tenant(provider: Provider, account_id: object) -> str | None:
    """The tenant that connected ``account_id`` (as a verified webhook of BTRIX's shared ``provider`` app names it)
    by consent, or None: logged and counted (``InboundWebhooksUnrouted`` per provider), for the function to answer
    200 so the provider stops retrying an account no tenant has (or has no more)."""
    found = accounts.tenant_of(provider, str(account_id)) if isinstance(account_id, (str, int)) and account_id else None
    if found is None:
        logger.warning("shared-app webhook of an account no tenant connected", extra={"provider": provider.value})
        emit_metric("InboundWebhooksUnrouted", "provider", provider.value)
    return found
