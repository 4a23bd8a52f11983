"""Sales tracking at two tenant sizes: ``GET /sales`` (a manager's page, a rep's page) and
``GET /analytics/dashboard`` of a company with 1 000 sales and of one with 100 000, and export throughput.

The two companies and their sales (the dashboard's aggregates built by the real analytics consumer) come from
``bench/sales_seed.py``; this module times what users read of them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.sales_seed import DAYS, SEED_BUDGET_S, Company, Seeding, seed_sales, sign_up_company
from bench.stats import Summary, summarise, timed_ms
from bench.target import BenchError, Target, shared_clients

__all__ = ["LARGE_SALES", "SMALL_SALES", "SalesReport", "measure_sales"]

SMALL_SALES = 1_000
LARGE_SALES = 100_000
PAGE = 25


@dataclass(frozen=True)
class ReadCheck:
    """What one request read: Queries and GetItems, items returned (Count) and read (ScannedCount), read units."""

    queries: int
    gets: int
    returned: int
    scanned: int
    read_units: float


@dataclass(frozen=True)
class SalesRow:
    """One request, timed against both companies."""

    label: str
    small: Summary
    large: Summary
    small_check: ReadCheck
    large_check: ReadCheck

    @property
    def ratio(self) -> float:
        """Large company's median over the small company's."""
        return self.large.median / self.small.median


@dataclass(frozen=True)
class ExportRun:
    """One export of a whole company's sales, its slices run back to back in this process."""

    rows: int
    seconds: float
    file_bytes: int
    slices: int

    @property
    def rows_per_second(self) -> float:
        """Throughput."""
        return self.rows / self.seconds


@dataclass(frozen=True)
class SalesReport:
    """The rows, the export, and how the data was made."""

    rows: list[SalesRow]
    export: ExportRun
    seeding: Seeding

    @property
    def reads_only_what_it_returns(self) -> bool:
        """ScannedCount equals Count on every measured request of both companies."""
        return all(c.returned == c.scanned for r in self.rows for c in (r.small_check, r.large_check))


def _check(target: Target, token: str, path: str, label: str) -> ReadCheck:
    from bench.capacity import CapacityMeter

    dynamodb, *_ = shared_clients()
    with CapacityMeter(dynamodb) as meter, meter.operation(label):
        target.json("GET", path, token=token)
    usage = meter.usage[label]
    return ReadCheck(
        queries=usage.dynamodb_calls["Query"],
        gets=usage.dynamodb_calls["GetItem"] + usage.dynamodb_calls["BatchGetItem"],
        returned=usage.returned,
        scanned=usage.scanned,
        read_units=usage.read_units,
    )


def _time(target: Target, requests: Sequence[tuple[str, str]], runs: int, warmup: int) -> list[Summary]:
    """Time each (token, path) ``runs`` times, interleaved (the order rotates every round), after a warm-up."""

    def request(token: str, path: str) -> Callable[[], object]:
        return lambda: target.call("GET", path, token=token)

    actions = [request(token, path) for token, path in requests]
    for _ in range(warmup):
        for action in actions:
            action()
    samples: list[list[float]] = [[] for _ in actions]
    for n in range(runs):
        for k in range(len(actions)):
            i = (k + n) % len(actions)
            samples[i].append(timed_ms(actions[i]))
    return [summarise(s) for s in samples]


def _export(target: Target, company: Company) -> ExportRun:
    """Export the company's sales through ``POST /exports`` and run its slices here, one after the other."""
    from chalicelib.core.db.store import tenant_scope
    from chalicelib.exports import service as exports

    token = company.admin.access_token
    answer = json.loads(target.call("POST", "/exports", {"kind": "sales"}, token=token, expect=202).body)
    started, slices = time.monotonic(), 0
    tenant = company.admin.tenant_id
    with tenant_scope(tenant):
        while True:
            slices += 1
            exports.run_slice(tenant, answer["id"], slices)
            shown = target.json("GET", f"/exports/{answer['id']}", token=token)
            if shown["status"] != "running" or slices > 10_000:
                break
    seconds = time.monotonic() - started
    if shown["status"] != "completed":
        raise BenchError(f"the export ended {shown['status']}: {shown.get('error')}")
    return ExportRun(rows=int(shown["rowsDone"]), seconds=seconds, file_bytes=int(shown["fileBytes"]), slices=slices)


def measure_sales(
    target: Target,
    *,
    large: int = LARGE_SALES,
    runs: int = 50,
    budget_s: float = SEED_BUDGET_S,
    progress: Callable[[str], None] = print,
) -> SalesReport:
    """Sign up two companies, seed ``SMALL_SALES`` and up to ``large`` sales (aggregates by the consumer), time the
    manager's and a rep's first page and the dashboard at both sizes, and export the large company's sales."""
    from chalicelib.core import clock

    newest = clock.now() - timedelta(hours=1)
    small_co, large_co = sign_up_company(target, SMALL_SALES, newest), sign_up_company(target, large, newest)
    seeding = seed_sales(small_co.spec, large_co.spec, budget_s, progress)
    progress(f"  seeded {seeding.small} + {seeding.large} sales in {seeding.seconds:.0f} s")
    cases = [
        ("GET /sales?limit=25 (manager: all, GSI1)", "admin", f"/sales?limit={PAGE}"),
        ("GET /sales?limit=25 (rep: own, GSI3)", "rep", f"/sales?limit={PAGE}"),
        ("GET /sales?status=ACCEPTED (GSI2)", "admin", f"/sales?limit={PAGE}&status=ACCEPTED"),
        ("GET /analytics/dashboard (30 days by day, manager)", "admin", "/analytics/dashboard"),
        ("GET /analytics/dashboard (90 days by week, rep)", "rep", _quarter(newest)),
    ]
    rows = []
    for label, who, path in cases:
        tokens = [c.admin.access_token if who == "admin" else c.rep_token for c in (small_co, large_co)]
        checks = [_check(target, token, path, f"{label} {n}") for n, token in enumerate(tokens)]
        small, large_summary = _time(target, [(t, path) for t in tokens], runs, warmup=max(2, runs // 10))
        rows.append(SalesRow(label, small, large_summary, checks[0], checks[1]))
    progress("  exporting the large company's sales")
    return SalesReport(rows=rows, export=_export(target, large_co), seeding=seeding)


def _quarter(newest: datetime) -> str:
    last = newest.date()
    return f"/analytics/dashboard?groupBy=week&from={(last - timedelta(days=DAYS)).isoformat()}&to={last.isoformat()}"
