"""Sort keys: the items under an entity (``<CHILD>#<id>``), lists sorted by time, by name or by expiry, a
notification template's variant, an integration's references, a month's cash flow, an inbound webhook's receipt.
"""

from __future__ import annotations

from chalicelib.core.db.keys.names import SEP, Child, InvalidKey, part, split

__all__ = [
    "cash_flow_prefix",
    "cash_flow_sk",
    "child_prefix",
    "child_sk",
    "expiry_sk",
    "inbound_receipt_sk",
    "name_prefix",
    "name_sk",
    "parse_cash_flow_sk",
    "parse_child_sk",
    "parse_expiry_sk",
    "parse_name_sk",
    "parse_ref_sk",
    "parse_template_sk",
    "parse_time_sk",
    "ref_prefix",
    "ref_sk",
    "template_sk",
    "time_sk",
]

_REF = "REF"


def child_sk(child: str, child_id: str) -> str:
    """``<CHILD>#<id>``: the sort key of an item under an entity (an order line, a history entry)."""
    return f"{part(child, 'child type')}{SEP}{part(child_id, 'child id')}"


def child_prefix(child: str) -> str:
    """``<CHILD>#``: the begins_with prefix that lists one kind of child."""
    return f"{part(child, 'child type')}{SEP}"


def parse_child_sk(key: str) -> tuple[str, str]:
    """Inverse of ``child_sk``: (child type, child id)."""
    child, child_id = split(key, 2, "child")
    return child, child_id


def time_sk(created_at: str, entity_id: str) -> str:
    """``<createdAt ISO>#<id>``: sorts a collection by time, the id breaking ties."""
    return f"{part(created_at, 'timestamp')}{SEP}{part(entity_id, 'entity id')}"


def parse_time_sk(key: str) -> tuple[str, str]:
    """Inverse of ``time_sk``: (createdAt, id)."""
    created_at, entity_id = split(key, 2, "time-sorted")
    return created_at, entity_id


def name_sk(folded_name: str, entity_id: str, group: str | None = None) -> str:
    """``[<group>#]<folded name>#<id>``: sorts a list by name (the id breaks ties); ``group`` sorts first."""
    tail = f"{part(folded_name, 'folded name')}{SEP}{part(entity_id, 'entity id')}"
    return tail if group is None else f"{part(group, 'group')}{SEP}{tail}"


def parse_name_sk(key: str) -> tuple[str | None, str, str]:
    """Inverse of ``name_sk``: (group or None, folded name, id)."""
    parts = key.split(SEP)
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidKey(f"not a name-sorted key: {key!r}")
    if len(parts) == 2:
        return None, parts[0], parts[1]
    return parts[0], parts[1], parts[2]


def name_prefix(folded_prefix: str, group: str | None = None) -> str:
    """The begins_with value that finds names starting with ``folded_prefix`` (empty: the whole group)."""
    if SEP in folded_prefix:
        raise InvalidKey(f"a name prefix must not contain '{SEP}': {folded_prefix!r}")
    return folded_prefix if group is None else f"{part(group, 'group')}{SEP}{folded_prefix}"


def expiry_sk(expires_at: str, tenant_id: str, entity_id: str) -> str:
    """``<expiresAt ISO>#<tenantId>#<id>``: sorts a platform list by expiry (Bitrix24 portals by token expiry)."""
    return f"{part(expires_at, 'expiry')}{SEP}{part(tenant_id, 'tenant id')}{SEP}{part(entity_id, 'entity id')}"


def parse_expiry_sk(key: str) -> tuple[str, str, str]:
    """Inverse of ``expiry_sk``: (expiresAt, tenant id, id)."""
    expires_at, tenant_id, entity_id = split(key, 3, "expiry-sorted")
    return expires_at, tenant_id, entity_id


def template_sk(template_key: str, channel: str, locale: str) -> str:
    """``<key>#<channel>#<locale>``: sorts a tenant's notification templates by key, then variant."""
    return f"{part(template_key, 'template key')}{SEP}{part(channel, 'channel')}{SEP}{part(locale, 'locale')}"


def parse_template_sk(key: str) -> tuple[str, str, str]:
    """Inverse of ``template_sk``: (template key, channel, locale)."""
    template_key, channel, locale = split(key, 3, "template")
    return template_key, channel, locale


def ref_sk(kind: str, local_id: str) -> str:
    """``REF#<kind>#<localId>``: under an integration, the provider's id for one of ours (a product, an invoice)."""
    return f"{_REF}{SEP}{part(kind, 'reference kind')}{SEP}{part(local_id, 'local id')}"


def ref_prefix(kind: str) -> str:
    """``REF#<kind>#``: the begins_with value that lists one kind of reference of an integration."""
    return f"{_REF}{SEP}{part(kind, 'reference kind')}{SEP}"


def parse_ref_sk(key: str) -> tuple[str, str]:
    """Inverse of ``ref_sk``: (kind, local id)."""
    parts = split(key, 3, "reference")
    if parts[0] != _REF:
        raise InvalidKey(f"not a reference key: {key!r}")
    return parts[1], parts[2]


def cash_flow_sk(month: str, currency: str, category_key: str) -> str:
    """``CASHFLOW#<yyyy-mm>#<currency>#<category key>``: a month's income and expense of one category (kept by every
    transaction's write), sorted by month so a report reads a range of months."""
    parts = (part(month, "month"), part(currency, "currency"), part(category_key, "category"))
    return f"{Child.CASH_FLOW.value}{SEP}" + SEP.join(parts)


def cash_flow_prefix(month: str) -> str:
    """``CASHFLOW#<yyyy-mm>``: the start of a month's range (append ``~`` for its end)."""
    return f"{Child.CASH_FLOW.value}{SEP}{part(month, 'month')}"


def parse_cash_flow_sk(key: str) -> tuple[str, str, str]:
    """Inverse of ``cash_flow_sk``: (month, currency, category key)."""
    parts = split(key, 4, "cash flow")
    if parts[0] != Child.CASH_FLOW.value:
        raise InvalidKey(f"not a cash flow key: {key!r}")
    return parts[1], parts[2], parts[3]


def inbound_receipt_sk(provider: str, key_hash: str) -> str:
    """``<provider>#<key hash>``: the sort key Powertools idempotency gives a record (``key_prefix#hash``)."""
    return f"{part(provider, 'provider')}{SEP}{part(key_hash, 'key hash')}"
