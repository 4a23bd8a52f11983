"""Each side's own half of a marketplace order, read with its own tenant's keys: the buyer's purchases, the seller's
sales and their history."""

from __future__ import annotations

from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core.errors import NotFound
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.marketplace import store
from chalicelib.marketplace.models import MarketPurchase, MarketSale, MarketSaleListQuery
from chalicelib.workflows import engine
from chalicelib.workflows.models import EntityType, HistoryEntry

__all__ = [
    "ENTITY_TYPE",
    "get_purchase",
    "get_sale",
    "list_purchases",
    "list_sales",
    "load_purchase",
    "load_sale",
    "sale_history",
]

# A marketplace sale as the workflow engine runs it (the seller's half).
ENTITY_TYPE = EntityType.MARKETPLACE_TRANSACTION


def load_purchase(tenant_id: str, purchase_id: str) -> dict[str, Any]:
    """The tenant's purchase item (404 when there is none)."""
    item = store.get_purchase(tenant_id, purchase_id)
    if item is None:
        raise NotFound(detail=f"no marketplace purchase {purchase_id}")
    return item


def load_sale(tenant_id: str, sale_id: str) -> dict[str, Any]:
    """The tenant's marketplace sale item (404 when there is none)."""
    item = store.get_sale(tenant_id, sale_id)
    if item is None:
        raise NotFound(detail=f"no marketplace sale {sale_id}")
    return item


def get_purchase(principal: Principal, purchase_id: str) -> MarketPurchase:
    """One of the caller's purchases (the buyer's half)."""
    require(principal, Permission.MARKETPLACE_READ)
    return store.purchase_of(load_purchase(principal.tenant_id, purchase_id))


def list_purchases(principal: Principal, params: PageParams) -> Page[MarketPurchase]:
    """The caller's purchases, newest first."""
    require(principal, Permission.MARKETPLACE_READ)
    return paginate(
        Page[MarketPurchase],
        params,
        tenant_id=principal.tenant_id,
        scope="market-purchases",
        fetch=lambda start: store.list_purchases(principal.tenant_id, params.limit, start),
        convert=store.purchase_of,
    )


def get_sale(principal: Principal, sale_id: str) -> MarketSale:
    """One of the caller's marketplace sales (the seller's half)."""
    require(principal, Permission.MARKETPLACE_READ)
    return store.sale_of(load_sale(principal.tenant_id, sale_id))


def list_sales(principal: Principal, query: MarketSaleListQuery) -> Page[MarketSale]:
    """The caller's marketplace sales, newest first (of one status when given)."""
    require(principal, Permission.MARKETPLACE_READ)
    return paginate(
        Page[MarketSale],
        query,
        tenant_id=principal.tenant_id,
        scope=f"market-sales:{query.status or ''}",
        fetch=lambda start: store.list_sales(principal.tenant_id, query.status, query.limit, start),
        convert=store.sale_of,
    )


def sale_history(principal: Principal, sale_id: str, params: PageParams) -> Page[HistoryEntry]:
    """The sale's status changes, oldest first."""
    require(principal, Permission.MARKETPLACE_READ)
    return engine.history(principal.tenant_id, ENTITY_TYPE, sale_id, params)
