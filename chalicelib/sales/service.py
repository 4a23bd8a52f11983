"""Sale use cases (Tekup sales tracking): create, read, list, change, delete, move along the status flow.

This module is the capability's face: the routes and other capabilities call ``sales.service.X``; each job lives in
its own module, re-exported here: ``reading`` (who may, reads, lists), ``creating`` (drafts, numbers, the create),
``changing`` (update, delete), ``flow`` (the status hook and moves), ``recording`` (what integrations record on a
sale, as the system), ``events`` (the sale's ``snapshot``).

A sale sells one service of the catalog (a catalog item of kind ``service``) to a customer, owned by a rep
(``assignedTo``). Its amounts are computed here (``amounts.compute_amounts``: base, discount, tax rate, tax,
final, in the tenant's currency). Its number is per tenant and year, gapless: ``S-2026-000123`` is taken by a
conditional write of the year's counter in the same transaction as the sale, so two creates racing for one
number see one of them retry with the next, and a create that fails gives its number back.

Who sees what (the seed's matrix, ``access/permissions.py``): ``sales:read:all`` (ADMIN, MANAGER, VIEWER) reads
every sale; ``sales:read:own`` alone (SALES_REP) reads the sales assigned to the caller, in single reads and
lists alike (a rep's list is its own partition, never a filtered one). ``sales:write:all`` (ADMIN, MANAGER)
changes any sale, ``sales:write:own`` (SALES_REP) its own and may assign only to itself; ``sales:delete``
(ADMIN, MANAGER) deletes. A closed sale (final status) changes only its notes.

The status flow is the workflow engine's (``WORKFLOW``, listed in ``workflows.entities``); this module adds, in each
transition's transaction, the by-status list entry, the index items and, when a sale completes, the customer's
statistics (``customers.service.record_order_ops``). Every change is audited and emits its event
(``sale.created``, ``sale.updated``, ``sale.deleted``, ``sale.status_changed``, ``sale.invoiced``, ``sale.paid``),
each carrying the sale's ``snapshot`` so that consumers (analytics) need not read the sale.

For other capabilities (Billy.dk invoices, Google Calendar, leads), without a principal:
- ``load_sale(tenant_id, sale_id) -> Sale`` (``NotFound``);
- ``record_invoice(tenant_id, sale_id, invoice_id)``: keeps ``billyInvoiceId`` and sets ``paymentStatus:
  pending`` (idempotent for the same invoice id; ``sale.invoiced``);
- ``mark_paid(tenant_id, sale_id, paid_at)``: ``paymentStatus: paid``, ``paidAt`` (idempotent; ``sale.paid``);
- ``record_payment(tenant_id, sale_id, status=, payment_id=, at=)``: what a payment link's payment did to the sale
  (``sales/paying.py`` makes sales payable through ``payments.payables``);
- ``set_calendar_event(tenant_id, sale_id, event_id | None)``: keeps (or clears) ``calendarEventId``;
- ``list_pending_payments(tenant_id, params) -> Page[Sale]``: invoiced sales awaiting payment, oldest first;
- ``SaleDraft`` + ``prepare_sale`` / ``commit_new_sale``: a sale's writes for another capability's transaction
  (lead conversion).
"""

from __future__ import annotations

from chalicelib.sales.changing import delete_sale, update_sale
from chalicelib.sales.creating import (
    BODY_FIELDS,
    NumberTaken,
    PreparedSale,
    SaleDraft,
    commit_new_sale,
    create_sale,
    prepare_sale,
)
from chalicelib.sales.events import snapshot
from chalicelib.sales.flow import WORKFLOW, transition_sale
from chalicelib.sales.reading import (
    ENTITY_TYPE,
    customer_sale_ids,
    get_sale,
    list_pending_payments,
    list_sales,
    load_sale,
    sale_history,
)
from chalicelib.sales.recording import mark_paid, record_invoice, record_payment, set_calendar_event

__all__ = [
    "BODY_FIELDS",
    "ENTITY_TYPE",
    "WORKFLOW",
    "NumberTaken",
    "PreparedSale",
    "SaleDraft",
    "commit_new_sale",
    "create_sale",
    "customer_sale_ids",
    "delete_sale",
    "get_sale",
    "list_pending_payments",
    "list_sales",
    "load_sale",
    "mark_paid",
    "prepare_sale",
    "record_invoice",
    "record_payment",
    "sale_history",
    "set_calendar_event",
    "snapshot",
    "transition_sale",
    "update_sale",
]
