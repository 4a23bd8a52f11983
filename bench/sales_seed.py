"""The data of the sales bench: two companies signed up through the API, each with two reps, and their sales written
straight into DynamoDB Local (the API would take hours), from spawned worker processes.

Each sale is built by the real code (``Sale`` with ``sales.amounts``), stored by the Put of
``sales.store.new_sale_ops`` (GSI1 by date, GSI2 by status, GSI3 by rep), spread over 90 days, four in five of them
completed. The dashboard's aggregates are built by the real consumer: every sale's ``sale.created`` event and, for a
completed one, its ``sale.status_changed`` to COMPLETED go, as the EventBridge envelopes the analytics queue
delivers, through ``analytics.service.handle_batch`` (failed records — the consumer reports them when a transaction
met another — are handed to it again, as SQS would).

The large company is written in interleaved tenths (sale ``i`` in tenth ``i % 10``); seeding stops at a tenth
boundary when the budget would run out, and ``Seeding`` says how many sales it holds.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from bench.target import BenchError, BenchUser, Target

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["DAYS", "SEED_BUDGET_S", "Company", "Seeding", "TenantSpec", "seed_sales", "sign_up_company"]

SEED_BUDGET_S = 240.0
SUBSETS = 10
WORKERS = 2
DAYS = 90
_BATCH = 25
_TASK = 500  # sales per worker task
_EVENTS_PER_CALL = 500  # records per handle_batch call (the queue's batch window gathers up to this many)
_SERVICES = (("Hovedrengøring", "1200"), ("Vinduespudsning", "400"), ("Flytterengøring", "2500"))
_OPEN = ("PENDING", "ACCEPTED", "SCHEDULED", "IN_PROGRESS")
CURRENCY = "BRL"  # the bench companies sign up as the bench target's other tenants do (Brazilian defaults)


@dataclass(frozen=True)
class TenantSpec:
    """What a worker needs to build any sale ``i`` of a company (picklable)."""

    tenant_id: str
    reps: tuple[str, ...]
    planned: int
    workflow_version: int
    newest: str
    service_ids: tuple[str, ...]
    customer_ids: tuple[str, ...]


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _sale_id(spec: TenantSpec, i: int, moment: datetime) -> str:
    """Sale ``i``'s ULID: its time, and a random part derived from (company, i), so the process that applies the
    sale's events builds the same sale as the one that wrote it."""
    import hashlib

    from chalicelib.core.ids import new_id

    digest = int.from_bytes(hashlib.sha256(f"{spec.tenant_id}:{i}".encode()).digest()[:10], "big")
    tail = "".join(_CROCKFORD[(digest >> (5 * k)) & 31] for k in range(16))
    return new_id(moment)[:10] + tail


def _sale(spec: TenantSpec, i: int) -> Any:
    """Sale ``i`` of the company (0 is the oldest), in its final state: four in five completed."""
    from chalicelib.core import clock
    from chalicelib.core.money import Money
    from chalicelib.sales.amounts import compute_amounts
    from chalicelib.sales.models import Sale

    moment = datetime.fromisoformat(spec.newest) - timedelta(
        seconds=(spec.planned - 1 - i) * DAYS * 86_400 / spec.planned
    )
    created = clock.isoformat(moment)
    name, price = _SERVICES[i % len(_SERVICES)]
    completed = i % 5 != 0
    closed = clock.isoformat(moment + timedelta(days=2)) if completed else None
    return Sale(
        id=_sale_id(spec, i, moment),
        tenant_id=spec.tenant_id,
        number=f"S-{moment.year}-{i + 1:06d}",
        customer_id=spec.customer_ids[i % len(spec.customer_ids)],
        service_id=spec.service_ids[i % len(_SERVICES)],
        service_name=name,
        assigned_to=spec.reps[i % len(spec.reps)],
        source=("web", "phone", "email", "referral", "whatsapp")[i % 5],
        amounts=compute_amounts(Money.of(price, CURRENCY), None, Decimal(25), CURRENCY),
        status="COMPLETED" if completed else _OPEN[i % len(_OPEN)],
        workflow_version=spec.workflow_version,
        status_changed_at=closed or created,
        closed_at=closed,
        outcome="completed" if completed else None,
        created_by=spec.reps[i % len(spec.reps)],
        created_at=created,
        updated_at=closed or created,
        version=5 if completed else 1,
    )


def _envelopes(spec: TenantSpec, sale: Any) -> list[dict[str, Any]]:
    """The events the sale's life wrote, as the analytics queue delivers them (EventBridge envelopes)."""
    from chalicelib.core.ids import new_id
    from chalicelib.sales.service import snapshot

    item = sale.model_dump(exclude_none=True)
    opened = {**snapshot({**item, "status": "PENDING"})}
    opened.pop("closedAt", None)
    opened.pop("outcome", None)
    events: list[tuple[str, dict[str, Any], str]] = [("sale.created", {"sale": opened}, sale.created_at)]
    if sale.closed_at:
        data = {"from": "PENDING", "to": "COMPLETED", "sale": snapshot(item), "outcome": "completed"}
        events.append(("sale.status_changed", data, sale.closed_at))
    return [
        {
            "detail-type": kind,
            "source": "btrix",
            "detail": {
                "id": new_id(datetime.fromisoformat(at)),
                "type": kind,
                "tenantId": spec.tenant_id,
                "occurredAt": at,
                "subject": sale.id,
                "data": data,
            },
        }
        for kind, data, at in events
    ]


@cache
def _seed_client() -> tuple[DynamoDBClient, str]:
    import boto3
    from botocore.config import Config

    from chalicelib.core.config import get_settings

    config = Config(parameter_validation=False, retries={"mode": "standard", "max_attempts": 10})
    return boto3.client("dynamodb", config=config), get_settings().table_name


def _apply(records: list[dict[str, Any]]) -> None:
    """Hand the records to the analytics consumer until none fails (what SQS redelivery would do)."""
    from chalicelib.analytics.service import handle_batch

    pending = records
    for attempt in range(50):
        failed = {f["itemIdentifier"] for f in handle_batch({"Records": pending})["batchItemFailures"]}
        if not failed:
            return
        pending = [r for r in pending if r["messageId"] in failed]
        time.sleep(min(1.0, 0.05 * 2**attempt))
    raise BenchError("the analytics consumer kept failing records")


def _write(spec: TenantSpec, indices: range) -> int:
    """Write sales ``indices`` of the company, 25 a BatchWriteItem; the number written."""
    from chalicelib.sales.store import new_sale_ops
    from chalicelib.workflows.engine import STATUS, STATUS_CHANGED_AT, WORKFLOW_VERSION

    client, table = _seed_client()
    sales = [_sale(spec, i) for i in indices]
    for start in range(0, len(sales), _BATCH):
        items = [
            new_sale_ops(
                s,
                {STATUS: s.status, STATUS_CHANGED_AT: s.status_changed_at, WORKFLOW_VERSION: spec.workflow_version},
            )[0].body["Item"]
            for s in sales[start : start + _BATCH]
        ]
        pending: Any = {table: [{"PutRequest": {"Item": item}} for item in items]}
        for attempt in range(100):
            unprocessed = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not unprocessed:
                break
            pending = unprocessed
            time.sleep(min(1.0, 0.02 * 2**attempt))
        else:
            raise BenchError("DynamoDB Local kept items unprocessed")
    return len(sales)


def _deliver(spec: TenantSpec, indices: range) -> int:
    """Deliver the events of sales ``indices`` to the analytics consumer, in time order (one process does all of
    a company's, as one consumer at a time mostly would); the number of events."""
    from chalicelib.core.db.store import tenant_scope

    envelopes = [envelope for i in indices for envelope in _envelopes(spec, _sale(spec, i))]
    envelopes.sort(key=lambda e: str(e["detail"]["occurredAt"]))
    records = [{"messageId": str(n), "body": json.dumps(e)} for n, e in enumerate(envelopes)]
    with tenant_scope(spec.tenant_id):
        for start in range(0, len(records), _EVENTS_PER_CALL):
            _apply(records[start : start + _EVENTS_PER_CALL])
    return len(records)


@dataclass(frozen=True)
class Seeding:
    """How the two companies were filled."""

    small: int
    large: int
    planned_large: int
    seconds: float
    budget_s: float

    @property
    def per_second(self) -> float:
        """Sales written (and their events applied) per second, both companies."""
        return (self.small + self.large) / self.seconds


def _tenths(spec: TenantSpec) -> list[list[range]]:
    """The company's sales as contiguous tasks (so a task's events share days and hours), dealt into ten groups
    that each cover the whole period (task k in group k % 10): a seeding stopped after some groups still spans it."""
    tasks = [range(start, min(spec.planned, start + _TASK)) for start in range(0, spec.planned, _TASK)]
    return [tasks[part::SUBSETS] for part in range(SUBSETS)]


def seed_sales(small: TenantSpec, large: TenantSpec, budget_s: float, progress: Callable[[str], None]) -> Seeding:
    """Write both companies' sales and apply their events; the large one stops at a tenth that would pass the budget."""
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")  # a fork would copy this process's threads and sockets
    with (
        ProcessPoolExecutor(WORKERS, mp_context=context) as writers,
        ProcessPoolExecutor(1, mp_context=context) as consumer,
    ):

        def fill(spec: TenantSpec, tasks: list[range]) -> int:
            events = [consumer.submit(_deliver, spec, task) for task in tasks]
            written = sum(writers.map(_write, [spec] * len(tasks), tasks))
            for future in events:
                future.result()
            return written

        written_small = sum(fill(small, tasks) for tasks in _tenths(small))
        elapsed = time.monotonic() - started
        progress(f"  {written_small} sales (and their events) of the small company in {elapsed:.0f} s")
        written_large = 0
        groups = _tenths(large)
        for part, tasks in enumerate(groups):
            written_large += fill(large, tasks)
            elapsed = time.monotonic() - started
            rate = (written_small + written_large) / elapsed
            progress(f"  {written_large} sales of the large company, {elapsed:.0f} s, {rate:.0f} sales/s")
            following = sum(len(task) for task in groups[part + 1]) if part + 1 < len(groups) else 0
            if following and elapsed + following / rate > budget_s:
                progress(f"  stopping at {written_large}: the next tenth would pass the {budget_s:.0f} s budget")
                break
    return Seeding(written_small, written_large, large.planned, time.monotonic() - started, budget_s)


# --- the companies --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Company:
    """A signed-up company: its ADMIN, one of its reps (signed in), what its sales refer to."""

    admin: BenchUser
    rep_token: str
    spec: TenantSpec


def _rep(target: Target, admin: BenchUser, n: int) -> tuple[str, str]:
    """Invite a sales rep through ``POST /users`` and accept the invitation (as its email link would); returns
    (user id, access token)."""
    from urllib.parse import parse_qs, urlsplit

    from chalicelib.notifications.outbox import list_messages

    email = f"rep{n}-{admin.email}"
    body = {"email": email, "name": f"Rep {n}", "role": "SALES_REP"}
    user_id = str(json.loads(target.call("POST", "/users", body, token=admin.access_token, expect=201).body)["id"])
    link = next(m for m in list_messages(admin.tenant_id) if m.to == email).variables["link"]
    token = parse_qs(urlsplit(str(link)).query)["token"][0]
    answer = target.json("POST", "/auth/set-password", {"token": token, "password": admin.password})
    return user_id, str(answer["accessToken"])


def sign_up_company(target: Target, planned: int, newest: datetime) -> Company:
    """Sign a company up with the three services its sales sell and two reps; its spec for ``planned`` sales."""
    from chalicelib.core import clock
    from chalicelib.core.db.store import tenant_scope
    from chalicelib.core.ids import new_id
    from chalicelib.workflows.engine import WORKFLOW_VERSION, initial_fields

    admin = target.sign_up()
    services = []
    for name, price in _SERVICES:
        body: dict[str, Any] = {"kind": "service", "name": name, "price": {"amount": price, "currency": CURRENCY}}
        body |= {"taxRate": "25", "durationMinutes": 120}
        created = target.call("POST", "/products", body, token=admin.access_token, expect=201)
        services.append(str(json.loads(created.body)["id"]))
    reps = [_rep(target, admin, n) for n in range(2)]
    with tenant_scope(admin.tenant_id):
        # What POST /sales does first: the company's sale workflow version (stored on first use).
        version = int(initial_fields(admin.tenant_id, "sale")[WORKFLOW_VERSION])
    spec = TenantSpec(
        tenant_id=admin.tenant_id,
        reps=tuple(user_id for user_id, _ in reps),
        planned=planned,
        workflow_version=version,
        newest=clock.isoformat(newest),
        service_ids=tuple(services),
        customer_ids=tuple(new_id() for _ in range(200)),
    )
    return Company(admin, reps[0][1], spec)
