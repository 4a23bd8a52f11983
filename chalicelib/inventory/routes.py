"""Inventory routes: stock levels, the low-stock list, thresholds and movements."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page
from chalicelib.inventory import service
from chalicelib.inventory.models import (
    Movement,
    MovementListQuery,
    MovementRequest,
    StockChange,
    StockLevel,
    StockListQuery,
    ThresholdRequest,
)

blueprint = protected_blueprint(__name__, tag="inventory")

READ, WRITE, INVENTORY = Permission.INVENTORY_READ, Permission.INVENTORY_WRITE, Module.INVENTORY


@blueprint.operation("/inventory", query=StockListQuery, response=Page[StockLevel], permission=READ, module=INVENTORY)
def list_stock(query: StockListQuery, principal: Principal) -> Page[StockLevel]:
    """List stock levels

    One row per product (services have no stock), by product code. low=true lists only the products whose
    available units are under their low-stock threshold.
    """
    return service.list_stock(principal, query)


@blueprint.operation("/inventory/{product_id}", response=StockLevel, permission=READ, module=INVENTORY, problems=(404,))
def get_stock(product_id: str, principal: Principal) -> StockLevel:
    """Get a product's stock

    On hand, reserved for orders, available (on hand minus reserved), and the low-stock threshold.
    """
    return service.get_stock(principal, product_id)


@blueprint.operation(
    "/inventory/{product_id}",
    "PATCH",
    body=ThresholdRequest,
    response=StockLevel,
    permission=WRITE,
    module=INVENTORY,
    problems=(404, 409),
)
def set_threshold(product_id: str, body: ThresholdRequest, principal: Principal) -> StockLevel:
    """Set a product's low-stock threshold

    The product is low (and listed by low=true) while its available units are under it; 0 turns it off.
    Crossing it emits inventory.low_stock.
    """
    return service.set_threshold(principal, product_id, body)


@blueprint.operation(
    "/inventory/{product_id}/movements",
    "POST",
    body=MovementRequest,
    response=StockChange,
    status=201,
    permission=WRITE,
    module=INVENTORY,
    problems=(404, 409),
    idempotent=True,
)
def record_movement(
    product_id: str, body: MovementRequest, principal: Principal, idempotency_key: str | None
) -> StockChange:
    """Record a stock movement

    in: units arrived; out: units left (only available ones, never reserved); adjust: quantity is the
    counted on-hand (at least the reserved units). Stock never goes negative (422 naming body.quantity).
    """
    return service.record_movement(principal, product_id, body, idempotency_key)


@blueprint.operation(
    "/inventory/{product_id}/movements",
    query=MovementListQuery,
    response=Page[Movement],
    permission=READ,
    module=INVENTORY,
    problems=(404,),
)
def list_movements(product_id: str, query: MovementListQuery, principal: Principal) -> Page[Movement]:
    """List a product's stock movements

    Newest first: type, quantity, effect on on-hand and reserved units, reason, order reference, actor, time.
    """
    return service.list_movements(principal, product_id, query)
