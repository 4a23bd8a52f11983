"""What the invoicing, calendar and payment integrations record on a sale, as the system: a Billy.dk invoice, its
payment, a payment link's payment, a calendar event (retried when a user changed the sale meanwhile)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, revise_op
from chalicelib.core.errors import Conflict
from chalicelib.core.events import event_put_op, new_event
from chalicelib.sales import store
from chalicelib.sales.events import snapshot
from chalicelib.sales.models import PaymentStatus, Sale
from chalicelib.sales.reading import load_item
from chalicelib.workflows.service import system_actor

__all__ = ["mark_paid", "record_invoice", "record_payment", "set_calendar_event"]


class _Moved(Conflict):
    """Raised when a system change meets a sale changed since it was read (it is read again)."""


def _system_change(
    tenant_id: str,
    sale_id: str,
    build: Callable[[dict[str, Any]], dict[str, Any] | None],
    event: str,
) -> Sale:
    """Apply ``build(item) -> changes`` (None: nothing to do) as the system, audited and emitted as ``event``;
    with optimistic locking (read again and retried when a user changed the sale meanwhile)."""
    actor = system_actor(tenant_id)
    for _ in range(5):
        item = load_item(tenant_id, sale_id, consistent=True)
        changes = build(item)
        if changes is None:
            return store.sale_of(item)
        changes["updatedAt"] = clock.now_iso()
        write, after = revise_op(*store.sale_key(tenant_id, sale_id), item, changes, conflict=_Moved())
        ops = [
            write,
            *store.ref_ops(tenant_id, item, after),
            audit_op(actor, event, Kind.SALE, sale_id, before=dict(item), after=after),
            event_put_op(new_event(event, tenant_id, _system_event_data(event, item, after, changes), subject=sale_id)),
        ]
        try:
            Table().transact(ops)
        except _Moved:
            continue  # a user changed the sale meanwhile: apply to what it is now
        return store.sale_of(after)
    raise Conflict(detail="the sale keeps changing; retry")


def _system_event_data(
    event: str, before: Mapping[str, Any], after: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, Any]:
    if event == "sale.updated":
        changed = sorted(name for name in changes if name != "updatedAt")
        return {"changed": changed, "before": snapshot(before), "sale": snapshot(after)}
    data = {"sale": snapshot(after), "billyInvoiceId": after.get("billyInvoiceId")}
    return data | ({"paymentId": changes["paymentId"]} if changes.get("paymentId") else {})


def record_invoice(tenant_id: str, sale_id: str, invoice_id: str) -> Sale:
    """Keep the Billy.dk invoice of a sale and mark its payment pending (nothing changes for the same invoice)."""

    def build(item: dict[str, Any]) -> dict[str, Any] | None:
        if item.get("billyInvoiceId") == invoice_id:
            return None
        return {"billyInvoiceId": invoice_id, "paymentStatus": "pending"}

    return _system_change(tenant_id, sale_id, build, "sale.invoiced")


def mark_paid(tenant_id: str, sale_id: str, paid_at: str) -> Sale:
    """Mark the sale paid at ``paid_at`` (ISO 8601); a sale already paid stays as it is."""

    def build(item: dict[str, Any]) -> dict[str, Any] | None:
        if item.get("paymentStatus") == "paid":
            return None
        return {"paymentStatus": "paid", "paidAt": paid_at}

    return _system_change(tenant_id, sale_id, build, "sale.paid")


def record_payment(tenant_id: str, sale_id: str, *, status: PaymentStatus, payment_id: str, at: str) -> Sale:
    """A payment link's payment of the sale (``payments``): ``paid`` (``sale.paid`` with ``paymentId``), then
    ``partially_refunded`` or ``refunded`` (``sale.updated``); the same state twice changes nothing."""

    def build(item: dict[str, Any]) -> dict[str, Any] | None:
        wanted: dict[str, Any] = {"paymentStatus": status, "paymentId": payment_id}
        if status == "paid":
            wanted["paidAt"] = item.get("paidAt") or at
        return None if all(item.get(name) == value for name, value in wanted.items()) else wanted

    return _system_change(tenant_id, sale_id, build, "sale.paid" if status == "paid" else "sale.updated")


def set_calendar_event(tenant_id: str, sale_id: str, event_id: str | None) -> Sale:
    """Keep (or, with None, forget) the id of the sale's calendar event."""

    def build(item: dict[str, Any]) -> dict[str, Any] | None:
        if item.get("calendarEventId") == event_id:
            return None
        return {"calendarEventId": event_id}

    return _system_change(tenant_id, sale_id, build, "sale.updated")
