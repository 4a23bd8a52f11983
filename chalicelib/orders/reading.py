"""Reading orders: who may see one, one order, the lists (by status, by customer, a role's own) and its history."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from datetime import datetime

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core import clock
from chalicelib.core.db.store import QueryPage
from chalicelib.core.errors import FieldError, Forbidden, InvalidInput, NotFound
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.orders import store
from chalicelib.orders.models import Order, OrderListQuery, OrderRecord
from chalicelib.workflows.history import EntityType, HistoryEntry

__all__ = [
    "ENTITY_TYPE",
    "customer_order_ids",
    "find_order",
    "get_order",
    "list_orders",
    "load",
    "may_read",
    "order_history",
    "readable_order",
]

ENTITY_TYPE = EntityType.ORDER


def may_read(principal: Principal, order: OrderRecord) -> None:
    """Refuse (403) a role that sees only its own orders an order it neither created nor is assigned to."""
    if principal.can(Permission.ORDERS_READ_ALL):
        return
    mine = principal.user_id in (order.created_by, order.assigned_to)
    if not (principal.can(Permission.ORDERS_READ_OWN) and mine):
        raise Forbidden(detail="this role sees only the orders it created or is assigned to")


def load(principal: Principal, order_id: str, *, consistent: bool = False) -> OrderRecord:
    """The order of the caller's tenant (404 when there is none)."""
    order = store.get_order(principal.tenant_id, order_id, consistent=consistent)
    if order is None:
        raise NotFound(detail=f"no order {order_id}")
    return order


def readable_order(principal: Principal, order_id: str) -> Order:
    """The order, for another capability acting for ``principal`` (a consistent read; 404 when there is none, 403
    when the caller's role may not see it)."""
    order = load(principal, order_id, consistent=True)
    may_read(principal, order)
    return order.view()


def find_order(tenant_id: str, order_id: str) -> Order | None:
    """The order (a consistent read), for BTRIX's own jobs; None when there is none."""
    order = store.get_order(tenant_id, order_id, consistent=True)
    return None if order is None else order.view()


def get_order(principal: Principal, order_id: str) -> Order:
    """One order (roles that see only their own: the ones they created or are assigned to)."""
    order = load(principal, order_id)
    may_read(principal, order)
    return order.view()


def _bound(moment: datetime | None, default: str) -> str:
    return clock.isoformat(moment) if moment is not None else default


def list_orders(principal: Principal, query: OrderListQuery) -> Page[Order]:
    """One page of orders, newest first: by status or by customer, within a time range; own-only roles get
    the orders they created."""
    if query.status is not None and query.customer_id is not None:
        raise InvalidInput(
            detail="filter by status or by customer, not both",
            errors=(FieldError("query.customerId", "not together with status"),),
        )
    between = (_bound(query.from_, "0"), _bound(query.to, "9") + "~")
    if not principal.can(Permission.ORDERS_READ_ALL):
        require(principal, Permission.ORDERS_READ_OWN)
        return _list_own(principal, query)
    return paginate(
        Page[Order],
        query,
        tenant_id=principal.tenant_id,
        scope=f"orders:{query.status or ''}:{query.customer_id or ''}:{between[0]}:{between[1]}",
        fetch=lambda start: store.list_orders(
            principal.tenant_id,
            status=query.status,
            customer_id=query.customer_id,
            between=between,
            limit=query.limit,
            start_key=start,
        ),
        convert=_shown,
    )


def _shown(order: Order) -> Order:
    return order  # the store's list reads the orders as the API shows them


def _list_own(principal: Principal, query: PageParams) -> Page[Order]:
    def fetch(start: dict[str, str] | None) -> QueryPage[OrderRecord]:
        refs = store.list_user_order_ids(principal.tenant_id, principal.user_id, query.limit, start)
        ids = refs.items
        # The index holds ids only: the orders themselves are read at once (GetItem each, in parallel threads,
        # inside this request's tenant scope).
        scope = copy_context()
        with ThreadPoolExecutor(max_workers=8) as pool:
            found = list(pool.map(lambda i: scope.copy().run(store.get_order, principal.tenant_id, i), ids))
        return QueryPage(items=[order for order in found if order is not None], last_key=refs.last_key)

    return paginate(
        Page[Order],
        query,
        tenant_id=principal.tenant_id,
        scope=f"orders:own:{principal.user_id}",
        fetch=fetch,
        convert=OrderRecord.view,
    )


def order_history(principal: Principal, order_id: str, params: PageParams) -> Page[HistoryEntry]:
    """The order's status changes, oldest first."""
    # The engine is imported here: it brings the status flows, which reading one order or a list does not need.
    from chalicelib.workflows import engine

    may_read(principal, load(principal, order_id))
    return engine.history(principal.tenant_id, ENTITY_TYPE, order_id, params)


def customer_order_ids(tenant_id: str, customer_id: str) -> list[str]:
    """The ids of every order of the customer (for privacy requests, in a background job)."""
    return store.customer_order_ids(tenant_id, customer_id)
