"""Keys of a tenant's partitions: every one starts ``T#<tenantId>#`` (``tenant_prefix``), which is what lets IAM
scope a tenant's credentials with ``dynamodb:LeadingKeys`` — an entity, a collection and its facets, a unique
claim, an outbox event, an idempotent response, a room of live connections, a WhatsApp number's window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.core.db.keys.names import SEP, Collection, InvalidKey, Kind, part, split

__all__ = [
    "EntityRef",
    "SingleIdKey",
    "collection_pk",
    "entity_pk",
    "event_pk",
    "facet_pk",
    "facets_pk",
    "idempotency_pk",
    "parse_collection_pk",
    "parse_entity_pk",
    "parse_event_pk",
    "parse_facet_pk",
    "parse_facets_pk",
    "parse_idempotency_pk",
    "parse_room_pk",
    "parse_unique_pk",
    "parse_whatsapp_window_pk",
    "room_pk",
    "tenant_prefix",
    "unique_pk",
    "whatsapp_window_pk",
]

_TENANT = "T"
_UNIQUE = "UNIQUE"


@dataclass(frozen=True)
class EntityRef:
    """A parsed entity partition key."""

    tenant_id: str
    kind: Kind
    entity_id: str


def tenant_prefix(tenant_id: str) -> str:
    """``T#<tenantId>#``: the prefix every key of the tenant starts with (IAM LeadingKeys)."""
    return f"{_TENANT}{SEP}{part(tenant_id, 'tenant id')}{SEP}"


def _tenant_of(parts: list[str], key: str) -> str:
    if parts[0] != _TENANT:
        raise InvalidKey(f"not a tenant key: {key!r}")
    return parts[1]


@dataclass(frozen=True)
class SingleIdKey:
    """``T#<t>#<SEGMENT>#<id>``: a tenant's partition named by a fixed segment and one id. ``label`` names the id
    when a builder refuses it, ``what`` names the key when a parser refuses one of another shape."""

    segment: str
    label: str
    what: str

    def pk(self, tenant_id: str, value: str) -> str:
        """The partition key of ``value`` in the tenant."""
        return f"{tenant_prefix(tenant_id)}{self.segment}{SEP}{part(value, self.label)}"

    def parse(self, key: str) -> tuple[str, str]:
        """Inverse of ``pk``: (tenant id, the id)."""
        parts = split(key, 4, self.what)
        if parts[2] != self.segment:
            article = "an" if self.what[0] in "aeiou" else "a"
            raise InvalidKey(f"not {article} {self.what} key: {key!r}")
        return _tenant_of(parts, key), parts[3]


# A domain event waiting for the outbox publisher.
_EVENT = SingleIdKey("EVENT", "event id", "event")
# The live-update connections listening to a room (the tenant's, a user's).
_ROOM = SingleIdKey("ROOM", "room", "room")
# The recorded response of a create sent with an Idempotency-Key, by the key's hash.
_IDEMPOTENCY = SingleIdKey("IDEMPOTENCY", "key hash", "idempotency")
# When a WhatsApp number, by its hash, last wrote to the tenant (the 24-hour window).
_WHATSAPP_WINDOW = SingleIdKey("WAWINDOW", "phone hash", "whatsapp window")

event_pk = _EVENT.pk
parse_event_pk = _EVENT.parse
room_pk = _ROOM.pk
parse_room_pk = _ROOM.parse
idempotency_pk = _IDEMPOTENCY.pk
parse_idempotency_pk = _IDEMPOTENCY.parse
whatsapp_window_pk = _WHATSAPP_WINDOW.pk
parse_whatsapp_window_pk = _WHATSAPP_WINDOW.parse


def entity_pk(tenant_id: str, kind: Kind, entity_id: str) -> str:
    """``T#<t>#<KIND>#<id>``: the partition of one entity."""
    return f"{tenant_prefix(tenant_id)}{kind.value}{SEP}{part(entity_id, 'entity id')}"


def parse_entity_pk(key: str) -> EntityRef:
    """Inverse of ``entity_pk``."""
    parts = split(key, 4, "entity")
    try:
        kind = Kind(parts[2])
    except ValueError as exc:
        raise InvalidKey(f"unknown entity kind in {key!r}") from exc
    return EntityRef(_tenant_of(parts, key), kind, parts[3])


def collection_pk(tenant_id: str, collection: Collection, value: str | None = None) -> str:
    """``T#<t>#<COLLECTION>`` or, narrowed by a field value, ``T#<t>#<COLLECTION>#<value>``."""
    base = f"{tenant_prefix(tenant_id)}{collection.value}"
    return base if value is None else f"{base}{SEP}{part(value, 'collection value')}"


def parse_collection_pk(key: str) -> tuple[str, Collection, str | None]:
    """Inverse of ``collection_pk``: (tenant id, collection, value or None)."""
    parts = key.split(SEP)
    if len(parts) not in (3, 4) or not all(parts):
        raise InvalidKey(f"not a collection key: {key!r}")
    try:
        collection = Collection(parts[2])
    except ValueError as exc:
        raise InvalidKey(f"unknown collection in {key!r}") from exc
    return _tenant_of(parts, key), collection, parts[3] if len(parts) == 4 else None


def unique_pk(tenant_id: str, field: str, value: str) -> str:
    """``T#<t>#UNIQUE#<FIELD>#<value>``: claims a value that must be unique in the tenant."""
    return f"{tenant_prefix(tenant_id)}{_UNIQUE}{SEP}{part(field, 'field')}{SEP}{part(value, 'value')}"


def parse_unique_pk(key: str) -> tuple[str, str, str]:
    """Inverse of ``unique_pk``: (tenant id, field, value)."""
    parts = split(key, 5, "unique")
    if parts[2] != _UNIQUE:
        raise InvalidKey(f"not a unique key: {key!r}")
    return _tenant_of(parts, key), parts[3], parts[4]


def facet_pk(tenant_id: str, collection: Collection, facet: str, value: str) -> str:
    """``T#<t>#<COLLECTION>#<FACET>#<value>``: a collection narrowed by a reference (the products of a category)."""
    return f"{collection_pk(tenant_id, collection, part(facet, 'facet'))}{SEP}{part(value, 'facet value')}"


def parse_facet_pk(key: str) -> tuple[str, Collection, str, str]:
    """Inverse of ``facet_pk``: (tenant id, collection, facet, value)."""
    parts = split(key, 5, "facet")
    try:
        collection = Collection(parts[2])
    except ValueError as exc:
        raise InvalidKey(f"unknown collection in {key!r}") from exc
    return _tenant_of(parts, key), collection, parts[3], parts[4]


def facets_pk(tenant_id: str, collection: Collection, facets: Sequence[tuple[str, str]]) -> str:
    """``T#<t>#<COLLECTION>#<FACET>#<value>[#<FACET>#<value>…]``: a collection narrowed by one or more references
    (the sales of a user in one status); one pair is the shape of ``facet_pk``."""
    if not facets:
        raise InvalidKey("a faceted key needs at least one (facet, value) pair")
    tail = SEP.join(f"{part(facet, 'facet')}{SEP}{part(value, 'facet value')}" for facet, value in facets)
    return f"{collection_pk(tenant_id, collection)}{SEP}{tail}"


def parse_facets_pk(key: str) -> tuple[str, Collection, tuple[tuple[str, str], ...]]:
    """Inverse of ``facets_pk``: (tenant id, collection, the (facet, value) pairs)."""
    parts = key.split(SEP)
    if len(parts) < 5 or len(parts) % 2 == 0 or not all(parts):
        raise InvalidKey(f"not a faceted key: {key!r}")
    try:
        collection = Collection(parts[2])
    except ValueError as exc:
        raise InvalidKey(f"unknown collection in {key!r}") from exc
    pairs = tuple((parts[i], parts[i + 1]) for i in range(3, len(parts), 2))
    return _tenant_of(parts, key), collection, pairs
