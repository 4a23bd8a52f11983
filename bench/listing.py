"""List latency at two tenant sizes: ``GET /orders`` of a tenant with 1 000 orders and of one with 100 000.

Two restaurants are signed up through the API. Their orders are written straight into DynamoDB Local (the API
would take hours, and the plan's monthly order limit would refuse them): BatchWriteItem from a few spawned
worker processes, each item built by the real code, an ``Order`` model whose lines ``orders.totals`` priced,
stored by the Put of ``orders.store.new_order_ops``. Keys, indexes (GSI1 by time, GSI2 by status, GSI3 by
customer) and attributes are those of an order created through ``POST /orders`` and moved along the restaurant
flow. Only the order items are written: not their history, runtime, audit and event items, nor the creator's
own-orders index, none of which the list reads.

The large tenant is written as ``SUBSETS`` interleaved parts (order ``i`` is in part ``i % SUBSETS``), each
spread over the whole period; when the time budget would run out before the next part, seeding stops there and
the report says how many orders the large tenant holds.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bench.stats import Summary, summarise, timed_ms
from bench.target import BenchError, BenchUser, Target, shared_clients

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from chalicelib.orders.models import Channel, OrderLine, OrderTotals

__all__ = [
    "LARGE_ORDERS",
    "SMALL_ORDERS",
    "ListLatencyReport",
    "ListRow",
    "PageCheck",
    "Seeding",
    "measure_list_latency",
]

SMALL_ORDERS = 1_000
LARGE_ORDERS = 100_000
SUBSETS = 10
SEED_BUDGET_S = 180.0
WORKERS = 3
PAGE = 25
DEEP_PAGES = 20  # the deep row reads page 21: the cursor of the 20th page
DAYS = 90
WINDOW_DAYS = (37, 30)  # the from/to row: a week, a month back
_BATCH = 25
_TASK = 500  # orders per worker task
_ACTIVE = ("PENDING", "CONFIRMED", "PREPARING", "READY")
_NEWEST_ACTIVE = 12  # the newest orders are still moving; the rest delivered, one in 20 cancelled
_CHANNELS: tuple[Channel, ...] = ("pos", "web", "whatsapp")
# (name, price, tax rate %): the restaurant's menu; each order has one to three lines of it.
_MENU = (
    ("Pizza Margherita", "39.90", "10"),
    ("Guaraná 350 ml", "6.55", "0"),
    ("Pão de queijo", "6.50", "0"),
    ("Lasanha à bolonhesa", "42.00", "10"),
    ("Suco de laranja", "9.90", "0"),
    ("Pudim de leite", "12.00", "5"),
)
_COMBOS = 7  # line combinations (coprime with SUBSETS, so every part holds each of them)
_CUSTOMERS = 500


# --- seeding (runs in the worker processes) -------------------------------------------------------------------


@dataclass(frozen=True)
class _TenantSpec:
    """What a worker needs to build any order ``i`` of a tenant (picklable)."""

    tenant_id: str
    user_id: str
    planned: int
    workflow_version: int
    newest: str
    product_ids: tuple[str, ...]
    customer_ids: tuple[str, ...]


@cache
def _combos(product_ids: tuple[str, ...]) -> list[tuple[list[OrderLine], OrderTotals]]:
    from chalicelib.core.money import Money
    from chalicelib.orders.totals import Priced, price_line, sum_lines

    menu = [
        Priced(product_id, f"BP{n:06d}", name, "product", Money.of(price, "BRL"), Decimal(rate))
        for n, (product_id, (name, price, rate)) in enumerate(zip(product_ids, _MENU, strict=True))
    ]
    combos = []
    for k in range(_COMBOS):
        lines = [price_line(menu[(k + j) % len(menu)], 1 + (k + j) % 3, None) for j in range(1 + k % 3)]
        combos.append((lines, sum_lines(lines, "BRL")))
    return combos


def _status(spec: _TenantSpec, i: int) -> tuple[str, int, dict[str, Any]]:
    """Order ``i``'s status, its version (transitions + 1) and what its transitions wrote (orders.service)."""
    age = spec.planned - 1 - i
    if age < _NEWEST_ACTIVE:
        status = _ACTIVE[age % len(_ACTIVE)]
        version = _ACTIVE.index(status) + 1
        return status, version, {"stockState": "reserved"} if version > 1 else {}
    if (i // SUBSETS) % 20 == 7:
        return "CANCELLED", 2, {}  # cancelled while pending: nothing was reserved
    return "DELIVERED", 5, {"stockState": "consumed"}


def _order_item(spec: _TenantSpec, i: int) -> dict[str, Any]:
    """The DynamoDB item (wire format) of the tenant's order ``i`` (0 is the oldest), as ``new_order_ops`` puts it."""
    from chalicelib.core import clock
    from chalicelib.core.ids import new_id
    from chalicelib.orders.models import Order
    from chalicelib.orders.store import new_order_ops
    from chalicelib.workflows.engine import STATUS, STATUS_CHANGED_AT, WORKFLOW_VERSION

    newest = datetime.fromisoformat(spec.newest)
    moment = newest - timedelta(seconds=(spec.planned - 1 - i) * DAYS * 86_400 / spec.planned)
    created = clock.isoformat(moment)
    status, version, effects = _status(spec, i)
    changed = clock.isoformat(moment + timedelta(minutes=7 * (version - 1))) if version > 1 else created
    if status in ("DELIVERED", "CANCELLED"):
        effects = {**effects, "closedAt": changed}
    lines, totals = _combos(spec.product_ids)[i % _COMBOS]
    part = i // SUBSETS
    order = Order(
        id=new_id(moment),
        tenant_id=spec.tenant_id,
        number=i + 1,
        customer_id=spec.customer_ids[(part * 31 + i) % len(spec.customer_ids)] if part % 3 == 0 else None,
        channel=_CHANNELS[(part + i) % len(_CHANNELS)],
        items=lines,
        totals=totals,
        status=status,
        workflow_version=spec.workflow_version,
        notes="Sem cebola, por favor." if i % 9 == 0 else None,
        created_by=spec.user_id,
        created_at=created,
        updated_at=changed,
        status_changed_at=changed,
        version=version,
    )
    workflow = {STATUS: status, STATUS_CHANGED_AT: changed, WORKFLOW_VERSION: spec.workflow_version, **effects}
    item: dict[str, Any] = new_order_ops(order, workflow)[0].body["Item"]
    return item


@cache
def _seed_client() -> tuple[DynamoDBClient, str]:
    import boto3
    from botocore.config import Config

    from chalicelib.core.config import get_settings

    config = Config(parameter_validation=False, retries={"mode": "standard", "max_attempts": 10})
    return boto3.client("dynamodb", config=config), get_settings().table_name


def _write(spec: _TenantSpec, indices: range) -> int:
    """Build and write orders ``indices`` of the tenant, 25 a BatchWriteItem; the number written."""
    client, table = _seed_client()
    written = 0
    for start in range(0, len(indices), _BATCH):
        pending: Any = {
            table: [{"PutRequest": {"Item": _order_item(spec, i)}} for i in indices[start : start + _BATCH]]
        }
        for attempt in range(100):
            unprocessed = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not unprocessed:
                break
            pending = unprocessed
            time.sleep(min(1.0, 0.02 * 2**attempt))
        else:
            raise BenchError("DynamoDB Local kept items unprocessed")
        written += len(indices[start : start + _BATCH])
    return written


# --- seeding (the parent) -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeding:
    """How the two tenants were filled."""

    small: int
    large: int
    planned_large: int
    seconds: float
    workers: int
    budget_s: float

    @property
    def per_second(self) -> float:
        """Orders written per second, both tenants."""
        return (self.small + self.large) / self.seconds


def _tasks(spec: _TenantSpec, part: int | None) -> Iterator[range]:
    """The tenant's orders (or those of one interleaved part) in worker-sized ranges."""
    step = 1 if part is None else SUBSETS
    first = 0 if part is None else part
    span = _TASK * step
    for start in range(first, spec.planned, span):
        yield range(start, min(spec.planned, start + span), step)


def _spec(user: BenchUser, planned: int, newest: datetime) -> _TenantSpec:
    from chalicelib.core import clock
    from chalicelib.core.ids import new_id
    from chalicelib.workflows.engine import WORKFLOW_VERSION, initial_fields

    # What POST /orders does first: the tenant's order workflow version (stored on first use).
    version = int(initial_fields(user.tenant_id, "order")[WORKFLOW_VERSION])
    return _TenantSpec(
        tenant_id=user.tenant_id,
        user_id=user.user_id,
        planned=planned,
        workflow_version=version,
        newest=clock.isoformat(newest),
        product_ids=tuple(new_id() for _ in _MENU),
        customer_ids=tuple(new_id() for _ in range(_CUSTOMERS)),
    )


def _seed(small: _TenantSpec, large: _TenantSpec, budget_s: float, progress: Callable[[str], None]) -> Seeding:
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")  # a fork would copy this process's threads and sockets
    with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:

        def write(spec: _TenantSpec, part: int | None) -> int:
            tasks = list(_tasks(spec, part))
            return sum(pool.map(_write, [spec] * len(tasks), tasks))

        written_small = write(small, None)
        progress(f"  {written_small} orders of the small tenant in {time.monotonic() - started:.0f} s")
        written_large = 0
        for part in range(SUBSETS):
            written_large += write(large, part)
            elapsed = time.monotonic() - started
            rate = (written_small + written_large) / elapsed
            progress(f"  {written_large} orders of the large tenant, {elapsed:.0f} s, {rate:.0f} orders/s")
            next_part = len(range(part + 1, large.planned, SUBSETS)) if part + 1 < SUBSETS else 0
            if next_part and elapsed + next_part / rate > budget_s:
                progress(f"  stopping at {written_large}: the next part would pass the {budget_s:.0f} s budget")
                break
    return Seeding(written_small, written_large, large.planned, time.monotonic() - started, WORKERS, budget_s)


# --- measuring ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageCheck:
    """What the page's Query read: items returned (Count), items read (ScannedCount), read units by index."""

    returned: int
    scanned: int
    read_units: float
    index: str


@dataclass(frozen=True)
class ListRow:
    """One kind of page, timed against both tenants."""

    label: str
    small: Summary
    large: Summary
    small_check: PageCheck
    large_check: PageCheck

    @property
    def ratio(self) -> float:
        """Large tenant's median over the small tenant's."""
        return self.large.median / self.small.median


@dataclass(frozen=True)
class ListLatencyReport:
    """The rows, and how the data was made."""

    rows: list[ListRow]
    seeding: Seeding

    @property
    def reads_only_what_it_returns(self) -> bool:
        """ScannedCount equals Count on every measured page of both tenants."""
        return all(c.returned == c.scanned for r in self.rows for c in (r.small_check, r.large_check))


@dataclass(frozen=True)
class _Case:
    label: str
    query: str
    depth: int = 0


def _cases(newest: datetime) -> list[_Case]:
    from chalicelib.core import clock

    since, until = (quote(clock.isoformat(newest - timedelta(days=days))) for days in WINDOW_DAYS)
    return [
        _Case(f"first page (limit={PAGE}, GSI1)", f"limit={PAGE}"),
        _Case(f"page {DEEP_PAGES + 1} via cursor (GSI1)", f"limit={PAGE}", depth=DEEP_PAGES),
        _Case(
            f"from/to: {WINDOW_DAYS[0] - WINDOW_DAYS[1]} days ending {WINDOW_DAYS[1]} days back (GSI1)",
            f"limit={PAGE}&from={since}&to={until}",
        ),
        _Case("status=DELIVERED (GSI2)", f"limit={PAGE}&status=DELIVERED"),
    ]


def _path(target: Target, user: BenchUser, case: _Case) -> str:
    """The measured request: the case's query, with the cursor of page ``depth`` followed from the first."""
    path = f"/orders?{case.query}"
    for _ in range(case.depth):
        cursor = target.json("GET", path, token=user.access_token)["nextCursor"]
        if not cursor:
            raise BenchError(f"{case.label}: the list ended before page {case.depth + 1}")
        path = f"/orders?{case.query}&cursor={quote(cursor)}"
    return path


def _check(target: Target, user: BenchUser, path: str, label: str) -> PageCheck:
    from bench.capacity import CapacityMeter

    dynamodb, *_ = shared_clients()
    with CapacityMeter(dynamodb) as meter, meter.operation(label):
        answer = target.json("GET", path, token=user.access_token)
    if len(answer["items"]) != PAGE:
        raise BenchError(f"{label}: a page of {len(answer['items'])} orders, expected {PAGE}")
    usage = meter.usage[label]
    if usage.dynamodb_calls["Query"] != 1:
        raise BenchError(f"{label}: {usage.dynamodb_calls['Query']} Queries, expected 1")
    indexes = [(name, units[0]) for name, units in usage.by_target.items() if name.startswith("GSI") and units[0]]
    index, units = indexes[0] if len(indexes) == 1 else ("?", usage.read_units)
    return PageCheck(returned=usage.returned, scanned=usage.scanned, read_units=units, index=index)


def _time(target: Target, requests: Sequence[tuple[BenchUser, str]], runs: int, warmup: int) -> list[Summary]:
    """Time each request ``runs`` times, interleaved (the order rotates every round), after a warm-up."""

    def request(user: BenchUser, path: str) -> Callable[[], object]:
        return lambda: target.call("GET", path, token=user.access_token)

    actions = [request(user, path) for user, path in requests]
    for _ in range(warmup):
        for action in actions:
            action()
    samples: list[list[float]] = [[] for _ in actions]
    for n in range(runs):
        for k in range(len(actions)):
            i = (k + n) % len(actions)
            samples[i].append(timed_ms(actions[i]))
    return [summarise(s) for s in samples]


def measure_list_latency(
    target: Target,
    *,
    large: int = LARGE_ORDERS,
    runs: int = 60,
    budget_s: float = SEED_BUDGET_S,
    progress: Callable[[str], None] = print,
) -> ListLatencyReport:
    """Sign up two restaurants, seed ``SMALL_ORDERS`` and up to ``large`` orders, time four kinds of page."""
    from chalicelib.core import clock

    newest = clock.now() - timedelta(hours=1)
    small_user, large_user = target.sign_up(), target.sign_up()
    seeding = _seed(_spec(small_user, SMALL_ORDERS, newest), _spec(large_user, large, newest), budget_s, progress)
    progress(f"  seeded {seeding.small} + {seeding.large} orders in {seeding.seconds:.0f} s")
    rows = []
    for case in _cases(newest):
        paths = [(user, _path(target, user, case)) for user in (small_user, large_user)]
        checks = [_check(target, user, path, f"{case.label} {user.tenant_id}") for user, path in paths]
        small, large_summary = _time(target, paths, runs, warmup=max(2, runs // 10))
        rows.append(ListRow(case.label, small, large_summary, checks[0], checks[1]))
    return ListLatencyReport(rows=rows, seeding=seeding)
