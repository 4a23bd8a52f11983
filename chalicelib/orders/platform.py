"""Delivery platforms' orders (iFood, Rappi): placed as BTRIX orders with their lines matched to the catalog,
cancelled when the platform cancels them, and how one ended."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.catalog.service import find_by_code
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict, WriteOp, update_op
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.customers.service import record_order_ops
from chalicelib.orders import store
from chalicelib.orders.creating import new_order
from chalicelib.orders.flow import ATTEMPTS
from chalicelib.orders.models import Order, OrderLine, PlatformLine, PlatformOrderDraft
from chalicelib.orders.reading import ENTITY_TYPE
from chalicelib.orders.totals import Priced, price_line, sum_lines
from chalicelib.workflows import engine
from chalicelib.workflows.service import system_actor, workflow_version

__all__ = ["PLATFORM_ACTOR", "cancel_platform_order", "create_platform_order", "outcome_of", "platform_actor"]

# Who the audit log and the order name for what a delivery platform did (placed, cancelled).
PLATFORM_ACTOR = "platform"


def platform_actor(tenant_id: str) -> Principal:
    """The delivery platform as the actor of what it did in the tenant (an order placed, its customer added)."""
    return Principal(
        user_id=PLATFORM_ACTOR, tenant_id=tenant_id, role=system_actor(tenant_id).role, email="platform@system.invalid"
    )


def _platform_line(tenant_id: str, line: PlatformLine) -> OrderLine:
    product = find_by_code(tenant_id, line.external_code) if line.external_code else None
    unit = line.unit_price
    matched = product is not None and product.active
    priced = Priced(
        product.id if product is not None and matched else "",
        product.code if product is not None and matched else (line.external_code or ""),
        product.name if product is not None and matched else line.name,
        product.kind if product is not None and matched else "product",
        unit,
        # The platform's prices are what the customer paid, taxes included: kept as they are.
        Decimal(0),
    )
    priced_line = price_line(priced, line.quantity, None)
    return priced_line.model_copy(
        update={"product_id": priced.product_id or None, "external_code": line.external_code, "note": line.note}
    )


def create_platform_order(
    tenant_id: str, draft: PlatformOrderDraft, claim: Callable[[str], WriteOp], customer_id: str | None = None
) -> Order:
    """A delivery platform's order as a BTRIX order (channel ``ifood`` / ``rappi``), created by the platform, of
    ``customer_id`` (the BTRIX customer the platform's customer is linked to: counted in their statistics).

    Lines are matched to the catalog by the platform's external code (= the product's code); a line that matches
    nothing keeps its text and price and flags the order ``needsReview`` (never dropped). Prices are the
    platform's; its totals, fees, customer and address are kept in ``platform``. The plan's monthly order limit
    does not refuse it (the order exists on the platform already) and stock is not checked: it is reserved when the
    order is accepted, like any other. ``claim(order id)`` (the caller's once-only write for the platform's order
    id) is in the same transaction: a duplicate fails the whole create with ``TransactionConflict``.
    """
    # In the platform's currency (the tenant's, for a platform of the tenant's country), as the customer paid.
    lines = [_platform_line(tenant_id, line) for line in draft.lines]
    totals = sum_lines(lines, draft.platform.total.currency)
    order, workflow = new_order(
        tenant_id,
        clock.now(),
        draft.platform.platform,
        lines,
        totals,
        PLATFORM_ACTOR,
        notes=draft.notes,
        platform=draft.platform,
        needs_review=any(line.product_id is None for line in lines),
        customer_id=customer_id,
    )
    event_data = {"number": order.number, "total": totals.total.model_dump(), "channel": order.channel}
    ops = [
        claim(order.id),
        *store.new_order_ops(order, workflow),
        *(record_order_ops(tenant_id, customer_id, totals.total, order.created_at) if customer_id else []),
        audit_op(platform_actor(tenant_id), "order.created", Kind.ORDER, order.id, after=order.model_dump()),
        event_put_op(new_event("order.created", tenant_id, event_data, subject=order.id)),
    ]
    Table().transact(ops)
    engine.start(tenant_id, ENTITY_TYPE, order.id)
    return order


def outcome_of(tenant_id: str, order: Order) -> str | None:
    """How the order ended (``completed`` / ``cancelled``), or None while its status is not a terminal one."""
    status = workflow_version(tenant_id, ENTITY_TYPE, order.workflow_version).definition.status(order.status)
    return status.outcome if status.terminal else None


def cancel_platform_order(tenant_id: str, order_id: str, reason: str) -> Order:
    """The platform cancelled the order: move it to its flow's cancelled end (from wherever it stands, as the system
    actor); an order that already ended stays as it is. The platform's reason is kept on the order."""
    for _ in range(ATTEMPTS):
        order = store.get_order(tenant_id, order_id, consistent=True)
        if order is None:
            raise NotFound(detail=f"no order {order_id}")
        definition = workflow_version(tenant_id, ENTITY_TYPE, order.workflow_version).definition
        if definition.status(order.status).terminal:
            return order.view()
        target = next(
            (
                t.to
                for t in definition.transitions
                if t.from_ == order.status
                and definition.status(t.to).terminal
                and definition.status(t.to).outcome == "cancelled"
            ),
            None,
        )
        if target is None:
            raise Conflict(detail=f"the order's flow declares no cancellation from {order.status}")
        if order.platform is not None and order.platform.cancel_reason != reason:
            platform = order.platform.model_copy(update={"cancel_reason": reason})
            try:
                Table().transact(
                    [
                        update_op(
                            *store.order_key(tenant_id, order_id),
                            {"platform": platform.model_dump(mode="json", by_alias=True), "updatedAt": clock.now_iso()},
                            expected_version=order.version,
                        )
                    ]
                )
            except VersionConflict:
                continue
            order = order.model_copy(update={"version": order.version + 1})
        try:
            note = f"cancelled on the platform: {reason}"
            result = engine.transition(system_actor(tenant_id), ENTITY_TYPE, order_id, target, note, order.version)
        except VersionConflict:
            continue
        return store.order_of(result.entity).view()
    raise Conflict(detail=f"the order {order_id} kept changing while it was cancelled; retry")
