"""Consumed capacity per operation, read from DynamoDB's ReturnConsumedCapacity through botocore event hooks.

The hooks sit on the shared clients' event systems (``client.meta.events``): ``provide-client-params`` asks
DynamoDB for the capacity, ``after-call`` reads it from the parsed response. The application is unchanged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bench.target import BenchError, Target, shared_clients

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.model import OperationModel

__all__ = ["CapacityMeter", "CapacityRow", "Usage", "measure_capacity"]

_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
TABLE = "table"


@dataclass
class Usage:
    """What one labelled operation cost, summed over its runs."""

    runs: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    dynamodb_calls: Counter[str] = field(default_factory=Counter)
    read_units: float = 0.0
    write_units: float = 0.0
    # Items Query/Scan returned (Count) and read before any filter (ScannedCount), summed over their calls.
    returned: int = 0
    scanned: int = 0
    # (read units, write units) per table or index name: one request can read some and write others.
    by_target: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0.0, 0.0]))


def _service(client: BaseClient) -> str:
    return str(client.meta.service_model.service_id.hyphenize())


class CapacityMeter:
    """Counts AWS calls and DynamoDB capacity per labelled operation (``with meter.operation(label)``).

    Attach it (``with meter:``) to the DynamoDB client and to any other client whose calls should be
    counted; calls made outside an ``operation`` block are not touched.
    """

    def __init__(self, dynamodb: BaseClient, *others: BaseClient) -> None:
        self._dynamodb = dynamodb
        self._clients = (dynamodb, *others)
        self._label: str | None = None
        self._id = f"bench-capacity-{id(self)}"
        self.usage: dict[str, Usage] = {}

    def __enter__(self) -> CapacityMeter:
        events = self._dynamodb.meta.events
        events.register("provide-client-params.dynamodb.*", self._ask_capacity, unique_id=f"{self._id}-ask")
        for client in self._clients:
            client.meta.events.register(
                f"after-call.{_service(client)}.*", self._record, unique_id=f"{self._id}-record"
            )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._dynamodb.meta.events.unregister("provide-client-params.dynamodb.*", unique_id=f"{self._id}-ask")
        for client in self._clients:
            client.meta.events.unregister(f"after-call.{_service(client)}.*", unique_id=f"{self._id}-record")

    @contextmanager
    def operation(self, label: str) -> Iterator[None]:
        """Attribute the calls made inside the block to ``label`` (one run of it)."""
        self.usage.setdefault(label, Usage()).runs += 1
        self._label = label
        try:
            yield
        finally:
            self._label = None

    def _ask_capacity(self, params: dict[str, Any], model: OperationModel, **_: Any) -> None:
        shape = model.input_shape
        if self._label is not None and shape is not None and "ReturnConsumedCapacity" in shape.members:
            params.setdefault("ReturnConsumedCapacity", "INDEXES")

    def _record(self, parsed: dict[str, Any], model: OperationModel, **_: Any) -> None:
        if self._label is None:
            return
        usage = self.usage[self._label]
        service = str(model.service_model.service_id.hyphenize())
        usage.calls[service] += 1
        if service == "dynamodb":
            usage.dynamodb_calls[model.name] += 1
            if "ScannedCount" in parsed:
                usage.returned += int(parsed.get("Count", 0))
                usage.scanned += int(parsed["ScannedCount"])
        consumed = parsed.get("ConsumedCapacity")
        entries: list[dict[str, Any]] = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        for entry in entries:
            read, write = _split(entry, model.name)
            usage.read_units += read
            usage.write_units += write
            parts = {TABLE: entry.get("Table", {})}
            for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                parts.update(entry.get(kind, {}))
            for name, part in parts.items():
                part_read, part_write = _split(part, model.name)
                usage.by_target[name][0] += part_read
                usage.by_target[name][1] += part_write


def _split(capacity: dict[str, Any], operation: str) -> tuple[float, float]:
    """(read units, write units) of a ConsumedCapacity entry or of its Table/index part."""
    read, write = capacity.get("ReadCapacityUnits"), capacity.get("WriteCapacityUnits")
    if read is None and write is None:
        # DynamoDB Local reports CapacityUnits only: the operation says which kind they are.
        units = float(capacity.get("CapacityUnits", 0.0))
        read = units if operation in _READS else 0.0
        write = units if operation in _WRITES else 0.0
    return float(read or 0.0), float(write or 0.0)


@dataclass(frozen=True)
class CapacityRow:
    """One operation's cost per run: AWS calls by service (and DynamoDB's by operation), units by table/index.

    ``by_target`` maps the table (``TABLE``) and each index to its (read units, write units).
    """

    label: str
    runs: int
    calls: dict[str, float]
    dynamodb_calls: dict[str, float]
    read_units: float
    write_units: float
    by_target: dict[str, tuple[float, float]]
    items: str


@dataclass(frozen=True)
class _Operation:
    label: str
    action: Callable[[], object]
    items: str
    # Run before every run of ``action``, outside the measured block (e.g. a fresh order to move).
    prepare: Callable[[], object] | None = None


def _operations(target: Target) -> list[_Operation]:
    from bench.dataset import LINE, PAGE_SIZE, item_size, line_item, order_item
    from chalicelib.core.db import keys
    from chalicelib.core.db.store import put_op
    from chalicelib.core.db.table import GSI1
    from chalicelib.core.events import event_item, event_put_op, new_event

    table, data = target.table, target.dataset
    tenant = data.tenant_id
    read_pk = data.order_pk(data.order_ids[-1])
    updated_pk = data.order_pk(data.order_ids[1])
    version = int((table.get(updated_pk, keys.META_SK) or {}).get("version", 1))

    def full_page(items: Sequence[object], what: str) -> None:
        if len(items) != PAGE_SIZE:
            raise BenchError(f"{what}: a page of {len(items)} items, expected {PAGE_SIZE}")

    def get(consistent: bool) -> None:
        if table.get(read_pk, keys.META_SK, consistent=consistent) is None:
            raise BenchError("the seeded order is missing")

    def update() -> None:
        nonlocal version
        item = table.update_versioned(updated_pk, keys.META_SK, {"status": "paid"}, expected_version=version)
        version = int(item["version"])

    def create_with_event() -> None:
        order = order_item(tenant)
        event = new_event("order.created", tenant, {"orderId": order["id"]}, subject=str(order["id"]))
        table.transact([put_op(order), event_put_op(event)])

    order = f"1 order ≈ {item_size(order_item(tenant))} B"
    sample_event = event_item(new_event("order.created", tenant, {"orderId": data.order_ids[0]}))
    lines = f"{PAGE_SIZE} lines ≈ {item_size(line_item(tenant, data.lined_order_id, 1))} B each"
    orders = f"{PAGE_SIZE} orders ≈ {item_size(order_item(tenant))} B each"
    return [
        _Operation("Table.get, eventually consistent", lambda: get(False), order),
        _Operation("Table.get, consistent", lambda: get(True), order),
        _Operation("Table.put_new (order on GSI1)", lambda: table.put_new(order_item(tenant)), order),
        _Operation("Table.update_versioned (1 field)", update, order),
        _Operation(
            f"Table.query_page table, {PAGE_SIZE} lines",
            lambda: full_page(
                table.query_page(
                    data.order_pk(data.lined_order_id), sort_prefix=keys.child_prefix(LINE), limit=PAGE_SIZE
                ).items,
                "order lines",
            ),
            lines,
        ),
        _Operation(
            f"Table.query_page GSI1, {PAGE_SIZE} orders",
            lambda: full_page(
                table.query_page(data.orders_pk, index=GSI1, limit=PAGE_SIZE, newest_first=True).items, "orders"
            ),
            orders,
        ),
        _Operation(
            "Table.transact: order + outbox event",
            create_with_event,
            f"{order} + 1 event ≈ {item_size(sample_event)} B",
        ),
        _Operation("GET /health (HTTP through the app)", lambda: target.get("/health"), "DescribeTable, SQS"),
        *_auth_operations(target),
        *_order_operations(target),
    ]


def _auth_operations(target: Target) -> list[_Operation]:
    """Login, refresh and the current user, over HTTP as the signed-up ADMIN (a new client IP per request)."""
    from bench.dataset import item_size
    from chalicelib.tenants.store import tenant_key
    from chalicelib.users.store import user_key

    user = target.user
    refresh_token = user.refresh_token
    stored_user = target.table.get(*user_key(user.tenant_id, user.user_id)) or {}
    stored_tenant = target.table.get(*tenant_key(user.tenant_id)) or {}
    if not stored_user or not stored_tenant:
        raise BenchError("the signed-up user or its tenant is missing")
    sizes = f"user ≈ {item_size(stored_user)} B, tenant ≈ {item_size(stored_tenant)} B"

    def login() -> None:
        answer = target.json("POST", "/auth/login", {"identifier": user.email, "password": user.password})
        if not answer.get("accessToken"):
            raise BenchError("POST /auth/login gave no access token")

    def refresh() -> None:
        nonlocal refresh_token  # each refresh uses up the token: the next run presents the one it got
        refresh_token = str(target.json("POST", "/auth/refresh", {"refreshToken": refresh_token})["refreshToken"])

    def me() -> None:
        if target.json("GET", "/auth/me", token=user.access_token)["user"]["id"] != user.user_id:
            raise BenchError("GET /auth/me answered for another user")

    return [
        _Operation(
            "POST /auth/login (HTTP, email + password)",
            login,
            f"{sizes}; puts session, refresh token, audit entry (on GSI1, GSI2)",
        ),
        _Operation(
            "POST /auth/refresh (HTTP)",
            refresh,
            f"{sizes}; Update + ConditionCheck + Put rotate the refresh token",
        ),
        _Operation(
            "GET /auth/me (HTTP, bearer token)",
            me,
            f"{sizes}, read once by the guard's BatchGetItem (the handler reuses them)",
        ),
    ]


def _order_operations(target: Target) -> list[_Operation]:
    """The order endpoints over HTTP as the signed-up ADMIN, in its restaurant (``Target.commerce``)."""
    from bench.dataset import PAGE_SIZE, item_size
    from chalicelib.orders.store import order_key

    commerce, user = target.commerce, target.user
    read_id = commerce.order_ids[0]
    stored = target.table.get(*order_key(user.tenant_id, read_id))
    if stored is None:
        raise BenchError("an order created through the API is missing")
    order = f"1 order (1 line) ≈ {item_size(stored)} B"
    pending: list[dict[str, Any]] = []
    commerce.list_orders()  # a warm container holds the cursor-signing secret (cached 5 minutes)

    def get() -> None:
        if commerce.get_order(read_id)["id"] != read_id:
            raise BenchError("GET /orders/{id} answered another order")

    def page() -> None:
        items = commerce.list_orders(f"limit={PAGE_SIZE}")["items"]
        if len(items) != PAGE_SIZE:
            raise BenchError(f"GET /orders: a page of {len(items)} orders, expected {PAGE_SIZE}")

    def new_parked_order() -> None:
        created = commerce.create_order()
        commerce.wait_parked(str(created["id"]))
        pending.append(created)

    return [
        _Operation(
            "POST /orders (HTTP, 1 line, product in stock)",
            commerce.create_order,
            f"{order}; a transaction of 5 writes, then one recording the execution",
        ),
        _Operation("GET /orders/{id} (HTTP)", get, f"{order}, plus the guard's user and tenant"),
        _Operation(
            f"GET /orders?limit={PAGE_SIZE} (HTTP, GSI1)",
            page,
            f"{PAGE_SIZE} orders ≈ {item_size(stored)} B each, plus the guard's user and tenant",
        ),
        _Operation(
            "POST /orders/{id}/transitions PENDING→CONFIRMED (HTTP, reserves stock)",
            lambda: commerce.transition(pending.pop(), "CONFIRMED"),
            f"{order}; a transaction of 7 writes; execution parked on PENDING (a new order each run)",
            prepare=new_parked_order,
        ),
    ]


def measure_capacity(target: Target, runs: int = 3) -> list[CapacityRow]:
    """Run every operation ``runs`` times under a ``CapacityMeter``; the rows are per-run averages."""
    operations = _operations(target)
    dynamodb, *others = shared_clients()
    with CapacityMeter(dynamodb, *others) as meter:
        for _ in range(runs):
            for operation in operations:
                if operation.prepare is not None:
                    operation.prepare()
                with meter.operation(operation.label):
                    operation.action()
    rows = []
    for operation in operations:
        usage = meter.usage[operation.label]
        per_run = float(usage.runs)
        rows.append(
            CapacityRow(
                label=operation.label,
                runs=usage.runs,
                calls={service: n / per_run for service, n in sorted(usage.calls.items())},
                dynamodb_calls={name: n / per_run for name, n in sorted(usage.dynamodb_calls.items())},
                read_units=usage.read_units / per_run,
                write_units=usage.write_units / per_run,
                by_target={
                    name: (read / per_run, write / per_run)
                    for name, (read, write) in sorted(usage.by_target.items(), key=lambda kv: (kv[0] != TABLE, kv[0]))
                    if read or write
                },
                items=operation.items,
            )
        )
    return rows
