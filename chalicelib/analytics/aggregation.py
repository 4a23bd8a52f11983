"""What each sale and lead event adds to the dashboard's numbers: pure arithmetic, no I/O.

A sale or lead in a given state *contributes* to the numbers: the day it was created (counted, by source, rep and
service), the day it closed (revenue of a completed sale, a converted or lost lead), and the pipeline (open ones by
status, with their value). Every event is then the difference between the contributions of the entity after and
before it (``created``: from nothing; ``deleted``: to nothing; ``status_changed`` / ``updated``: between the two
snapshots the event carries), so a reassignment moves a sale's numbers from one rep to the other, and a completion
moves it from the pipeline to the revenue of its day. Each contribution counts for the tenant (scope ``ALL``) and
for the rep who owns the entity (scope = that user's id), which is how a rep's dashboard shows only its own.

Attribute names (flat, so that DynamoDB can ADD to them without a map existing first): ``salesCount``,
``salesValue``, ``revenue``, ``completedSales``, ``cancelledSales``, ``leadsCreated``, ``leadsConverted``,
``leadsLost``, ``src:<source>:<measure>``, ``rep:<userId>:<measure>``, ``svc:<serviceId>:<measure>``; in the
pipeline item ``sales:<STATUS>:count|value`` and ``leads:<STATUS>:count|value``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child

__all__ = [
    "ALL",
    "HANDLED",
    "PIPELINE",
    "Deltas",
    "Granularity",
    "bucket_starts",
    "contributions",
    "period_start",
]

ALL = keys.ANALYTICS_ALL
PIPELINE = keys.PIPELINE_SK
Granularity = str  # Child.DAY | Child.WEEK | Child.MONTH (the period items' sort key segment)
GRANULARITIES: tuple[Granularity, ...] = (Child.DAY, Child.WEEK, Child.MONTH)
# (scope, item): item is (granularity, period start) or PIPELINE → attribute → amount to add.
Deltas = dict[tuple[str, tuple[str, str] | str], dict[str, Decimal]]
HANDLED = frozenset(
    {
        "sale.created",
        "sale.updated",
        "sale.deleted",
        "sale.status_changed",
        "lead.created",
        "lead.updated",
        "lead.status_changed",
    }
)
_ONE = Decimal(1)


def period_start(day: date, granularity: Granularity) -> date:
    """The first day of the period of ``granularity`` holding ``day`` (weeks start on Monday)."""
    if granularity == Child.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity == Child.MONTH:
        return day.replace(day=1)
    return day


def bucket_starts(day: date) -> list[tuple[Granularity, str]]:
    """The period items a day counts in: its day, its week, its month."""
    return [(granularity, period_start(day, granularity).isoformat()) for granularity in GRANULARITIES]


def _local_day(timestamp: str, zone: ZoneInfo) -> date:
    return datetime.fromisoformat(timestamp).astimezone(zone).date()


def _amount(value: Any) -> Decimal:
    if isinstance(value, Mapping):
        return Decimal(str(value.get("amount", "0")))
    return Decimal(0)


@dataclass(frozen=True)
class _Part:
    """What an entity contributes on one day (or to the pipeline): measures per scope."""

    day: date | None  # None: the pipeline
    measures: dict[str, Decimal]
    owner: str | None


def _sale_parts(sale: Mapping[str, Any] | None, zone: ZoneInfo) -> list[_Part]:
    if sale is None:
        return []
    amount, rep = _amount(sale.get("amount")), sale.get("assignedTo")
    source, service = sale.get("source"), sale.get("serviceId")
    created = {"salesCount": _ONE, "salesValue": amount, f"src:{source}:sales": _ONE, f"svc:{service}:sales": _ONE}
    if rep:
        created[f"rep:{rep}:sales"] = _ONE
    parts = [_Part(_local_day(str(sale["createdAt"]), zone), created, rep)]
    outcome, closed = sale.get("outcome"), sale.get("closedAt")
    if closed and outcome == "completed":
        done = {
            "revenue": amount,
            "completedSales": _ONE,
            f"src:{source}:revenue": amount,
            f"svc:{service}:revenue": amount,
        }
        if rep:
            done |= {f"rep:{rep}:revenue": amount, f"rep:{rep}:completed": _ONE}
        parts.append(_Part(_local_day(str(closed), zone), done, rep))
    elif closed and outcome == "cancelled":
        parts.append(_Part(_local_day(str(closed), zone), {"cancelledSales": _ONE}, rep))
    if not closed:
        status = sale["status"]
        parts.append(_Part(None, {f"sales:{status}:count": _ONE, f"sales:{status}:value": amount}, rep))
    return parts


def _lead_parts(lead: Mapping[str, Any] | None, zone: ZoneInfo) -> list[_Part]:
    if lead is None:
        return []
    owner, source = lead.get("ownerId"), lead.get("source")
    created = {"leadsCreated": _ONE, f"src:{source}:leads": _ONE}
    if owner:
        created[f"rep:{owner}:leads"] = _ONE
    parts = [_Part(_local_day(str(lead["createdAt"]), zone), created, owner)]
    closed, status = lead.get("closedAt"), lead["status"]
    if closed and lead.get("convertedSaleId"):
        converted = {"leadsConverted": _ONE, f"src:{source}:converted": _ONE}
        if owner:
            converted[f"rep:{owner}:converted"] = _ONE
        parts.append(_Part(_local_day(str(closed), zone), converted, owner))
    elif closed:
        parts.append(_Part(_local_day(str(closed), zone), {"leadsLost": _ONE}, owner))
    else:
        value = _amount(lead.get("estimatedValue"))
        parts.append(_Part(None, {f"leads:{status}:count": _ONE, f"leads:{status}:value": value}, owner))
    return parts


def _before_transition(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The snapshot of an entity before a status change: the one after, in the status it came from, still open."""
    after = dict(data[key])
    return {
        **{k: v for k, v in after.items() if k not in ("closedAt", "outcome", "convertedSaleId")},
        "status": data["from"],
    }


def _states(event_type: str, data: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """The entity's snapshot before and after the event (None: it did not exist)."""
    key = event_type.split(".", 1)[0]
    kind = event_type.split(".", 1)[1]
    if kind == "created":
        return None, data[key]
    if kind == "deleted":
        return data[key], None
    if kind == "updated":
        return data["before"], data[key]
    return _before_transition(data, key), data[key]


def contributions(event_type: str, data: Mapping[str, Any], time_zone: str) -> Deltas:
    """What an event of ``event_type`` (one of ``HANDLED``) adds to each aggregate item, for the tenant and for
    the owning rep(s); items whose numbers do not change are left out."""
    if event_type not in HANDLED:
        return {}
    zone = ZoneInfo(time_zone)
    parts_of = _sale_parts if event_type.startswith("sale.") else _lead_parts
    before, after = _states(event_type, data)
    deltas: Deltas = defaultdict(lambda: defaultdict(Decimal))
    for sign, parts in ((-1, parts_of(before, zone)), (1, parts_of(after, zone))):
        for part in parts:
            scopes = [ALL] + ([part.owner] if part.owner else [])
            items: list[tuple[str, str] | str] = [PIPELINE] if part.day is None else list(bucket_starts(part.day))
            for scope in scopes:
                for item in items:
                    for name, value in part.measures.items():
                        deltas[(scope, item)][name] += sign * value
    return {
        target: {name: value for name, value in measures.items() if value != 0}
        for target, measures in deltas.items()
        if any(value != 0 for value in measures.values())
    }
