"""The sales dashboard: numbers kept as per-tenant aggregates by a consumer of the sale and lead events, so that
``GET /analytics/dashboard`` is one Query and one GetItem whatever the tenant's size.

The bus rule ``analytics`` (``core/resources.RULES``) routes ``sale.*`` and ``lead.*`` events to the analytics
queue; ``handle_batch`` (its consumer) turns each into additions (``aggregation.contributions``) to the tenant's
aggregate items and the owning rep's, and applies a batch's events of one tenant in as few transactions as fit,
each event once (its id goes into the tenant's ledger in the same transaction, ``store.ledger_op``): a redelivered or
replayed event adds nothing.

Scope: a caller with ``sales:read:all`` (ADMIN, MANAGER, VIEWER) sees the tenant's numbers; a SALES_REP
(``sales:read:own``) its own — the aggregates kept for it, not a filtered version of the tenant's.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.analytics import store
from chalicelib.analytics.aggregation import ALL, HANDLED, Deltas, contributions, period_start
from chalicelib.analytics.models import (
    Dashboard,
    DashboardQuery,
    DashboardTotals,
    PeriodRow,
    PipelineRow,
    RepRow,
    ServiceRow,
    SourceRow,
)
from chalicelib.core import clock
from chalicelib.core.batch import Job, consume_grouped
from chalicelib.core.db.keys import Child
from chalicelib.core.db.store import Table, tenant_scope
from chalicelib.core.errors import Conflict, invalid_field
from chalicelib.core.money import Money
from chalicelib.core.observability import MetricUnit, metrics
from chalicelib.core.resources import QueueKind
from chalicelib.tenants.service import load_tenant

__all__ = ["MAX_PERIODS", "apply_events", "created_count", "dashboard", "handle_batch"]

# At most this many periods per dashboard (a year by day, three by week, ten by month).
MAX_PERIODS = {"day": 366, "week": 157, "month": 120}
_GRANULARITY = {"day": Child.DAY, "week": Child.WEEK, "month": Child.MONTH}
_MAX_WRITES = 100  # TransactWriteItems' limit
_ATTEMPTS = 6
_TOP_SERVICES = 10


@dataclass(frozen=True)
class AppliedEvent:
    """A domain event as the analytics consumer reads it."""

    id: str
    type: str
    occurred_at: str
    data: Mapping[str, Any]

    @property
    def hour(self) -> str:
        """Its ledger item."""
        return store.ledger_hour(self.occurred_at)


Entry = tuple[AppliedEvent, Deltas]


# --- the consumer ---------------------------------------------------------------------------------------------


def _merge(events: Sequence[Entry]) -> Deltas:
    merged: dict[Any, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for _, deltas in events:
        for target, measures in deltas.items():
            for name, value in measures.items():
                merged[target][name] += value
    return {t: {n: v for n, v in m.items() if v != 0} for t, m in merged.items() if any(v != 0 for v in m.values())}


def _chunks(events: Sequence[Entry]) -> list[list[Entry]]:
    """Events grouped so that each group fits one transaction: at most 100 writes (one ledger write per hour, one
    addition per aggregate item), and at most ``MAX_LEDGER_IDS`` events of one hour (a ledger write names each)."""
    chunks: list[list[Entry]] = []
    current: list[Entry] = []
    hours: dict[str, int] = defaultdict(int)
    targets: set[Any] = set()
    for entry in events:
        event, deltas = entry
        new_targets = set(deltas) - targets
        writes = len(hours) + (event.hour not in hours) + len(targets) + len(new_targets)
        if current and (hours.get(event.hour, 0) >= store.MAX_LEDGER_IDS or writes > _MAX_WRITES):
            chunks.append(current)
            current, hours, targets, new_targets = [], defaultdict(int), set(), set(deltas)
        current.append(entry)
        hours[event.hour] += 1
        targets |= new_targets
    if current:
        chunks.append(current)
    return chunks


def _commit(tenant_id: str, chunk: list[Entry]) -> int:
    """Apply a chunk in one transaction; when an event of it is in the ledger already, the chunk's events of that
    hour are checked against the ledger, those applied dropped, and the rest written again. Returns how many
    events were applied now."""
    busy = 0
    while chunk:
        by_hour: dict[str, list[str]] = defaultdict(list)
        for event, _ in chunk:
            by_hour[event.hour].append(event.id)
        ops = [store.ledger_op(tenant_id, hour, ids) for hour, ids in sorted(by_hour.items())]
        ops += store.apply_ops(tenant_id, _merge(chunk))
        try:
            Table().transact(ops)
        except store.AlreadyApplied as exc:
            applied = store.applied_ids(tenant_id, exc.hour)
            chunk = [entry for entry in chunk if entry[0].id not in applied]
            continue
        except Conflict as exc:
            # Another batch of the same tenant added to the same items at the same moment: go again shortly.
            busy += 1
            if not exc.retry or busy >= _ATTEMPTS:
                raise
            time.sleep(random.uniform(0, 0.05 * 2**busy))  # noqa: S311 - jitter
            continue
        return len(chunk)
    return 0


def apply_events(tenant_id: str, events: Sequence[AppliedEvent]) -> int:
    """Add ``events`` of one tenant to its aggregates (each once); returns how many were applied now."""
    zone = load_tenant(tenant_id).time_zone
    unique = {event.id: event for event in events}.values()  # one message delivered twice in a batch: once
    pending = [(event, contributions(event.type, event.data, zone)) for event in unique if event.type in HANDLED]
    pending = [(event, deltas) for event, deltas in pending if deltas]
    applied = sum(_commit(tenant_id, chunk) for chunk in _chunks(pending))
    if applied:
        metrics.add_metric(name="AnalyticsEventsApplied", unit=MetricUnit.Count, value=applied)
    return applied


def _event(body: str) -> tuple[str, AppliedEvent]:
    envelope = json.loads(body)
    detail = envelope["detail"]
    event = AppliedEvent(str(detail["id"]), str(envelope["detail-type"]), str(detail["occurredAt"]), detail["data"])
    return str(detail["tenantId"]), event


def handle_batch(raw_event: dict[str, Any]) -> dict[str, Any]:
    """The analytics queue's consumer: each record an EventBridge envelope of a sale or lead event, a tenant's events
    applied together. A record that is no domain event fails alone; a tenant's events that cannot be applied
    (database unavailable, aggregates busy) are reported failed and come back, then go to the DLQ."""

    def apply(tenant_id: str, jobs: list[Job]) -> None:
        with tenant_scope(tenant_id):
            apply_events(tenant_id, [_event(job.body)[1] for job in jobs])

    return consume_grouped(raw_event, lambda job: _event(job.body)[0], apply, queue=QueueKind.ANALYTICS)


def created_count(tenant_id: str, kind: Literal["sales", "leads"], user_id: str | None = None) -> int:
    """How many sales (or leads) the tenant — or one rep — ever created, from the monthly aggregates (deleted ones
    taken back): for estimates, such as an export's size, without counting items."""
    scope = user_id or ALL
    name = "salesCount" if kind == "sales" else "leadsCreated"
    return sum(int(numbers.get(name, 0)) for _, numbers in store.periods(tenant_id, scope, Child.MONTH, "0000", "9999"))


# --- the dashboard --------------------------------------------------------------------------------------------


def _period_end(start: date, group_by: str) -> date:
    if group_by == "week":
        return start + timedelta(days=6)
    if group_by == "month":
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return start


def _period_starts(first: date, last: date, group_by: str) -> list[date]:
    starts, current = [], first
    while current <= last:
        starts.append(current)
        current = _period_end(current, group_by) + timedelta(days=1)
    return starts


def _range(query: DashboardQuery, time_zone: str) -> tuple[date, date]:
    today = clock.now().astimezone(ZoneInfo(time_zone)).date()
    last = query.to or today
    first = query.from_ or last - timedelta(days=29)
    if first > last:
        raise invalid_field("query.from", "must not be after to")
    return period_start(first, _GRANULARITY[query.group_by]), period_start(last, _GRANULARITY[query.group_by])


def _int(numbers: Mapping[str, Decimal], name: str) -> int:
    return int(numbers.get(name, 0))


def _facets(numbers: Mapping[str, Decimal], prefix: str) -> dict[str, dict[str, Decimal]]:
    """``<prefix>:<key>:<measure>`` attributes → key → measure → value."""
    grouped: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for name, value in numbers.items():
        head, _, rest = name.partition(":")
        if head == prefix and ":" in rest:
            key, _, measure = rest.rpartition(":")
            grouped[key][measure] = value
    return grouped


def _pipeline(numbers: Mapping[str, Decimal], kind: str, currency: str) -> list[PipelineRow]:
    rows = [
        PipelineRow(status=status, count=int(m.get("count", 0)), value=Money.of(m.get("value", 0), currency))
        for status, m in sorted(_facets(numbers, kind).items())
    ]
    return [row for row in rows if row.count > 0]


def dashboard(principal: Principal, query: DashboardQuery) -> Dashboard:
    """The dashboard of the caller's scope for a period: totals, a series per day/week/month, the pipeline now,
    and breakdowns by source, rep and service."""
    require(principal, Permission.ANALYTICS_READ)
    scope_name: Literal["all", "own"] = "all"
    scope = ALL
    if not principal.can(Permission.SALES_READ_ALL):
        require(principal, Permission.SALES_READ_OWN)
        scope, scope_name = principal.user_id, "own"
    tenant = load_tenant(principal.tenant_id)
    first, last = _range(query, tenant.time_zone)
    starts = _period_starts(first, last, query.group_by)
    if len(starts) > MAX_PERIODS[query.group_by]:
        raise invalid_field("query.from", f"at most {MAX_PERIODS[query.group_by]} {query.group_by}s at a time")
    granularity = _GRANULARITY[query.group_by]
    found = dict(store.periods(tenant.id, scope, granularity, first.isoformat(), last.isoformat()))
    currency = tenant.currency
    pipeline = store.pipeline(tenant.id, scope)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    series = []
    for start in starts:
        numbers = found.get(start.isoformat(), {})
        for name, value in numbers.items():
            totals[name] += value
        series.append(
            PeriodRow(
                period=start,
                sales_count=_int(numbers, "salesCount"),
                completed_sales=_int(numbers, "completedSales"),
                revenue=Money.of(numbers.get("revenue", 0), currency),
                leads_created=_int(numbers, "leadsCreated"),
                leads_converted=_int(numbers, "leadsConverted"),
            )
        )
    return Dashboard(
        scope=scope_name,
        from_=first,
        to=_period_end(last, query.group_by),
        group_by=query.group_by,
        currency=currency,
        totals=_totals(totals, currency),
        series=series,
        sales_pipeline=_pipeline(pipeline, "sales", currency),
        leads_pipeline=_pipeline(pipeline, "leads", currency),
        by_source=_by_source(totals, currency),
        by_rep=_by_rep(totals, currency),
        top_services=_top_services(totals, currency),
    )


def _totals(totals: Mapping[str, Decimal], currency: str) -> DashboardTotals:
    completed, created = _int(totals, "completedSales"), _int(totals, "leadsCreated")
    revenue = totals.get("revenue", Decimal(0))
    rate = Decimal(_int(totals, "leadsConverted")) / created if created else Decimal(0)
    return DashboardTotals(
        sales_count=_int(totals, "salesCount"),
        sales_value=Money.of(totals.get("salesValue", 0), currency),
        completed_sales=completed,
        revenue=Money.of(revenue, currency),
        average_ticket=Money.of(revenue / completed if completed else 0, currency),
        cancelled_sales=_int(totals, "cancelledSales"),
        leads_created=created,
        leads_converted=_int(totals, "leadsConverted"),
        leads_lost=_int(totals, "leadsLost"),
        conversion_rate=rate.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
    )


def _by_source(totals: Mapping[str, Decimal], currency: str) -> list[SourceRow]:
    rows = [
        SourceRow(
            source=source,
            sales_count=int(m.get("sales", 0)),
            revenue=Money.of(m.get("revenue", 0), currency),
            leads_created=int(m.get("leads", 0)),
            leads_converted=int(m.get("converted", 0)),
        )
        for source, m in _facets(totals, "src").items()
    ]
    return sorted(
        (r for r in rows if r.sales_count or r.leads_created or r.leads_converted or not r.revenue.is_zero()),
        key=lambda r: (-r.revenue.amount, -r.sales_count, r.source),
    )


def _by_rep(totals: Mapping[str, Decimal], currency: str) -> list[RepRow]:
    rows = [
        RepRow(
            user_id=user_id,
            sales_count=int(m.get("sales", 0)),
            completed_sales=int(m.get("completed", 0)),
            revenue=Money.of(m.get("revenue", 0), currency),
            leads_created=int(m.get("leads", 0)),
            leads_converted=int(m.get("converted", 0)),
        )
        for user_id, m in _facets(totals, "rep").items()
    ]
    return sorted(
        (r for r in rows if r.sales_count or r.completed_sales or r.leads_created or r.leads_converted),
        key=lambda r: (-r.revenue.amount, -r.sales_count, r.user_id),
    )


def _top_services(totals: Mapping[str, Decimal], currency: str) -> list[ServiceRow]:
    rows = [
        ServiceRow(
            service_id=service_id, sales_count=int(m.get("sales", 0)), revenue=Money.of(m.get("revenue", 0), currency)
        )
        for service_id, m in _facets(totals, "svc").items()
    ]
    rows = [r for r in rows if r.sales_count or not r.revenue.is_zero()]
    return sorted(rows, key=lambda r: (-r.revenue.amount, -r.sales_count, r.service_id))[:_TOP_SERVICES]
