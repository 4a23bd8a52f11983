"""An order's status flow: what a status change means for it (its by-status list entry, its stock) and the moves
people and carriers make."""

from __future__ import annotations

from typing import Any, Literal

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import VersionConflict, WriteOp
from chalicelib.core.errors import Conflict
from chalicelib.inventory import service as inventory
from chalicelib.orders import store
from chalicelib.orders.models import Order, TransitionRequest
from chalicelib.orders.reading import ENTITY_TYPE, load, may_read
from chalicelib.workflows import engine
from chalicelib.workflows.engine import EntitySpec, TransitionContext, TransitionEffects

__all__ = ["ATTEMPTS", "WORKFLOW", "transition_on_carrier", "transition_order"]

# How many times a change made for another capability (a payment, a carrier, a platform, an ERP) reads the order
# again when it moved meanwhile.
ATTEMPTS = 3
_STOCK = "stockState"  # none → reserved → released | consumed (OrderRecord.stock_state)


def transition_order(principal: Principal, order_id: str, body: TransitionRequest) -> Order:
    """Move the order along its status flow (role, current status and version checked; one winner)."""
    require(principal, Permission.ORDERS_TRANSITION)
    may_read(principal, load(principal, order_id))
    result = engine.transition(principal, ENTITY_TYPE, order_id, body.to, body.note, body.version)
    return store.order_of(result.entity).view()


def transition_on_carrier(tenant_id: str, order_id: str, trigger: Literal["shipped", "delivered"], note: str) -> bool:
    """Make the move the order's flow declares for the carrier's ``trigger`` from where the order stands (a retail
    order: → SHIPPED when posted, → DELIVERED when delivered); False when the flow declares none from there."""
    for _ in range(ATTEMPTS):
        try:
            return engine.transition_on(tenant_id, ENTITY_TYPE, order_id, trigger, note) is not None
        except VersionConflict:
            continue
    raise Conflict(detail=f"the order {order_id} kept changing while its shipment moved it; retry")


def _stock_conflict() -> Conflict:
    return Conflict(detail="the stock changed while the order moved on; retry", code="stock-changed")


def _on_transition(ctx: TransitionContext) -> TransitionEffects:
    """What a status change means for an order: its by-status list entry, and its stock."""
    order = store.order_of(ctx.entity)
    changes: dict[str, Any] = store.by_status_keys(ctx.tenant_id, ctx.to_status, order.created_at, ctx.entity_id)
    ops: list[WriteOp] = []
    state = order.stock_state
    target = ctx.definition.status(ctx.to_status)
    # A platform line that matched no product has no stock to move (it is kept as text, for review).
    lines = [(line.product_id, line.quantity) for line in order.items if line.product_id is not None]
    actor, reference = ctx.actor.user_id, f"order:{ctx.entity_id}"
    if target.terminal:
        changes["closedAt"] = ctx.at
        if target.outcome == "cancelled":
            if state == "reserved":
                ops = inventory.release_ops(ctx.tenant_id, lines, actor, reference, field="items")
                changes[_STOCK] = "released"
        elif state != "consumed":
            from_reserved = state == "reserved"
            ops = inventory.consume_ops(
                ctx.tenant_id, lines, actor, reference, from_reserved=from_reserved, field="items"
            )
            changes[_STOCK] = "consumed"
    elif state == "none" and ctx.from_status == ctx.definition.initial:
        ops = inventory.reserve_ops(ctx.tenant_id, lines, actor, reference, field="items")
        changes[_STOCK] = "reserved"
    # The stock writes' own error, said in the order's words.
    stock_changed = _stock_conflict()
    ops = [op.on_conflict(stock_changed) if op.conflict is not None else op for op in ops]
    # The channel (and an end's outcome) ride on the status_changed event: the bus routes platform orders' changes
    # to their platform, which needs to tell a cancellation from a delivery.
    event_data: dict[str, Any] = {"channel": order.channel}
    if target.terminal and target.outcome:
        event_data["outcome"] = target.outcome
    return TransitionEffects(changes=changes, ops=ops, event_data=event_data)


# The order entity as the workflow engine runs it (listed in workflows.entities).
WORKFLOW = EntitySpec(ENTITY_TYPE, Kind.ORDER, _on_transition)
