"""What other capabilities keep on an order: the label a carrier sold for it (shipping) and the NF-e an ERP issued
for it."""

from __future__ import annotations

from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict, WriteOp, update_op
from chalicelib.core.errors import Conflict
from chalicelib.core.events import event_put_op, new_event
from chalicelib.orders import store
from chalicelib.orders.flow import ATTEMPTS
from chalicelib.orders.models import FiscalDocument, Order, OrderShipment
from chalicelib.workflows.service import system_actor

__all__ = ["record_fiscal_document", "shipment_ops"]


def shipment_ops(actor: Principal, order: Order, shipment: OrderShipment) -> list[WriteOp]:
    """Set ``shipment`` on the order (if it is still at the version read): the write, its audit and an
    ``order.updated`` event with the shipment's status and tracking code."""
    changes = {
        "shipment": shipment.model_dump(mode="json", by_alias=True, exclude_none=True),
        "updatedAt": clock.now_iso(),
    }
    before = order.shipment.model_dump(mode="json", by_alias=True, exclude_none=True) if order.shipment else None
    data = {
        "shipmentStatus": shipment.status,
        **({"trackingCode": shipment.tracking_code} if shipment.tracking_code else {}),
    }
    moved = VersionConflict(detail="the order changed while its shipment was recorded; retry")
    return [
        update_op(*store.order_key(order.tenant_id, order.id), changes, expected_version=order.version, conflict=moved),
        audit_op(actor, "order.shipment_recorded", Kind.ORDER, order.id, before={"shipment": before}, after=changes),
        event_put_op(new_event("order.updated", order.tenant_id, data, subject=order.id)),
    ]


def record_fiscal_document(tenant_id: str, order_id: str, document: FiscalDocument) -> bool:
    """Keep the NF-e an ERP issued for the order (once: False when it has one already, or the order is gone)."""
    for _ in range(ATTEMPTS):
        order = store.get_order(tenant_id, order_id, consistent=True)
        if order is None or order.fiscal_document is not None:
            return False
        shown = document.model_dump(mode="json", by_alias=True)
        changes = {"fiscalDocument": shown, "updatedAt": clock.now_iso()}
        moved = VersionConflict(detail="the order changed while its NF-e was recorded")
        ops = [
            update_op(*store.order_key(tenant_id, order_id), changes, expected_version=order.version, conflict=moved),
            audit_op(system_actor(tenant_id), "order.nfe_recorded", Kind.ORDER, order_id, after=shown),
        ]
        try:
            Table().transact(ops)
        except VersionConflict:
            continue
        return True
    raise Conflict(detail=f"the order {order_id} kept changing while its NF-e was recorded; retry")
