"""Sale use cases (Tekup sales tracking): create, read, list, change, delete, move along the status flow.

One responsibility: a sale's use cases, those of the sale routes and those other capabilities call on a sale (a
lead conversion's numbered sale, an invoice, a payment, a calendar event), all under one set of rules (who may,
the number, the amounts, the lists kept in each write's transaction).

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

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog.service import load_product
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict, WriteOp, revise_op
from chalicelib.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.customers.service import load_customer, record_order_ops
from chalicelib.sales import store
from chalicelib.sales.amounts import AmountError, compute_amounts
from chalicelib.sales.models import (
    CreateSaleRequest,
    PaymentStatus,
    Sale,
    SaleAmounts,
    SaleListQuery,
    SaleOrigin,
    SaleSource,
    UpdateSaleRequest,
)
from chalicelib.tenants.service import load_tenant
from chalicelib.users.service import find_user
from chalicelib.workflows import engine
from chalicelib.workflows.engine import EntitySpec, TransitionContext, TransitionEffects
from chalicelib.workflows.models import EntityType, HistoryEntry
from chalicelib.workflows.service import system_actor

__all__ = [
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

ENTITY_TYPE = "sale"
# A create that loses its number to a concurrent one reads the counter again; 50 creates at once in one tenant
# need at most 49 retries for the last one. Jittered waits spread them out.
_NUMBER_ATTEMPTS = 100
_NUMBER_BACKOFF_S = 0.02


class NumberTaken(Conflict):
    """Raised when the sale number a transaction took was taken by a concurrent create (retry with the next)."""


class _Moved(Conflict):
    """Raised when a system change meets a sale changed since it was read (it is read again)."""


def snapshot(item: Mapping[str, Any]) -> dict[str, Any]:
    """What events say about a sale, so that their consumers need not read it: who, what, how much, from where."""
    amounts = item["amounts"]
    data: dict[str, Any] = {
        "number": item["number"],
        "status": item["status"],
        "assignedTo": item["assignedTo"],
        "customerId": item["customerId"],
        "serviceId": item["serviceId"],
        "source": item["source"],
        "amount": dict(amounts["final"]) if isinstance(amounts, Mapping) else amounts.final.model_dump(),
        "createdAt": item["createdAt"],
    }
    for name in ("closedAt", "outcome"):
        if item.get(name):
            data[name] = item[name]
    origin = item.get("origin") or {}
    for name in ("leadId", "conversationId"):
        if origin.get(name):
            data[name] = origin[name]
    return data


def _on_transition(ctx: TransitionContext) -> TransitionEffects:
    """What a status change means for a sale: its by-status list entry and index items, its closing time, and
    (when it completes) the customer's statistics."""
    item = ctx.entity
    target = ctx.definition.status(ctx.to_status)
    changes: dict[str, Any] = store.by_status_keys(ctx.tenant_id, ctx.to_status, str(item["createdAt"]), ctx.entity_id)
    after = {**item, "status": ctx.to_status}
    ops = store.ref_ops(ctx.tenant_id, item, after)
    if target.terminal:
        closing = {"closedAt": ctx.at, **({"outcome": target.outcome} if target.outcome else {})}
        changes.update(closing)
        after.update(closing)
    event_data: dict[str, Any] = {"sale": snapshot(after)}
    if target.terminal:
        event_data["outcome"] = target.outcome
        if target.outcome == "completed":
            final = Money.model_validate(item["amounts"]["final"])
            ops += record_order_ops(ctx.tenant_id, str(item["customerId"]), final, ctx.at)
    return TransitionEffects(changes=changes, ops=ops, event_data=event_data)


WORKFLOW = EntitySpec(EntityType.SALE, Kind.SALE, _on_transition)


# --- reading ---------------------------------------------------------------------------------------------------


def _owns(principal: Principal, item: Mapping[str, Any]) -> bool:
    return item.get("assignedTo") == principal.user_id


def _may_read(principal: Principal, item: Mapping[str, Any]) -> None:
    if principal.can(Permission.SALES_READ_ALL):
        return
    require(principal, Permission.SALES_READ_OWN)
    if not _owns(principal, item):
        raise Forbidden(detail="this role sees only the sales assigned to it")


def _may_write(principal: Principal, item: Mapping[str, Any]) -> None:
    require(principal, Permission.SALES_WRITE_OWN)
    if principal.can(Permission.SALES_WRITE_ALL):
        return
    if not _owns(principal, item):
        raise Forbidden(detail="this role changes only the sales assigned to it")


def _load(tenant_id: str, sale_id: str, *, consistent: bool = False) -> dict[str, Any]:
    item = store.get_sale(tenant_id, sale_id, consistent=consistent)
    if item is None:
        raise NotFound(detail=f"no sale {sale_id}")
    return item


def load_sale(tenant_id: str, sale_id: str) -> Sale:
    """The sale ``sale_id`` of the tenant (for other capabilities); ``NotFound`` if there is none."""
    return store.sale_of(_load(tenant_id, sale_id))


def get_sale(principal: Principal, sale_id: str) -> Sale:
    """One sale (a rep: only its own)."""
    item = _load(principal.tenant_id, sale_id)
    _may_read(principal, item)
    return store.sale_of(item)


def _bound(moment: datetime | None, default: str) -> str:
    return clock.isoformat(moment) if moment is not None else default


def _invalid(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(detail=f"{field}: {message}", errors=(FieldError(field, message, code),))


def list_sales(principal: Principal, query: SaleListQuery) -> Page[Sale]:
    """One page of sales, newest first: by status, rep or customer (or a rep with a status or a customer), within
    a date range. A rep lists only its own sales."""
    if query.status is not None and query.customer_id is not None:
        raise _invalid("query.customerId", "filter by status or by customer, not both")
    assigned_to = query.assigned_to
    if not principal.can(Permission.SALES_READ_ALL):
        require(principal, Permission.SALES_READ_OWN)
        if assigned_to not in (None, principal.user_id):
            raise Forbidden(detail="this role sees only the sales assigned to it")
        assigned_to = principal.user_id
    if query.from_ is not None and query.to is not None and query.from_ > query.to:
        raise _invalid("query.from", "must not be after to")
    between = (_bound(query.from_, "0"), _bound(query.to, "9") + "~")
    scope = f"sales:{query.status or ''}:{assigned_to or ''}:{query.customer_id or ''}:{between[0]}:{between[1]}"
    return paginate(
        Page[Sale],
        query,
        tenant_id=principal.tenant_id,
        scope=scope,
        fetch=lambda start: store.list_sales(
            principal.tenant_id,
            status=query.status,
            assigned_to=assigned_to,
            customer_id=query.customer_id,
            between=between,
            limit=query.limit,
            start_key=start,
        ),
        convert=store.sale_of,
    )


def sale_history(principal: Principal, sale_id: str, params: PageParams) -> Page[HistoryEntry]:
    """The sale's status changes, oldest first."""
    _may_read(principal, _load(principal.tenant_id, sale_id))
    return engine.history(principal.tenant_id, ENTITY_TYPE, sale_id, params)


def list_pending_payments(tenant_id: str, params: PageParams) -> Page[Sale]:
    """One page of the tenant's sales invoiced and not yet paid, oldest first (for payment polling)."""
    return paginate(
        Page[Sale],
        params,
        tenant_id=tenant_id,
        scope="sales:payment-pending",
        fetch=lambda start: store.list_pending_payments(tenant_id, params.limit, start),
        convert=store.sale_of,
    )


# --- creating ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaleDraft:
    """What a new sale is made of, from a request or from another capability (a converted lead)."""

    customer_id: str
    service_id: str
    assigned_to: str | None = None
    scheduled_at: datetime | None = None
    source: SaleSource = "web"
    base_amount: Money | None = None
    discount: Money | None = None
    tax_rate: Decimal | None = None
    notes: str | None = None
    origin: SaleOrigin | None = None


@dataclass(frozen=True)
class PreparedSale:
    """A sale ready to be written: the sale, and the writes that create it (numbered, audited, its event)."""

    sale: Sale
    ops: list[WriteOp]


# Where a draft's fields came from, to name them in errors (a lead conversion names its own fields).
BODY_FIELDS: dict[str, str] = {
    "customer_id": "body.customerId",
    "service_id": "body.serviceId",
    "assigned_to": "body.assignedTo",
    "base_amount": "body.baseAmount",
    "discount": "body.discount",
    "tax_rate": "body.taxRate",
}


def _check_assignee(principal: Principal, assigned_to: str, field: str) -> None:
    if assigned_to != principal.user_id and not principal.can(Permission.SALES_WRITE_ALL):
        raise Forbidden(detail="this role may assign sales only to itself")
    user = find_user(principal.tenant_id, assigned_to)
    if user is None or user.status != "active":
        raise _invalid(field, "no active user with that id", "unknown-user")


def _service(tenant_id: str, service_id: str, field: str) -> tuple[str, Money, Decimal]:
    try:
        product = load_product(tenant_id, service_id)
    except NotFound as exc:
        raise _invalid(field, "no such service in the catalog", "unknown-service") from exc
    if product.kind != "service":
        raise _invalid(field, "this catalog item is a product, not a service", "not-a-service")
    if not product.active:
        raise _invalid(field, "this service is not active", "inactive")
    return product.name, product.price, product.tax_rate


def _amounts(
    base: Money, discount: Money | None, rate: Decimal, currency: str, fields: Mapping[str, str]
) -> SaleAmounts:
    try:
        return compute_amounts(base, discount, rate, currency)
    except AmountError as exc:
        field = fields["base_amount"] if exc.field == "body.baseAmount" else fields["discount"]
        raise _invalid(field, str(exc)) from exc


def _year(moment: datetime, time_zone: str) -> int:
    return moment.astimezone(ZoneInfo(time_zone)).year


def prepare_sale(
    principal: Principal,
    draft: SaleDraft,
    *,
    customer_exists: bool = True,
    fields: Mapping[str, str] = BODY_FIELDS,
) -> Callable[[], PreparedSale]:
    """Check ``draft`` (customer, service, rep, amounts) and return a builder of its writes.

    Call the builder for each attempt of the transaction: it reads the year's counter and numbers the sale with
    the next number; the first write takes that number (``number_claim_op``), so a transaction failing on write 0
    lost its number to a concurrent create (``NumberTaken``): build again. ``customer_exists=False`` when the
    customer is created in the same transaction (a lead conversion).
    """
    tenant = load_tenant(principal.tenant_id)
    if customer_exists:
        try:
            load_customer(principal.tenant_id, draft.customer_id)
        except NotFound as exc:
            raise _invalid(fields["customer_id"], "no such customer", "unknown-customer") from exc
    service_name, price, service_rate = _service(principal.tenant_id, draft.service_id, fields["service_id"])
    assigned_to = draft.assigned_to or principal.user_id
    _check_assignee(principal, assigned_to, fields["assigned_to"])
    rate = draft.tax_rate if draft.tax_rate is not None else service_rate
    amounts = _amounts(draft.base_amount or price, draft.discount, rate, tenant.currency, fields)

    def build() -> PreparedSale:
        moment = clock.now()
        at = clock.isoformat(moment)
        year = _year(moment, tenant.time_zone)
        current = store.current_number(principal.tenant_id, year)
        workflow = engine.initial_fields(principal.tenant_id, ENTITY_TYPE)
        sale = Sale(
            id=new_id(moment),
            tenant_id=principal.tenant_id,
            number=f"S-{year}-{current + 1:06d}",
            customer_id=draft.customer_id,
            service_id=draft.service_id,
            service_name=service_name,
            assigned_to=assigned_to,
            source=draft.source,
            origin=draft.origin,
            scheduled_at=clock.isoformat(draft.scheduled_at) if draft.scheduled_at else None,
            amounts=amounts,
            notes=draft.notes,
            status=str(workflow[engine.STATUS]),
            workflow_version=int(workflow[engine.WORKFLOW_VERSION]),
            status_changed_at=str(workflow[engine.STATUS_CHANGED_AT]),
            created_by=principal.user_id,
            created_at=at,
            updated_at=at,
        )
        item = sale.model_dump(exclude_none=True)
        ops = [
            store.number_claim_op(principal.tenant_id, year, current).on_conflict(
                NumberTaken(detail=f"sale number {sale.number} was taken meanwhile")
            ),
            *store.new_sale_ops(sale, workflow),
            audit_op(principal, "sale.created", Kind.SALE, sale.id, after=item),
            event_put_op(new_event("sale.created", principal.tenant_id, {"sale": snapshot(item)}, subject=sale.id)),
        ]
        return PreparedSale(sale=sale, ops=ops)

    return build


def commit_new_sale(
    build: Callable[[], PreparedSale],
    write: Callable[[PreparedSale], None],
) -> Sale:
    """Write a prepared sale with ``write`` (which adds it to its transaction and commits), taking the next number
    again as long as a concurrent create took the one it read; then start its status flow."""
    for attempt in range(_NUMBER_ATTEMPTS):
        prepared = build()
        try:
            write(prepared)
        except NumberTaken:
            time.sleep(random.uniform(0, _NUMBER_BACKOFF_S * min(attempt + 1, 10)))  # noqa: S311 - jitter
            continue
        engine.start(prepared.sale.tenant_id, ENTITY_TYPE, prepared.sale.id)
        return prepared.sale
    raise Conflict(detail="too many sales are being created at once; retry")


def _draft(body: CreateSaleRequest) -> SaleDraft:
    return SaleDraft(
        customer_id=body.customer_id,
        service_id=body.service_id,
        assigned_to=body.assigned_to,
        scheduled_at=body.scheduled_at,
        source=body.source,
        base_amount=body.base_amount,
        discount=body.discount,
        tax_rate=body.tax_rate,
        notes=body.notes,
    )


def create_sale(principal: Principal, body: CreateSaleRequest, idempotency_key: str | None) -> Sale:
    """Create a sale: customer and service checked, amounts computed, the next number of the year, the status
    flow started. With an ``Idempotency-Key`` a retry returns the first sale instead of creating another."""
    require(principal, Permission.SALES_WRITE_OWN)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "sales.create",
        body,
        Sale,
        lambda seal: _create(principal, body, seal),
    )


def _transact_numbered(ops: Sequence[WriteOp]) -> None:
    """Commit a transaction whose first write takes a sale number (``NumberTaken`` when another create took it);
    one cancelled because a concurrent transaction held the counter takes a number again too."""
    try:
        Table().transact(ops)
    except Conflict as exc:
        if exc.retry:
            raise NumberTaken(detail="a concurrent create met this one", retry=True) from exc
        raise


def _create(principal: Principal, body: CreateSaleRequest, seal: idempotency.Seal) -> Sale:
    build = prepare_sale(principal, _draft(body))
    return commit_new_sale(build, lambda prepared: _transact_numbered([*prepared.ops, *seal(prepared.sale)]))


# --- changing ---------------------------------------------------------------------------------------------------

_CLOSED_CHANGES = frozenset({"notes"})


def update_sale(principal: Principal, sale_id: str, body: UpdateSaleRequest) -> Sale:
    """Change a sale's customer, service, rep, date, amounts or notes (optimistic locking on ``version``).

    Amounts are computed again from what changed and what stays; a new service brings its name (and, unless
    sent, keeps the sale's base amount and rate). A closed sale changes only its notes (409 otherwise).
    """
    tenant_id = principal.tenant_id
    item = _load(tenant_id, sale_id, consistent=True)
    _may_write(principal, item)
    if int(item["version"]) != body.version:
        raise VersionConflict(detail=f"the sale is at version {item['version']}; reload and retry")
    sent = body.model_fields_set - {"version"}
    if item.get("closedAt") and sent - _CLOSED_CHANGES:
        raise Conflict(
            detail=f"the sale is {item['status']} (final): only its notes can change",
            errors=tuple(
                FieldError(f"body.{_camel(name)}", "the sale is closed", "sale-closed") for name in sorted(sent)
            ),
            code="sale-closed",
        )
    changes: dict[str, Any] = {}
    if "customer_id" in sent and body.customer_id != item["customerId"]:
        try:
            load_customer(tenant_id, str(body.customer_id))
        except NotFound as exc:
            raise _invalid("body.customerId", "no such customer", "unknown-customer") from exc
        changes["customerId"] = body.customer_id
    if "service_id" in sent and body.service_id != item["serviceId"]:
        changes["serviceName"] = _service(tenant_id, str(body.service_id), "body.serviceId")[0]
        changes["serviceId"] = body.service_id
    if "assigned_to" in sent and body.assigned_to != item["assignedTo"]:
        _check_assignee(principal, str(body.assigned_to), "body.assignedTo")
        changes["assignedTo"] = body.assigned_to
        changes.update(store.assignee_keys(tenant_id, str(item["createdAt"]), sale_id, str(body.assigned_to)))
    if "scheduled_at" in sent:
        changes["scheduledAt"] = clock.isoformat(body.scheduled_at) if body.scheduled_at else None
    if "notes" in sent:
        changes["notes"] = body.notes
    if sent & {"base_amount", "discount", "tax_rate"}:
        current = SaleAmounts.model_validate(item["amounts"])
        base = body.base_amount if "base_amount" in sent and body.base_amount else current.base
        discount = body.discount if "discount" in sent else current.discount
        rate = body.tax_rate if "tax_rate" in sent and body.tax_rate is not None else current.tax_rate
        currency = current.final.currency
        changes["amounts"] = _amounts(base, discount, rate, currency, BODY_FIELDS).model_dump()
    changed = sorted(name for name in changes if not name.startswith("GSI"))
    if not changed:
        return store.sale_of(item)
    changes["updatedAt"] = clock.now_iso()
    stale = VersionConflict(detail="the sale changed since you read it; reload and retry")
    write, after = revise_op(*store.sale_key(tenant_id, sale_id), item, changes, conflict=stale)
    data = {"changed": changed, "before": snapshot(item), "sale": snapshot(after)}
    Table().transact(
        [
            write,
            *store.ref_ops(tenant_id, item, after),
            audit_op(principal, "sale.updated", Kind.SALE, sale_id, before=dict(item), after=after),
            event_put_op(new_event("sale.updated", tenant_id, data, subject=sale_id)),
        ]
    )
    if "scheduledAt" in changes:
        engine.refresh_timers(tenant_id, ENTITY_TYPE, sale_id)
    return store.sale_of(after)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def transition_sale(principal: Principal, sale_id: str, to: str, note: str | None, version: int) -> Sale:
    """Move the sale along its status flow (role, current status and version checked; one winner)."""
    item = _load(principal.tenant_id, sale_id)
    _may_write(principal, item)
    result = engine.transition(principal, ENTITY_TYPE, sale_id, to, note, version)
    return store.sale_of(result.entity)


def delete_sale(principal: Principal, sale_id: str) -> None:
    """Delete a sale for good (its number is not given again); its history and audit trail stay."""
    require(principal, Permission.SALES_DELETE)
    tenant_id = principal.tenant_id
    item = _load(tenant_id, sale_id, consistent=True)
    data: dict[str, Any] = {"sale": snapshot(item)}
    deletion, *index_items = store.delete_sale_ops(tenant_id, item)
    moved = Conflict(detail="the sale changed while it was being deleted; reload and retry")
    Table().transact(
        [
            deletion.on_conflict(moved),
            *index_items,
            audit_op(principal, "sale.deleted", Kind.SALE, sale_id, before=dict(item)),
            event_put_op(new_event("sale.deleted", tenant_id, data, subject=sale_id)),
        ]
    )


# --- for the invoicing and calendar integrations ---------------------------------------------------------------


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
        item = _load(tenant_id, sale_id, consistent=True)
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


def customer_sale_ids(tenant_id: str, customer_id: str) -> list[str]:
    """The ids of every sale of the customer (for privacy requests, in a background job)."""
    return [str(item["id"]) for item in store.customer_sales(tenant_id, customer_id)]
