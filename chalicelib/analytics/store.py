"""The aggregate items of the sales dashboard and the ledger that applies each event to them once.

Per tenant and scope (``ALL``, or a rep's user id) a partition ``T#<t>#ANALYTICS#<scope>`` holds one item per day,
week and month (``DAY#2026-05-04``, ``WEEK#2026-05-04``, ``MONTH#2026-05-01``) and the ``PIPELINE`` item; each
attribute is a number that events ADD to. Events are applied by transactions that also add their ids to the ledger
(``T#<t>#ANALYTICS#LEDGER`` / ``APPLIED#<hour the event happened, UTC>``, a string set, TTL 20 days) on the
condition that none of them is there yet: a redelivered event fails the transaction, is dropped, and the others go
again. Many events of one tenant go in one transaction (a few ledger writes, their additions to one item summed),
so applying an event costs a fraction of a write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Kind
from chalicelib.core.db.store import Table, WriteOp, add_op
from chalicelib.core.db.table import ENTITY, SORT_KEY, TTL_ATTRIBUTE, strip_storage
from chalicelib.core.errors import Conflict

__all__ = [
    "LEDGER_TTL",
    "MAX_LEDGER_IDS",
    "AlreadyApplied",
    "Numbers",
    "applied_ids",
    "apply_ops",
    "item_key",
    "ledger_hour",
    "ledger_op",
    "periods",
    "pipeline",
]

AGGREGATE_ENTITY = "Aggregate"
LEDGER_ENTITY = "AnalyticsLedger"
_IDS = "eventIds"
# Longer than an event can wait in the queue (4 days) plus its DLQ (14 days) before a redrive: a redriven event
# still finds itself in the ledger.
LEDGER_TTL = timedelta(days=20)
# Event ids one ledger write may add (its condition names each one; DynamoDB caps an expression at 4 KB).
MAX_LEDGER_IDS = 100
Target = tuple[str, Any]  # (scope, (granularity, period start) | "PIPELINE")
Numbers = dict[str, Decimal]


def item_key(tenant_id: str, scope: str, item: tuple[str, str] | str) -> tuple[str, str]:
    """(PK, SK) of an aggregate item: a period's numbers, or the pipeline."""
    pk = keys.entity_pk(tenant_id, Kind.ANALYTICS, scope)
    if isinstance(item, tuple):
        return pk, keys.child_sk(*item)
    return pk, keys.PIPELINE_SK


@dataclass
class AlreadyApplied(Conflict):
    """Raised when a transaction adds to the ledger an event that is in it already (applied before)."""

    hour: str = ""


def ledger_hour(occurred_at: str) -> str:
    """The ledger item of an event: the UTC hour it happened (``2026-05-04T13``)."""
    return datetime.fromisoformat(occurred_at).astimezone(UTC).strftime("%Y-%m-%dT%H")


def _ledger_key(tenant_id: str, hour: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.ANALYTICS, keys.ANALYTICS_LEDGER), keys.child_sk(Child.APPLIED, hour)


def ledger_op(tenant_id: str, hour: str, event_ids: Sequence[str]) -> WriteOp:
    """Add ``event_ids`` (of events that happened in ``hour``) to the ledger, only if none of them is there: else
    the transaction fails with ``AlreadyApplied``."""
    if not 0 < len(event_ids) <= MAX_LEDGER_IDS:
        raise ValueError(f"a ledger write adds 1 to {MAX_LEDGER_IDS} event ids")
    fresh: ConditionBase = ~Attr(_IDS).contains(event_ids[0])
    for event_id in event_ids[1:]:
        fresh = fresh & ~Attr(_IDS).contains(event_id)
    return add_op(
        *_ledger_key(tenant_id, hour),
        {_IDS: set(event_ids)},
        set_once={ENTITY: LEDGER_ENTITY, TTL_ATTRIBUTE: clock.to_epoch(clock.now() + LEDGER_TTL)},
        condition=fresh,
        conflict=AlreadyApplied(detail=f"an event of {hour} was applied already", hour=hour),
    )


def applied_ids(tenant_id: str, hour: str) -> set[str]:
    """The ids of the events of ``hour`` applied so far."""
    item = Table().get(*_ledger_key(tenant_id, hour), consistent=True)
    return {str(event_id) for event_id in (item or {}).get(_IDS, set())}


def apply_ops(tenant_id: str, deltas: Mapping[Target, Mapping[str, Decimal]]) -> list[WriteOp]:
    """The ADDs of ``deltas`` to the aggregate items (created on first use)."""
    return [
        add_op(*item_key(tenant_id, scope, item), dict(measures), set_once={ENTITY: AGGREGATE_ENTITY})
        for (scope, item), measures in sorted(deltas.items(), key=lambda pair: repr(pair[0]))
        if measures
    ]


def periods(tenant_id: str, scope: str, granularity: str, first: str, last: str) -> list[tuple[str, Numbers]]:
    """(period start, numbers) of the period items of ``scope`` starting in [first, last] (ISO dates), in order.

    One Query (more pages only past 1 MB: a few hundred items of a few KB), whatever the tenant's size."""
    pk = keys.entity_pk(tenant_id, Kind.ANALYTICS, scope)
    between = (keys.child_sk(granularity, first), keys.child_sk(granularity, last))
    found: list[tuple[str, Numbers]] = []
    start: Mapping[str, str] | None = None
    while True:
        page = Table().query_page(pk, sort_between=between, limit=400, start_key=start)
        found += [(keys.parse_child_sk(str(item[SORT_KEY]))[1], _numbers(item)) for item in page.items]
        if page.last_key is None:
            return found
        start = page.last_key


def pipeline(tenant_id: str, scope: str) -> Numbers:
    """The numbers of the pipeline item of ``scope`` (empty when nothing was ever open)."""
    item = Table().get(*item_key(tenant_id, scope, keys.PIPELINE_SK))
    return _numbers(item) if item else {}


def _numbers(item: Mapping[str, Any]) -> Numbers:
    return {name: Decimal(value) for name, value in strip_storage(item).items() if isinstance(value, int | Decimal)}
