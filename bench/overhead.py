"""Request overhead: a request through the whole handler path against the bare AWS calls it makes.

``compare(label, full, bare)`` is the harness; ``comparisons(target)`` lists what is measured. A capability
that adds an endpoint adds one ``Comparison`` there, e.g. ``GET /orders/{id}`` against a bare GetItem.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bench.stats import Summary, summarise, timed_ms
from bench.target import BenchError, Target, shared_clients

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = [
    "Comparison",
    "OverheadResult",
    "RoundTripTimer",
    "compare",
    "compare_interleaved",
    "comparisons",
    "run_comparisons",
]


@dataclass(frozen=True)
class Comparison:
    """One request measured two ways: through the application, and as the bare AWS calls it makes."""

    label: str
    full: Callable[[], object]
    bare: Callable[[], object]
    iterations: int = 500


class RoundTripTimer:
    """Wall time spent inside AWS calls (``before-call`` to ``after-call``: signing, HTTP, parsing) on clients.

    Subtracting it from a request's wall time leaves what runs outside the round trips (our code, and
    botocore's request building), which the server's and the network's jitter do not blur.
    """

    def __init__(self, *clients: BaseClient) -> None:
        self._clients = clients
        self._id = f"bench-round-trip-{id(self)}"
        self._started = 0
        self.total_ms = 0.0

    def __enter__(self) -> RoundTripTimer:
        for client in self._clients:
            service = client.meta.service_model.service_id.hyphenize()
            client.meta.events.register(f"before-call.{service}.*", self._start, unique_id=f"{self._id}-start")
            client.meta.events.register(f"after-call.{service}.*", self._stop, unique_id=f"{self._id}-stop")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for client in self._clients:
            service = client.meta.service_model.service_id.hyphenize()
            client.meta.events.unregister(f"before-call.{service}.*", unique_id=f"{self._id}-start")
            client.meta.events.unregister(f"after-call.{service}.*", unique_id=f"{self._id}-stop")

    def _start(self, **_: Any) -> None:
        self._started = time.perf_counter_ns()

    def _stop(self, **_: Any) -> None:
        self.total_ms += (time.perf_counter_ns() - self._started) / 1e6

    def outside_ms(self, action: Callable[[], object]) -> tuple[float, float]:
        """Run ``action`` once: (its wall time, the part of it spent outside AWS round trips), in ms."""
        self.total_ms = 0.0
        wall = timed_ms(action)
        return wall, wall - self.total_ms


@dataclass(frozen=True)
class OverheadResult:
    """Latency of the full path and of the bare path (ms), and what the application adds."""

    label: str
    full: Summary
    bare: Summary
    full_outside: Summary
    bare_outside: Summary

    @property
    def ratio(self) -> float:
        """Full median over bare median."""
        return self.full.median / self.bare.median

    @property
    def overhead_ms(self) -> float:
        """Full median minus bare median: the time our code adds per request."""
        return self.full.median - self.bare.median

    @property
    def outside_overhead_ms(self) -> float:
        """The same difference with the AWS round trips taken out of every sample first (steadier)."""
        return self.full_outside.median - self.bare_outside.median


def compare(
    label: str,
    full: Callable[[], object],
    bare: Callable[[], object],
    *,
    timer: RoundTripTimer | None = None,
    iterations: int = 500,
    warmup: int = 10,
    between: Callable[[int], object] | None = None,
) -> OverheadResult:
    """Time ``full`` and ``bare`` ``iterations`` times each, alternating (and flipping who goes first).

    ``timer``, attached to every client both paths use, also yields the overhead outside AWS round trips;
    without one that column equals the plain difference. ``between(i)``, untimed, runs before iteration ``i``
    (e.g. to empty a queue both paths fill).
    """
    pair = Comparison(label, full, bare, iterations)
    timer = timer or RoundTripTimer()
    return compare_interleaved([pair], timer=timer, iterations=iterations, warmup=warmup, between=between)[0]


def compare_interleaved(
    pairs: list[Comparison],
    *,
    timer: RoundTripTimer,
    iterations: int,
    warmup: int = 10,
    between: Callable[[int], object] | None = None,
) -> list[OverheadResult]:
    """``compare`` of every pair at once: each iteration times each pair's ``full`` and ``bare`` (alternating who
    goes first), the pairs in a rotating order, so a change of the machine's load falls on all of them alike."""
    for pair in pairs:
        for _ in range(warmup):
            pair.full()
            pair.bare()
    samples = [{"full": list[tuple[float, float]](), "bare": list[tuple[float, float]]()} for _ in pairs]
    for i in range(iterations):
        if between is not None:
            between(i)
        for k in range(len(pairs)):
            index = (i + k) % len(pairs)
            pair = pairs[index]
            order = (("full", pair.full), ("bare", pair.bare)) if i % 2 else (("bare", pair.bare), ("full", pair.full))
            for name, action in order:
                samples[index][name].append(timer.outside_ms(action))
    return [
        OverheadResult(
            label=pair.label,
            full=summarise([wall for wall, _ in taken["full"]]),
            bare=summarise([wall for wall, _ in taken["bare"]]),
            full_outside=summarise([outside for _, outside in taken["full"]]),
            bare_outside=summarise([outside for _, outside in taken["bare"]]),
        )
        for pair, taken in zip(pairs, samples, strict=True)
    ]


def run_comparisons(target: Target, measured: list[Comparison], scale: float = 1.0) -> list[OverheadResult]:
    """``compare`` each one; ``scale`` shrinks the iteration counts (a quick run)."""
    with RoundTripTimer(*shared_clients(), *target.bare_clients) as timer:
        return [
            compare(
                c.label,
                c.full,
                c.bare,
                timer=timer,
                iterations=max(5, int(c.iterations * scale)),
                warmup=max(2, int(10 * scale)),
            )
            for c in measured
        ]


def _bare_health(target: Target) -> None:
    from chalicelib.core.config import get_settings
    from chalicelib.core.resources import QUEUES, dlq_name, queue_name

    target.bare_dynamodb.describe_table(TableName=get_settings().table_name)
    for queue in QUEUES:
        for name in (queue_name(queue.kind), dlq_name(queue.kind)):
            url = target.bare_sqs.get_queue_url(QueueName=name)["QueueUrl"]
            target.bare_sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])


def comparisons(target: Target) -> list[Comparison]:
    """What is measured: every data-backed endpoint, and the data layer's reads, against bare calls."""
    from bench.dataset import PAGE_SIZE
    from chalicelib.core.db import keys
    from chalicelib.core.db.table import GSI1, PARTITION_KEY, SORT_KEY

    table, data, ddb = target.table, target.dataset, target.bare_dynamodb
    order_pk = data.order_pk(data.order_ids[-1])
    order_key: dict[str, Any] = {PARTITION_KEY: {"S": order_pk}, SORT_KEY: {"S": keys.META_SK}}
    orders_page: dict[str, Any] = {
        "IndexName": GSI1.name,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": GSI1.partition_key},
        "ExpressionAttributeValues": {":pk": {"S": data.orders_pk}},
        "Limit": PAGE_SIZE,
        "ScanIndexForward": False,
    }
    return [
        Comparison("GET /health", lambda: target.get("/health"), lambda: _bare_health(target), iterations=100),
        Comparison(
            "Table.get (data layer)",
            lambda: table.get(order_pk, keys.META_SK),
            lambda: ddb.get_item(TableName=table.name, Key=order_key),
        ),
        Comparison(
            f"Table.query_page GSI1, {PAGE_SIZE} orders (data layer)",
            lambda: table.query_page(data.orders_pk, index=GSI1, limit=PAGE_SIZE, newest_first=True),
            lambda: ddb.query(TableName=table.name, **orders_page),
            iterations=300,
        ),
        *_auth_comparisons(target),
        *_order_comparisons(target),
    ]


def _order_comparisons(target: Target) -> list[Comparison]:
    """``GET /orders/{id}`` and ``GET /orders`` against the one call a bare handler makes, then against all of them.

    As the signed-up ADMIN, on the orders its restaurant created through ``POST /orders``. The bare Query is the
    one the list makes: GSI1 partition, sort key between "0" and "9~" (no from/to), newest first. Both requests
    also read the guard's user and tenant, which the second row of each gives the bare path too.
    """
    from bench.dataset import PAGE_SIZE
    from chalicelib.core.db import keys
    from chalicelib.core.db.table import GSI1, PARTITION_KEY, SORT_KEY
    from chalicelib.orders.store import order_key
    from chalicelib.tenants.store import tenant_key
    from chalicelib.users.store import user_key

    commerce, ddb, name, user = target.commerce, target.bare_dynamodb, target.table.name, target.user
    read_id = commerce.order_ids[0]

    def key(pk_sk: tuple[str, str]) -> dict[str, Any]:
        return {PARTITION_KEY: {"S": pk_sk[0]}, SORT_KEY: {"S": pk_sk[1]}}

    order = key(order_key(user.tenant_id, read_id))
    guard = (key(user_key(user.tenant_id, user.user_id)), key(tenant_key(user.tenant_id)))
    page: dict[str, Any] = {
        "IndexName": GSI1.name,
        "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :from AND :to",
        "ExpressionAttributeNames": {"#pk": GSI1.partition_key, "#sk": GSI1.sort_key},
        "ExpressionAttributeValues": {
            ":pk": {"S": keys.collection_pk(user.tenant_id, keys.Collection.ORDERS)},
            ":from": {"S": "0"},
            ":to": {"S": "9~"},
        },
        "Limit": PAGE_SIZE,
        "ScanIndexForward": False,
    }

    def bare_get(with_guard: bool) -> None:
        for item_key in (*guard, order) if with_guard else (order,):
            ddb.get_item(TableName=name, Key=item_key)

    def bare_page(with_guard: bool) -> None:
        for item_key in guard if with_guard else ():
            ddb.get_item(TableName=name, Key=item_key)
        if len(ddb.query(TableName=name, **page)["Items"]) != PAGE_SIZE:
            raise BenchError(f"the bare Query did not return {PAGE_SIZE} orders")

    def get() -> None:
        commerce.get_order(read_id)

    def list_page() -> None:
        commerce.list_orders(f"limit={PAGE_SIZE}")

    listed = f"GET /orders?limit={PAGE_SIZE}"
    return [
        Comparison("GET /orders/{id} vs 1 bare GetItem (the order)", get, lambda: bare_get(False), iterations=200),
        Comparison(
            "GET /orders/{id} vs 3 bare GetItems (guard: user, tenant; the order)",
            get,
            lambda: bare_get(True),
            iterations=200,
        ),
        Comparison(
            f"{listed} vs 1 bare Query of GSI1 ({PAGE_SIZE} orders)",
            list_page,
            lambda: bare_page(False),
            iterations=150,
        ),
        Comparison(
            f"{listed} vs 2 bare GetItems (guard: user, tenant) + the Query",
            list_page,
            lambda: bare_page(True),
            iterations=150,
        ),
    ]


def _auth_comparisons(target: Target) -> list[Comparison]:
    """``GET /auth/me`` against one and against four bare GetItems; login against one GetItem + argon2."""
    from chalicelib.auth.passwords import verify_password
    from chalicelib.core.db.table import PARTITION_KEY, SORT_KEY
    from chalicelib.tenants.store import tenant_key
    from chalicelib.users.store import user_key

    ddb, name, user = target.bare_dynamodb, target.table.name, target.user

    def key(pk_sk: tuple[str, str]) -> dict[str, Any]:
        return {PARTITION_KEY: {"S": pk_sk[0]}, SORT_KEY: {"S": pk_sk[1]}}

    user_item, tenant_item = key(user_key(user.tenant_id, user.user_id)), key(tenant_key(user.tenant_id))

    def me() -> None:
        target.call("GET", "/auth/me", token=user.access_token)

    def bare_user() -> None:
        ddb.get_item(TableName=name, Key=user_item)

    def bare_guard() -> None:
        for item_key in (user_item, tenant_item):  # what the request reads: the caller's user and tenant
            ddb.get_item(TableName=name, Key=item_key)

    def login() -> None:
        target.call("POST", "/auth/login", {"identifier": user.email, "password": user.password})

    def bare_login() -> None:
        stored = ddb.get_item(TableName=name, Key=user_item, ConsistentRead=True)["Item"]["passwordHash"]["S"]
        if not verify_password(stored, user.password)[0]:
            raise BenchError("the stored password hash does not verify")

    return [
        Comparison("GET /auth/me vs 1 bare GetItem (user)", me, bare_user, iterations=300),
        Comparison(
            "GET /auth/me vs 2 bare GetItems (user, tenant)",
            me,
            bare_guard,
            iterations=300,
        ),
        Comparison("POST /auth/login vs 1 bare GetItem + 1 argon2id verify", login, bare_login, iterations=50),
    ]
