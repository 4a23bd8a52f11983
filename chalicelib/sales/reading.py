"""Reading sales: who may see or change one (a rep: its own), one sale, the lists (by status, rep, customer; the
payments pending) and its history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core import clock
from chalicelib.core.errors import Forbidden, NotFound, invalid_field
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.sales import store
from chalicelib.sales.models import Sale, SaleListQuery
from chalicelib.workflows import engine
from chalicelib.workflows.models import HistoryEntry

__all__ = [
    "ENTITY_TYPE",
    "customer_sale_ids",
    "get_sale",
    "list_pending_payments",
    "list_sales",
    "load_item",
    "load_sale",
    "may_read",
    "may_write",
    "sale_history",
]

ENTITY_TYPE = "sale"


def _owns(principal: Principal, item: Mapping[str, Any]) -> bool:
    return item.get("assignedTo") == principal.user_id


def may_read(principal: Principal, item: Mapping[str, Any]) -> None:
    """Refuse (403) a rep a sale not assigned to it."""
    if principal.can(Permission.SALES_READ_ALL):
        return
    require(principal, Permission.SALES_READ_OWN)
    if not _owns(principal, item):
        raise Forbidden(detail="this role sees only the sales assigned to it")


def may_write(principal: Principal, item: Mapping[str, Any]) -> None:
    """Refuse (403) a role that changes only its own sales a sale not assigned to it."""
    require(principal, Permission.SALES_WRITE_OWN)
    if principal.can(Permission.SALES_WRITE_ALL):
        return
    if not _owns(principal, item):
        raise Forbidden(detail="this role changes only the sales assigned to it")


def load_item(tenant_id: str, sale_id: str, *, consistent: bool = False) -> dict[str, Any]:
    """The sale's stored item (404 when there is none)."""
    item = store.get_sale(tenant_id, sale_id, consistent=consistent)
    if item is None:
        raise NotFound(detail=f"no sale {sale_id}")
    return item


def load_sale(tenant_id: str, sale_id: str) -> Sale:
    """The sale ``sale_id`` of the tenant (for other capabilities); ``NotFound`` if there is none."""
    return store.sale_of(load_item(tenant_id, sale_id))


def get_sale(principal: Principal, sale_id: str) -> Sale:
    """One sale (a rep: only its own)."""
    item = load_item(principal.tenant_id, sale_id)
    may_read(principal, item)
    return store.sale_of(item)


def _bound(moment: datetime | None, default: str) -> str:
    return clock.isoformat(moment) if moment is not None else default


def list_sales(principal: Principal, query: SaleListQuery) -> Page[Sale]:
    """One page of sales, newest first: by status, rep or customer (or a rep with a status or a customer), within
    a date range. A rep lists only its own sales."""
    if query.status is not None and query.customer_id is not None:
        raise invalid_field("query.customerId", "filter by status or by customer, not both")
    assigned_to = query.assigned_to
    if not principal.can(Permission.SALES_READ_ALL):
        require(principal, Permission.SALES_READ_OWN)
        if assigned_to not in (None, principal.user_id):
            raise Forbidden(detail="this role sees only the sales assigned to it")
        assigned_to = principal.user_id
    if query.from_ is not None and query.to is not None and query.from_ > query.to:
        raise invalid_field("query.from", "must not be after to")
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
    may_read(principal, load_item(principal.tenant_id, sale_id))
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


def customer_sale_ids(tenant_id: str, customer_id: str) -> list[str]:
    """The ids of every sale of the customer (for privacy requests, in a background job)."""
    return [str(item["id"]) for item in store.customer_sales(tenant_id, customer_id)]
