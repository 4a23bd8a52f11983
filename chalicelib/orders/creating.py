"""A new order: its number, its lines priced from the catalog, its stock checked, the plan's monthly limit and its
status flow started (``new_order`` is shared with the delivery platforms' orders)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog.service import load_products
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table
from chalicelib.core.errors import FieldError, InvalidInput, LimitExceeded
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.customers.service import record_order_ops
from chalicelib.inventory import service as inventory
from chalicelib.orders import store
from chalicelib.orders.models import Channel, CreateOrderRequest, Order, OrderLine, OrderTotals, Platform
from chalicelib.orders.reading import ENTITY_TYPE
from chalicelib.orders.totals import Priced, price_line, sum_lines
from chalicelib.plans.catalog import get_plan
from chalicelib.tenants.service import load_tenant
from chalicelib.workflows import engine

__all__ = ["create_order", "new_order"]


def new_order(
    tenant_id: str,
    moment: datetime,
    channel: Channel | Platform,
    lines: list[OrderLine],
    totals: OrderTotals,
    created_by: str,
    **fields: Any,
) -> tuple[Order, dict[str, Any]]:
    """A new order (its number taken) at the start of the tenant's order flow, and the flow's fields."""
    at = clock.isoformat(moment)
    workflow = engine.initial_fields(tenant_id, ENTITY_TYPE)
    order = Order(
        id=new_id(moment),
        tenant_id=tenant_id,
        number=store.next_order_number(tenant_id),
        channel=channel,
        items=lines,
        totals=totals,
        status=str(workflow[engine.STATUS]),
        workflow_version=int(workflow[engine.WORKFLOW_VERSION]),
        created_by=created_by,
        created_at=at,
        updated_at=at,
        status_changed_at=str(workflow[engine.STATUS_CHANGED_AT]),
        **fields,
    )
    return order, workflow


def create_order(principal: Principal, body: CreateOrderRequest, idempotency_key: str | None) -> Order:
    """Create an order: prices and names snapshot from the catalog, stock checked, the status flow started.

    With an ``Idempotency-Key`` a retry returns the first order instead of creating another.
    """
    require(principal, Permission.ORDERS_WRITE)
    return idempotency.once(
        principal.tenant_id, idempotency_key, "orders.create", body, Order, lambda seal: _create(principal, body, seal)
    )


def _create(principal: Principal, body: CreateOrderRequest, seal: idempotency.Seal) -> Order:
    tenant = load_tenant(principal.tenant_id)
    products = load_products(principal.tenant_id, [line.product_id for line in body.items])
    lines = []
    for i, (request, product) in enumerate(zip(body.items, products, strict=True)):
        priced = Priced(product.id, product.code, product.name, product.kind, product.price, product.tax_rate)
        try:
            lines.append(price_line(priced, request.quantity, request.discount))
        except ValueError as exc:
            raise InvalidInput(detail=str(exc), errors=(FieldError(f"body.items[{i}].discount", str(exc)),)) from exc
    # customerId and assignedTo are references (models.py): checked in the caller's tenant before this runs.
    inventory.check_available(principal.tenant_id, [(request.product_id, request.quantity) for request in body.items])
    totals = sum_lines(lines, tenant.currency)
    moment = clock.now()
    at = clock.isoformat(moment)
    order, workflow = new_order(
        principal.tenant_id,
        moment,
        body.channel,
        lines,
        totals,
        principal.user_id,
        customer_id=body.customer_id,
        assigned_to=body.assigned_to,
        notes=body.notes,
    )
    plan = get_plan(tenant.plan_id)
    event_data = {"number": order.number, "total": totals.total.model_dump(), "channel": order.channel}
    if order.customer_id:
        event_data["customerId"] = order.customer_id
    if order.assigned_to:
        event_data["assignedTo"] = order.assigned_to
    month_full = LimitExceeded(
        detail=f"the plan {plan.name} allows {plan.max_transactions} orders a month (maxTransactions)",
        limit="maxTransactions",
    )
    ops = [
        store.monthly_limit_op(principal.tenant_id, moment, plan.max_transactions).on_conflict(month_full),
        *store.new_order_ops(order, workflow),
        *(record_order_ops(principal.tenant_id, order.customer_id, totals.total, at) if order.customer_id else []),
        audit_op(principal, "order.created", Kind.ORDER, order.id, after=order.model_dump()),
        event_put_op(new_event("order.created", principal.tenant_id, event_data, subject=order.id)),
        *seal(order),
    ]
    Table().transact(ops)
    engine.start(principal.tenant_id, ENTITY_TYPE, order.id)
    return order
