"""Order routes.

The reads call ``orders.reading``; the writes import ``orders.service`` when they first run. The service imports what
creating and moving an order needs (the catalog, stock, customers, the status flow), which a new container whose
first request reads an order would otherwise import before answering it (issue 20's cold path,
``tests/integration/orders/test_cold_imports.py``).
"""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page, PageParams
from chalicelib.orders import reading
from chalicelib.orders.models import CreateOrderRequest, Order, OrderListQuery, TransitionRequest, UpdateOrderRequest
from chalicelib.workflows.history import HistoryEntry

blueprint = protected_blueprint(__name__, tag="orders")


@blueprint.operation(
    "/orders",
    "POST",
    body=CreateOrderRequest,
    response=Order,
    status=201,
    permission=Permission.ORDERS_WRITE,
    module=Module.ORDERS,
    idempotent=True,
    problems=(409,),
)
def create_order(body: CreateOrderRequest, principal: Principal, idempotency_key: str | None) -> Order:
    """Create an order

    Prices, names and tax rates are copied from the catalog; stock is checked; the status flow of the tenant's
    business type starts. Send Idempotency-Key to retry safely. Counts against maxTransactions (a month).
    """
    from chalicelib.orders import service

    return service.create_order(principal, body, idempotency_key)


@blueprint.operation(
    "/orders", query=OrderListQuery, response=Page[Order], permission=Permission.ORDERS_READ_OWN, module=Module.ORDERS
)
def list_orders(query: OrderListQuery, principal: Principal) -> Page[Order]:
    """List orders

    Newest first; by status or by customer, within from/to. Roles that see only their own orders get the ones
    they created.
    """
    return reading.list_orders(principal, query)


@blueprint.operation(
    "/orders/{order_id}", response=Order, problems=(404,), permission=Permission.ORDERS_READ_OWN, module=Module.ORDERS
)
def get_order(order_id: str, principal: Principal) -> Order:
    """Get an order"""
    return reading.get_order(principal, order_id)


@blueprint.operation(
    "/orders/{order_id}",
    "PATCH",
    body=UpdateOrderRequest,
    response=Order,
    permission=Permission.ORDERS_WRITE,
    module=Module.ORDERS,
    problems=(404, 409),
)
def update_order(order_id: str, body: UpdateOrderRequest, principal: Principal) -> Order:
    """Change an order

    Reassign it or change its notes; send the version you read.
    """
    from chalicelib.orders import service

    return service.update_order(principal, order_id, body)


@blueprint.operation(
    "/orders/{order_id}/transitions",
    "POST",
    body=TransitionRequest,
    response=Order,
    permission=Permission.ORDERS_TRANSITION,
    module=Module.ORDERS,
    problems=(404, 409),
)
def transition_order(order_id: str, body: TransitionRequest, principal: Principal) -> Order:
    """Move an order to another status

    Allowed by the order's status flow for the caller's role; send the version you read (409 if it changed).
    Stock is reserved when the order is accepted, consumed when it completes, released when it is cancelled.
    """
    from chalicelib.orders import service

    return service.transition_order(principal, order_id, body)


@blueprint.operation(
    "/orders/{order_id}/history",
    query=PageParams,
    response=Page[HistoryEntry],
    problems=(404,),
    permission=Permission.ORDERS_READ_OWN,
    module=Module.ORDERS,
)
def order_history(order_id: str, query: PageParams, principal: Principal) -> Page[HistoryEntry]:
    """Status history of an order

    Every status change, oldest first: from, to, who, when, note.
    """
    return reading.order_history(principal, order_id, query)
