"""Changing a sale as its people do: its customer, service, rep, date, amounts or notes (a closed one: its notes
only), and deleting it."""

from __future__ import annotations

from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict
from chalicelib.core.errors import Conflict, FieldError, NotFound, invalid_field
from chalicelib.core.events import event_put_op, new_event
from chalicelib.customers.service import load_customer
from chalicelib.sales import store
from chalicelib.sales.creating import BODY_FIELDS, catalog_service, check_assignee, sale_amounts
from chalicelib.sales.events import snapshot
from chalicelib.sales.flow import WORKFLOW
from chalicelib.sales.models import Sale, SaleAmounts, UpdateSaleRequest
from chalicelib.sales.reading import load_item, may_write
from chalicelib.workflows import engine

__all__ = ["delete_sale", "update_sale"]

_CLOSED_CHANGES = frozenset({"notes"})
# A new date re-arms the timers that count from it.
_CHANGES = engine.EntityChanges(WORKFLOW, store.sale_key, store.ref_ops, snapshot, frozenset({"scheduledAt"}))


def update_sale(principal: Principal, sale_id: str, body: UpdateSaleRequest) -> Sale:
    """Change a sale's customer, service, rep, date, amounts or notes (optimistic locking on ``version``).

    Amounts are computed again from what changed and what stays; a new service brings its name (and, unless
    sent, keeps the sale's base amount and rate). A closed sale changes only its notes (409 otherwise).
    """
    tenant_id = principal.tenant_id
    item = load_item(tenant_id, sale_id, consistent=True)
    may_write(principal, item)
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
            raise invalid_field("body.customerId", "no such customer", "unknown-customer") from exc
        changes["customerId"] = body.customer_id
    if "service_id" in sent and body.service_id != item["serviceId"]:
        changes["serviceName"] = catalog_service(tenant_id, str(body.service_id), "body.serviceId")[0]
        changes["serviceId"] = body.service_id
    if "assigned_to" in sent and body.assigned_to != item["assignedTo"]:
        check_assignee(principal, str(body.assigned_to), "body.assignedTo")
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
        changes["amounts"] = sale_amounts(base, discount, rate, currency, BODY_FIELDS).model_dump()
    if not changes:
        return store.sale_of(item)
    return store.sale_of(_CHANGES.save(principal, sale_id, item, changes))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def delete_sale(principal: Principal, sale_id: str) -> None:
    """Delete a sale for good (its number is not given again); its history and audit trail stay."""
    require(principal, Permission.SALES_DELETE)
    tenant_id = principal.tenant_id
    item = load_item(tenant_id, sale_id, consistent=True)
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
