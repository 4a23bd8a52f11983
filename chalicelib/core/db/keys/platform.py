"""Keys outside every tenant, read with the platform's own credentials: global lookups (``ROUTE#…``: a phone-number
id, a login, a provider account → tenant), the platform's lists across tenants and single items (the published
signing keys), brute-force counters, inbound webhook receipts and the global marketplace index.
"""

from __future__ import annotations

from chalicelib.core.db.keys.names import (
    META_SK,
    SEP,
    InvalidKey,
    Kind,
    MarketSegment,
    PlatformItem,
    RouteKind,
    part,
    split,
)

__all__ = [
    "allowed_origin_key",
    "connected_tenants_pk",
    "inbound_receipts_pk",
    "market_pk",
    "parse_allowed_origin_key",
    "parse_connected_tenants_pk",
    "parse_inbound_receipts_pk",
    "parse_market_pk",
    "parse_platform_collection_pk",
    "parse_platform_item_key",
    "parse_provider_account_pk",
    "parse_rate_limit_pk",
    "parse_route_pk",
    "platform_collection_pk",
    "platform_item_key",
    "provider_account_pk",
    "rate_limit_pk",
    "route_pk",
]

_ROUTE = "ROUTE"
_PLATFORM = "PLATFORM"
_RATE = "RATE"
_INBOUND = "INBOUND"
_MARKET = "MARKET"
_CONNECTED = "CONNECTED"


def route_pk(kind: RouteKind, value: str) -> str:
    """``ROUTE#<KIND>#<value>``: a global lookup item, outside every tenant."""
    return f"{_ROUTE}{SEP}{kind.value}{SEP}{part(value, 'route value')}"


def parse_route_pk(key: str) -> tuple[RouteKind, str]:
    """Inverse of ``route_pk``: (kind, value)."""
    parts = split(key, 3, "route")
    if parts[0] != _ROUTE:
        raise InvalidKey(f"not a route key: {key!r}")
    try:
        return RouteKind(parts[1]), parts[2]
    except ValueError as exc:
        raise InvalidKey(f"unknown route kind in {key!r}") from exc


def provider_account_pk(provider: str, account_id: str) -> str:
    """``ROUTE#ACCOUNT#<provider>#<account id>``: the tenant that connected this provider account (a Bling company,
    a MelhorEnvio user) through BTRIX's shared app, whose webhooks name the account, not the tenant."""
    account = part(account_id, "account id")
    return f"{_ROUTE}{SEP}{RouteKind.PROVIDER_ACCOUNT.value}{SEP}{part(provider, 'provider')}{SEP}{account}"


def parse_provider_account_pk(key: str) -> tuple[str, str]:
    """Inverse of ``provider_account_pk``: (provider, account id)."""
    parts = split(key, 4, "provider account")
    if parts[0] != _ROUTE or parts[1] != RouteKind.PROVIDER_ACCOUNT.value:
        raise InvalidKey(f"not a provider account key: {key!r}")
    return parts[2], parts[3]


def allowed_origin_key(origin: str, tenant_id: str) -> tuple[str, str]:
    """(``ROUTE#ORIGIN#<origin>``, ``TENANT#<t>``): one tenant allows browsers at ``origin`` (several may)."""
    return route_pk(RouteKind.ALLOWED_ORIGIN, origin), f"{Kind.TENANT.value}{SEP}{part(tenant_id, 'tenant id')}"


def parse_allowed_origin_key(pk: str, sk: str) -> tuple[str, str]:
    """Inverse of ``allowed_origin_key``: (origin, tenant id)."""
    kind, origin = parse_route_pk(pk)
    parts = split(sk, 2, "allowed origin")
    if kind is not RouteKind.ALLOWED_ORIGIN or parts[0] != Kind.TENANT.value:
        raise InvalidKey(f"not an allowed-origin key: {pk!r}, {sk!r}")
    return origin, parts[1]


def platform_collection_pk(collection: str) -> str:
    """``PLATFORM#<COLLECTION>``: a list across tenants, for the platform operator (``TENANTS``)."""
    return f"{_PLATFORM}{SEP}{part(collection, 'collection')}"


def parse_platform_collection_pk(key: str) -> str:
    """Inverse of ``platform_collection_pk``: the collection."""
    parts = split(key, 2, "platform collection")
    if parts[0] != _PLATFORM:
        raise InvalidKey(f"not a platform key: {key!r}")
    return parts[1]


def platform_item_key(item: PlatformItem) -> tuple[str, str]:
    """``PLATFORM#<ITEM>`` / ``META``: one item of the platform (the published signing keys), read with the
    platform's own credentials."""
    return f"{_PLATFORM}{SEP}{part(item, 'platform item')}", META_SK


def parse_platform_item_key(pk: str, sk: str) -> PlatformItem:
    """Inverse of ``platform_item_key``: which item."""
    parts = split(pk, 2, "platform item")
    if parts[0] != _PLATFORM or sk != META_SK or parts[1] not in {i.value for i in PlatformItem}:
        raise InvalidKey(f"not a platform item key: {pk!r}, {sk!r}")
    return PlatformItem(parts[1])


def rate_limit_pk(scope: str, subject_hash: str) -> str:
    """``RATE#<scope>#<subject hash>``: attempts of one subject (an identifier, an IP) at one thing."""
    return f"{_RATE}{SEP}{part(scope, 'scope')}{SEP}{part(subject_hash, 'subject')}"


def parse_rate_limit_pk(key: str) -> tuple[str, str]:
    """Inverse of ``rate_limit_pk``: (scope, subject hash)."""
    parts = split(key, 3, "rate limit")
    if parts[0] != _RATE:
        raise InvalidKey(f"not a rate-limit key: {key!r}")
    return parts[1], parts[2]


def inbound_receipts_pk(provider: str, shard: int) -> str:
    """``INBOUND#<provider>#<shard>``: where incoming webhooks of a provider are recorded once (Powertools
    idempotency items; the sort key is Powertools' ``<provider>#<hash>``). Outside every tenant: the record is
    made before, or without, knowing the tenant. Sharded so one busy provider is not one hot partition."""
    if shard < 0:
        raise InvalidKey(f"a shard is a non-negative number: {shard}")
    return f"{_INBOUND}{SEP}{part(provider, 'provider')}{SEP}{shard}"


def parse_inbound_receipts_pk(key: str) -> tuple[str, int]:
    """Inverse of ``inbound_receipts_pk``: (provider, shard)."""
    parts = split(key, 3, "inbound receipts")
    if parts[0] != _INBOUND or not parts[2].isdigit():
        raise InvalidKey(f"not an inbound receipts key: {key!r}")
    return parts[1], int(parts[2])


def connected_tenants_pk(provider: str) -> str:
    """``PLATFORM#CONNECTED#<provider>``: the tenants connected to a provider (a schedule's fan-out list), outside
    every tenant like the platform's other lists."""
    return f"{_PLATFORM}{SEP}{_CONNECTED}{SEP}{part(provider, 'provider')}"


def parse_connected_tenants_pk(key: str) -> str:
    """Inverse of ``connected_tenants_pk``: the provider."""
    parts = split(key, 3, "connected tenants")
    if parts[0] != _PLATFORM or parts[1] != _CONNECTED:
        raise InvalidKey(f"not a connected-tenants key: {key!r}")
    return parts[2]


def market_pk(segment: MarketSegment, *values: str) -> str:
    """``MARKET#<SEGMENT>[#<value>…]``: the global marketplace index (listings, their facets, the operator's
    categories and brands), outside every tenant by design: buyers of any tenant read it."""
    tail = "".join(f"{SEP}{part(value, 'market key part')}" for value in values)
    return f"{_MARKET}{SEP}{segment.value}{tail}"


def parse_market_pk(key: str) -> tuple[MarketSegment, tuple[str, ...]]:
    """Inverse of ``market_pk``: (segment, the values after it)."""
    parts = key.split(SEP)
    if len(parts) < 2 or parts[0] != _MARKET or not all(parts):
        raise InvalidKey(f"not a marketplace key: {key!r}")
    try:
        return MarketSegment(parts[1]), tuple(parts[2:])
    except ValueError as exc:
        raise InvalidKey(f"unknown marketplace segment in {key!r}") from exc
