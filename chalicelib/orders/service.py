"""Order use cases: create (prices snapshot, stock checked, idempotent), read, list, change, transition.

The status flow belongs to the workflow engine; this module registers orders with it and adds what a status
change means for an order, in the same transaction: the by-status list entry, and stock: reserved when the
order is accepted (it leaves its initial status), released when it ends cancelled, consumed when it ends
completed.

Orders are also what payment links pay: this module registers them with ``payments.payables``. Payments learns
an order's total, customer and channel (``describe``), and tells the order when it is paid or refunded
(``record_payment``): ``paymentStatus``, ``paymentId``, ``paidAt`` and ``amountRefunded`` are set on it, and a
paid order makes the transition its flow declares with ``trigger: payment`` from where it stands (PENDING → PAID
in the built-in restaurant and retail flows); a flow without one keeps the order where it is, paid.

Shipping reads an order for its caller (``readable_order``) or for its jobs (``find_order``), keeps the label it
bought on the order (``shipment_ops``) and moves it when the carrier posts or delivers it (``transition_on_carrier``:
the flow's ``shipped`` / ``delivered`` triggers).

Delivery platforms place and cancel theirs (``create_platform_order``, ``cancel_platform_order``: lines matched to
the catalog by the platform's external code, the unmatched ones kept for review) and follow them (``find_order``,
``outcome_of``).

This module is the capability's face: other capabilities and the routes call ``orders.service.X``; each job lives
in its own module, re-exported here: ``reading`` (who may see an order, the reads and lists), ``creating`` (a new
order, priced, limited and started), ``flow`` (the status flow and its stock), ``platform`` (delivery platforms'
orders), ``recording`` (a shipment's label, an ERP's NF-e), ``paying`` (orders as payables); a change of an order's
assignee or notes is here.
"""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict, update_op
from chalicelib.core.events import event_put_op, new_event
from chalicelib.orders import paying as paying  # registers orders with payments.payables
from chalicelib.orders import store
from chalicelib.orders.creating import create_order
from chalicelib.orders.flow import WORKFLOW, transition_on_carrier, transition_order
from chalicelib.orders.models import Order, UpdateOrderRequest
from chalicelib.orders.platform import (
    PLATFORM_ACTOR,
    cancel_platform_order,
    create_platform_order,
    outcome_of,
    platform_actor,
)
from chalicelib.orders.reading import (
    ENTITY_TYPE,
    customer_order_ids,
    find_order,
    get_order,
    list_orders,
    load,
    may_read,
    order_history,
    readable_order,
)
from chalicelib.orders.recording import record_fiscal_document, shipment_ops

__all__ = [
    "ENTITY_TYPE",
    "PLATFORM_ACTOR",
    "WORKFLOW",
    "cancel_platform_order",
    "create_order",
    "create_platform_order",
    "customer_order_ids",
    "find_order",
    "get_order",
    "list_orders",
    "order_history",
    "outcome_of",
    "platform_actor",
    "readable_order",
    "record_fiscal_document",
    "shipment_ops",
    "transition_on_carrier",
    "transition_order",
    "update_order",
]


def update_order(principal: Principal, order_id: str, body: UpdateOrderRequest) -> Order:
    """Change who the order is assigned to, or its notes (optimistic locking on ``version``)."""
    require(principal, Permission.ORDERS_WRITE)
    order = load(principal, order_id, consistent=True)
    may_read(principal, order)
    if order.version != body.version:
        raise VersionConflict(detail=f"the order is at version {order.version}; reload and retry")
    changes = body.changes()  # a new assignee is a reference, checked before this runs
    changes["updatedAt"] = clock.now_iso()
    before = order.model_dump(exclude_none=True)
    after = {**before, **changes, "version": body.version + 1}
    data = {k: v for k, v in changes.items() if k != "updatedAt"}
    Table().transact(
        [
            update_op(*store.order_key(principal.tenant_id, order_id), changes, expected_version=body.version),
            audit_op(principal, "order.updated", Kind.ORDER, order_id, before=before, after=after),
            event_put_op(new_event("order.updated", principal.tenant_id, data, subject=order_id)),
        ]
    )
    return store.order_of(after).view()
