"""Orders are payable: registered with ``payments.payables`` (at import: ``orders.service`` imports this module),
they give payments their total, customer and channel, and take the payment's state and its ``payment`` move."""

from __future__ import annotations

from typing import Any

from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict, update_op
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.observability import emit_metric
from chalicelib.orders import store
from chalicelib.orders.flow import ATTEMPTS
from chalicelib.orders.reading import ENTITY_TYPE, may_read
from chalicelib.payments import payables
from chalicelib.workflows import engine
from chalicelib.workflows.service import system_actor, workflow_version

__all__: list[str] = []

# The shop assistant's service principal (chalicelib.assistant.tools): its paid orders are its conversions.
_ASSISTANT = "assistant"


class _OrderPayables:
    """Orders as ``payments.payables`` see them."""

    def describe(self, tenant_id: str, payable_id: str, reader: Principal | None) -> payables.Payable:
        """The order's total, customer and channel; ``closed`` when it ended cancelled."""
        order = store.get_order(tenant_id, payable_id, consistent=True)
        if order is None:
            raise NotFound(detail=f"no order {payable_id}")
        if reader is not None:
            may_read(reader, order)
        status = workflow_version(tenant_id, ENTITY_TYPE, order.workflow_version).definition.status(order.status)
        closed = f"the order is {order.status}" if status.terminal and status.outcome == "cancelled" else None
        return payables.Payable(
            kind=ENTITY_TYPE,
            id=order.id,
            label=f"#{order.number}",
            total=order.totals.total,
            customer_id=order.customer_id,
            channel=order.channel,
            closed=closed,
        )

    def record_payment(self, tenant_id: str, payable_id: str, state: payables.PaymentState) -> None:
        """Set the payment fields on the order and, once paid, make its flow's ``payment`` transition."""
        for _ in range(ATTEMPTS):
            order = store.get_order(tenant_id, payable_id, consistent=True)
            if order is None:
                raise NotFound(detail=f"no order {payable_id}")
            stored = order.model_dump(mode="json", by_alias=True)
            wanted: dict[str, Any] = {"paymentStatus": state.status, "paymentId": state.payment_id}
            if state.status == "paid":
                wanted["paidAt"] = order.paid_at or state.at
            if not state.refunded.is_zero():
                wanted["amountRefunded"] = state.refunded.model_dump()
            if any(stored.get(name) != value for name, value in wanted.items()):
                changes = {**wanted, "updatedAt": clock.now_iso()}
                before = {name: stored.get(name) for name in wanted}
                event = new_event("order.updated", tenant_id, {"paymentStatus": state.status}, subject=payable_id)
                moved = VersionConflict(detail="the order changed while its payment was recorded")
                ops = [
                    update_op(
                        *store.order_key(tenant_id, payable_id),
                        changes,
                        expected_version=order.version,
                        conflict=moved,
                    ),
                    audit_op(
                        system_actor(tenant_id),
                        "order.payment_recorded",
                        Kind.ORDER,
                        payable_id,
                        before=before,
                        after=wanted,
                    ),
                    event_put_op(event),
                ]
                try:
                    Table().transact(ops)
                except VersionConflict:
                    continue
                if state.status == "paid" and order.payment_status != "paid" and order.created_by == _ASSISTANT:
                    emit_metric("AssistantPayments", "tenantId", tenant_id)  # a WhatsApp sale of the assistant, paid
            if state.status != "paid":
                return
            note = f"paid (payment {state.payment_id})"
            try:
                engine.transition_on(tenant_id, ENTITY_TYPE, payable_id, "payment", note)
            except VersionConflict:
                continue
            return
        raise Conflict(detail=f"the order {payable_id} kept changing while its payment was recorded; retry")


payables.register(ENTITY_TYPE, _OrderPayables())
