"""A new sale: its draft checked (customer, service, rep, amounts) and numbered with the year's next gapless number
(a number lost to a concurrent create is taken again), from a request or inside another capability's transaction."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog.service import load_product
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, WriteOp
from chalicelib.core.errors import Conflict, Forbidden, NotFound, invalid_field
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.customers.service import load_customer
from chalicelib.sales import store
from chalicelib.sales.amounts import AmountError, compute_amounts
from chalicelib.sales.events import snapshot
from chalicelib.sales.models import CreateSaleRequest, Sale, SaleAmounts, SaleOrigin, SaleSource
from chalicelib.sales.reading import ENTITY_TYPE
from chalicelib.tenants.service import load_tenant
from chalicelib.users.service import find_user
from chalicelib.workflows import engine

__all__ = [
    "BODY_FIELDS",
    "NumberTaken",
    "PreparedSale",
    "SaleDraft",
    "catalog_service",
    "check_assignee",
    "commit_new_sale",
    "create_sale",
    "prepare_sale",
    "sale_amounts",
]

# A create that loses its number to a concurrent one reads the counter again; 50 creates at once in one tenant
# need at most 49 retries for the last one. Jittered waits spread them out.
_NUMBER_ATTEMPTS = 100
_NUMBER_BACKOFF_S = 0.02


class NumberTaken(Conflict):
    """Raised when the sale number a transaction took was taken by a concurrent create (retry with the next)."""


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


def check_assignee(principal: Principal, assigned_to: str, field: str) -> None:
    """Refuse a rep assigning to another (403) and an assignee who is no active user of the tenant (422)."""
    if assigned_to != principal.user_id and not principal.can(Permission.SALES_WRITE_ALL):
        raise Forbidden(detail="this role may assign sales only to itself")
    user = find_user(principal.tenant_id, assigned_to)
    if user is None or user.status != "active":
        raise invalid_field(field, "no active user with that id", "unknown-user")


def catalog_service(tenant_id: str, service_id: str, field: str) -> tuple[str, Money, Decimal]:
    """The name, price and tax rate of the catalog's active service ``service_id`` (422 naming ``field``)."""
    try:
        product = load_product(tenant_id, service_id)
    except NotFound as exc:
        raise invalid_field(field, "no such service in the catalog", "unknown-service") from exc
    if product.kind != "service":
        raise invalid_field(field, "this catalog item is a product, not a service", "not-a-service")
    if not product.active:
        raise invalid_field(field, "this service is not active", "inactive")
    return product.name, product.price, product.tax_rate


def sale_amounts(
    base: Money, discount: Money | None, rate: Decimal, currency: str, fields: Mapping[str, str]
) -> SaleAmounts:
    """The sale's amounts (422 naming the base amount or the discount of ``fields`` they cannot be)."""
    try:
        return compute_amounts(base, discount, rate, currency)
    except AmountError as exc:
        field = fields["base_amount"] if exc.field == "body.baseAmount" else fields["discount"]
        raise invalid_field(field, str(exc)) from exc


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
            raise invalid_field(fields["customer_id"], "no such customer", "unknown-customer") from exc
    service_name, price, service_rate = catalog_service(principal.tenant_id, draft.service_id, fields["service_id"])
    assigned_to = draft.assigned_to or principal.user_id
    check_assignee(principal, assigned_to, fields["assigned_to"])
    rate = draft.tax_rate if draft.tax_rate is not None else service_rate
    amounts = sale_amounts(draft.base_amount or price, draft.discount, rate, tenant.currency, fields)

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
