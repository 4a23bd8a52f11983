"""Inventory use cases: stock levels, movements people record, and the stock writes orders put in their
transactions (reserve on confirmation, release on cancellation, consume on completion).

Stock never goes negative: every write is conditional (``rules.py``). Services (catalog kind ``service``) have
no stock; the functions orders call skip their lines.

One responsibility: a product's stock: every read and write of stock levels and movements goes through here, for
people (the routes) and for orders and the catalog (the writes they put in their transactions).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog import service as catalog
from chalicelib.catalog.models import Product
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, WriteOp
from chalicelib.core.errors import Conflict, FieldError, InvalidInput, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.pagination import Page, decode_cursor, encode_cursor
from chalicelib.inventory import store
from chalicelib.inventory.models import (
    Movement,
    MovementListQuery,
    MovementRequest,
    MovementType,
    StockChange,
    StockLevel,
    StockListQuery,
    StockRecord,
    ThresholdRequest,
)
from chalicelib.inventory.rules import Change, change_of, guard_for

__all__ = [
    "Line",
    "check_available",
    "consume_ops",
    "get_stock",
    "list_movements",
    "list_stock",
    "new_stock_op",
    "record_movement",
    "release_ops",
    "reserve_ops",
    "run_stock_transaction",
    "set_threshold",
    "sync_stock_op",
]

# (product id, quantity): one line of an order.
Line = tuple[str, int]
T = TypeVar("T")

LOW_STOCK_EVENT = "inventory.low_stock"
STOCK_ATTEMPTS = 6


def _load_stock(tenant_id: str, product_id: str, *, consistent: bool = False) -> StockRecord:
    record = store.get_stock(tenant_id, product_id, consistent=consistent)
    if record is not None:
        return record
    product = catalog.find_product(tenant_id, product_id)
    if product is None:
        raise NotFound(detail=f"no product {product_id}")
    raise InvalidInput(
        detail=f"{product.name} is a service: services have no stock",
        errors=(FieldError("path.product_id", "a service has no stock", "service"),),
    )


def new_stock_op(product: Product) -> WriteOp:
    """The write creating the (empty) stock of a new product (a service has none), in its creation."""
    stock = StockRecord(
        product_id=product.id,
        code=product.code,
        name=product.name,
        active=product.active,
        updated_at=product.updated_at,
    )
    return store.new_stock_op(product.tenant_id, stock)


def sync_stock_op(product: Product) -> WriteOp:
    """The write copying a product's new name and active flag onto its stock (shown in the stock list)."""
    return store.sync_stock_op(
        product.tenant_id, product.id, name=product.name, active=product.active, at=product.updated_at
    )


def _low_stock_event(tenant_id: str, record: StockRecord, available: int) -> WriteOp:
    data = {
        "productId": record.product_id,
        "code": record.code,
        "name": record.name,
        "available": available,
        "threshold": record.low_stock_threshold,
    }
    return event_put_op(new_event(LOW_STOCK_EVENT, tenant_id, data, subject=record.product_id))


def _after(record: StockRecord, change: Change, at: str) -> StockRecord:
    return record.model_copy(
        update={
            "on_hand": record.on_hand + change.on_hand,
            "reserved": record.reserved + change.reserved,
            "available": record.available + change.available,
            "updated_at": at,
        }
    )


def run_stock_transaction(build: Callable[[], tuple[Sequence[WriteOp], T]], *, attempts: int = STOCK_ATTEMPTS) -> T:
    """Write the transaction ``build`` returns (with a result to hand back), retrying when a stock write lost a
    race: another movement of the same product changed it between the read and the write, or a concurrent
    transaction held the item (a ``Conflict`` with ``retry``). ``build`` runs again each time, so it re-reads the
    stock; it raises (e.g. ``InvalidInput`` from ``reserve_ops``) when the stock no longer allows the change. A
    failure of any other write is raised at once, as are the last attempt's failures.
    """
    for attempt in range(1, attempts + 1):
        ops, result = build()
        try:
            Table().transact(ops)
            return result
        except Conflict as exc:
            if not exc.retry or attempt == attempts:
                raise
        # Jittered exponential backoff, so racing writers do not collide again in lockstep.
        time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311 - not for security
    raise AssertionError("unreachable: the last attempt returns or raises")


@dataclass(frozen=True)
class _StockLine:
    record: StockRecord
    quantity: int
    first_line: int


def _stock_lines(tenant_id: str, lines: Sequence[Line], field: str) -> list[_StockLine]:
    """The lines' products that have stock, each once (quantities of repeated products summed), read
    consistently; services are left out. Unknown products and quantities under 1 are refused."""
    merged: dict[str, _StockLine] = {}
    skipped: set[str] = set()
    for i, (product_id, quantity) in enumerate(lines):
        if quantity < 1:
            raise InvalidInput(
                detail="a quantity must be at least 1",
                errors=(FieldError(f"{field}[{i}].quantity", "must be at least 1"),),
            )
        if product_id in skipped:
            continue
        if product_id in merged:
            line = merged[product_id]
            merged[product_id] = _StockLine(line.record, line.quantity + quantity, line.first_line)
            continue
        record = store.get_stock(tenant_id, product_id, consistent=True)
        if record is None:
            if catalog.find_product(tenant_id, product_id) is None:
                raise InvalidInput(
                    detail=f"no product {product_id}",
                    errors=(FieldError(f"{field}[{i}].productId", "no such product", "unknown-product"),),
                )
            skipped.add(product_id)  # a service: nothing to count
            continue
        merged[product_id] = _StockLine(record, quantity, i)
    return list(merged.values())


def _short(lines: Sequence[Line], field: str, record: StockRecord) -> InvalidInput:
    """The error naming the line at which the product's running total passes what is available."""
    running = 0
    at = 0
    for i, (product_id, quantity) in enumerate(lines):
        if product_id == record.product_id:
            running += quantity
            at = i
            if running > record.available:
                break
    return InvalidInput(
        detail=f"only {record.available} of {record.name} ({record.code}) available",
        errors=(FieldError(f"{field}[{at}].quantity", f"only {record.available} available", "insufficient-stock"),),
    )


def check_available(tenant_id: str, lines: Sequence[Line], *, field: str = "body.items") -> None:
    """Raise ``InvalidInput`` naming ``<field>[i].quantity`` when a line asks for more than is available
    (lines of one product count together), or ``<field>[i].productId`` for an unknown product. Services pass."""
    for line in _stock_lines(tenant_id, lines, field):
        if line.quantity > line.record.available:
            raise _short(lines, field, line.record)


def _line_ops(
    tenant_id: str,
    lines: Sequence[Line],
    movement_type: MovementType,
    actor_id: str,
    reference: str,
    *,
    field: str,
    from_reserved: bool = True,
) -> list[WriteOp]:
    at = clock.now_iso()
    ops: list[WriteOp] = []
    for line in _stock_lines(tenant_id, lines, field):
        record = line.record
        change = change_of(movement_type, line.quantity, from_reserved=from_reserved)
        if change.needs_reserved > record.reserved:
            raise Conflict(
                detail=f"only {record.reserved} of {record.name} ({record.code}) are reserved",
                errors=(FieldError(f"{field}[{line.first_line}].quantity", f"only {record.reserved} reserved"),),
            )
        try:
            guard = guard_for(record.available, record.low_stock_threshold, change)
        except ValueError as exc:
            raise _short(lines, field, record) from exc
        movement = Movement(
            id=new_id(clock.now()),
            product_id=record.product_id,
            type=movement_type,
            quantity=line.quantity,
            on_hand_change=change.on_hand,
            reserved_change=change.reserved,
            reference=reference,
            actor_id=actor_id,
            at=at,
        )
        ops += [store.stock_change_op(tenant_id, record, change, guard, at), store.movement_op(tenant_id, movement)]
        if guard.becomes_low:
            ops.append(_low_stock_event(tenant_id, record, record.available + change.available))
    return ops


def reserve_ops(
    tenant_id: str, lines: Sequence[Line], actor_id: str, reference: str, *, field: str = "body.items"
) -> list[WriteOp]:
    """Transaction writes reserving the lines' units (an order was confirmed): per product with stock, a
    conditional update (fails the transaction if it lacks the units), a movement, and an ``inventory.low_stock``
    event when it goes under its threshold. At most 3 writes per distinct product; services are skipped.

    Reads the stock first and raises ``InvalidInput`` naming ``<field>[i].quantity`` when it is already short.
    Run the transaction with ``run_stock_transaction`` (build the writes inside its callback) so that a race
    with another movement of the same product is retried rather than reported as a conflict.
    """
    return _line_ops(tenant_id, lines, "reserve", actor_id, reference, field=field)


def release_ops(
    tenant_id: str, lines: Sequence[Line], actor_id: str, reference: str, *, field: str = "body.items"
) -> list[WriteOp]:
    """Transaction writes giving reserved units back to available (a confirmed order was cancelled); same
    shape as ``reserve_ops``. Raises ``Conflict`` if fewer units than asked are reserved."""
    return _line_ops(tenant_id, lines, "release", actor_id, reference, field=field)


def consume_ops(
    tenant_id: str,
    lines: Sequence[Line],
    actor_id: str,
    reference: str,
    *,
    from_reserved: bool = True,
    field: str = "body.items",
) -> list[WriteOp]:
    """Transaction writes taking the units out of stock (an order was completed); same shape as
    ``reserve_ops``. The units come from those the order reserved, or, with ``from_reserved=False``, straight
    from available ones (an order completed without a reservation step; short stock is then an
    ``InvalidInput``)."""
    return _line_ops(tenant_id, lines, "consume", actor_id, reference, field=field, from_reserved=from_reserved)


def get_stock(principal: Principal, product_id: str) -> StockLevel:
    """The stock of one product."""
    require(principal, Permission.INVENTORY_READ)
    return StockLevel.of(_load_stock(principal.tenant_id, product_id))


def list_stock(principal: Principal, query: StockListQuery) -> Page[StockLevel]:
    """One page of stock levels by product code, or only those under their low-stock threshold."""
    require(principal, Permission.INVENTORY_READ)
    low = bool(query.low)
    scope = f"stock:{'low' if low else 'all'}"
    tenant = principal.tenant_id
    start = decode_cursor(query.cursor, tenant_id=tenant, scope=scope) if query.cursor else None
    page = store.list_stock(tenant, low=low, limit=query.limit, start_key=start)
    return Page[StockLevel](
        items=[StockLevel.of(record) for record in page.items],
        next_cursor=encode_cursor(page.last_key, tenant_id=tenant, scope=scope) if page.last_key else None,
    )


def list_movements(principal: Principal, product_id: str, query: MovementListQuery) -> Page[Movement]:
    """One page of a product's stock movements, newest first."""
    require(principal, Permission.INVENTORY_READ)
    tenant = principal.tenant_id
    if query.cursor is None:
        _load_stock(tenant, product_id)  # 404 / 422 for an unknown product or a service, not an empty page
    scope = f"movements:{product_id}"
    start = decode_cursor(query.cursor, tenant_id=tenant, scope=scope) if query.cursor else None
    page = store.list_movements(tenant, product_id, query.limit, start)
    return Page[Movement](
        items=page.items,
        next_cursor=encode_cursor(page.last_key, tenant_id=tenant, scope=scope) if page.last_key else None,
    )


def set_threshold(principal: Principal, product_id: str, body: ThresholdRequest) -> StockLevel:
    """Set a product's low-stock threshold; it joins or leaves the low-stock list at once."""
    require(principal, Permission.INVENTORY_WRITE)
    tenant = principal.tenant_id

    def build() -> tuple[list[WriteOp], StockRecord]:
        before = _load_stock(tenant, product_id, consistent=True)
        at = clock.now_iso()
        after = before.model_copy(update={"low_stock_threshold": body.low_stock_threshold, "updated_at": at})
        ops = [
            store.threshold_op(tenant, before, body.low_stock_threshold, at),
            audit_op(
                principal,
                "inventory.threshold_set",
                Kind.PRODUCT,
                product_id,
                before={"lowStockThreshold": before.low_stock_threshold},
                after={"lowStockThreshold": after.low_stock_threshold},
            ),
            event_put_op(
                new_event(
                    "inventory.threshold_set",
                    tenant,
                    {"productId": product_id, "threshold": after.low_stock_threshold},
                    subject=product_id,
                )
            ),
        ]
        if after.low and not before.low:
            ops.append(_low_stock_event(tenant, after, after.available))
        return ops, after

    return StockLevel.of(run_stock_transaction(build))


def record_movement(
    principal: Principal, product_id: str, body: MovementRequest, idempotency_key: str | None
) -> StockChange:
    """Record stock arriving (in), leaving (out) or counted (adjust); returns the movement and the stock after.

    ``out`` cannot take reserved units; ``adjust`` cannot count fewer units than are reserved, and is refused
    (409) if stock moved in or out while it was being recorded, since the count may predate that.
    """
    require(principal, Permission.INVENTORY_WRITE)
    if body.type != "adjust" and body.quantity < 1:
        raise InvalidInput(
            detail="a quantity must be at least 1", errors=(FieldError("body.quantity", "must be at least 1"),)
        )
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        f"movements.create:{product_id}",
        body,
        StockChange,
        lambda seal: _record_movement(principal, product_id, body, seal),
    )


def _record_movement(
    principal: Principal, product_id: str, body: MovementRequest, seal: idempotency.Seal
) -> StockChange:
    tenant = principal.tenant_id
    # The on-hand count at the first read: a retried stock take must not silently apply over units that came
    # in or went out meanwhile.
    seen: dict[str, int] = {}

    def build() -> tuple[list[WriteOp], StockChange]:
        before = _load_stock(tenant, product_id, consistent=True)
        at = clock.now_iso()
        if body.type == "adjust":
            if seen.setdefault("onHand", before.on_hand) != before.on_hand:
                raise Conflict(
                    detail="units came in or went out while the count was recorded; count again",
                    errors=(FieldError("body.quantity", "stock moved meanwhile", "stock-moved"),),
                )
            if body.quantity < before.reserved:
                raise InvalidInput(
                    detail=f"{before.reserved} units are reserved for orders; the count cannot be lower",
                    errors=(FieldError("body.quantity", f"at least the {before.reserved} reserved units"),),
                )
            delta = body.quantity - before.on_hand
            change = Change(on_hand=delta, reserved=0, available=delta)
            write = store.set_count_op(tenant, before, body.quantity, at)
        else:
            change = change_of(body.type, body.quantity)
            try:
                guard = guard_for(before.available, before.low_stock_threshold, change, exact=True)
            except ValueError as exc:
                raise InvalidInput(
                    detail=f"only {before.available} units are available (reserved ones cannot be taken out)",
                    errors=(FieldError("body.quantity", f"only {before.available} available", "insufficient-stock"),),
                ) from exc
            write = store.stock_change_op(tenant, before, change, guard, at)
        after = _after(before, change, at)
        movement = Movement(
            id=new_id(clock.now()),
            product_id=product_id,
            type=body.type,
            quantity=body.quantity,
            on_hand_change=change.on_hand,
            reserved_change=0,
            reason=body.reason,
            actor_id=principal.user_id,
            at=at,
        )
        result = StockChange(movement=movement, stock=StockLevel.of(after))
        action = f"inventory.{body.type}"
        ops = [
            write,
            store.movement_op(tenant, movement),
            audit_op(
                principal,
                action,
                Kind.PRODUCT,
                product_id,
                before=before.model_dump(include={"on_hand", "reserved", "available"}),
                after={**after.model_dump(include={"on_hand", "reserved", "available"}), "reason": body.reason},
            ),
            event_put_op(
                new_event(
                    "inventory.movement_recorded",
                    tenant,
                    {"productId": product_id, "movementId": movement.id, "type": body.type, "quantity": body.quantity},
                    subject=product_id,
                )
            ),
            *seal(result),
        ]
        if after.low and not before.low:
            ops.append(_low_stock_event(tenant, after, after.available))
        return ops, result

    return run_stock_transaction(build)
