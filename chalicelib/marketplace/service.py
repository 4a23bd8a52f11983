"""StockTech marketplace use cases: the operator's categories and brands, sellers' listings, buyers' search, and
marketplace orders (one transaction across the buyer's and the seller's tenants).

Global by design: listings, their index and the marketplace categories and brands live under ``MARKET#`` keys,
outside every tenant (buyers of any tenant with the module browse them). A listing shows the seller's name and the
product's public fields; never its stock, tax rate, internal category, customers or orders. Those keys are read and
written inside ``unscoped()``, in this capability only.

The cross-tenant write: ``place_order`` is the one place where a request of one tenant (the buyer) writes into
another (the seller). Its explicit checks: the listing exists and is visible, it is not the buyer's own, its seller
is still selling (active, its plan with the marketplace module; else a 403 ``seller-unavailable``), the quantity is
at least the listing's minimum, the seller's product is still active, and the seller's stock holds it
(a conditional reservation in the same transaction: two buyers of the last units → one wins, the other gets a 422
naming ``body.quantity``). It writes, in one transaction, the seller's sale (the workflow entity, with its stock
reserved), the buyer's purchase, an audit entry and an event in each tenant, and a notification to each tenant's
admins; then starts the sale's status flow (``marketplace_transaction``: PENDING → CONFIRMED → COMPLETED, or
CANCELLED). Each side reads only its own half (its own tenant's keys): a buyer never sees the seller's sale item,
stock, customers or costs; a seller never sees the buyer's purchase. The seller moves the sale along its flow; each
transition mirrors the status onto the buyer's purchase (a keyed update of that one item, in the transition's
transaction), releases the reservation when it is cancelled and consumes it when it completes. A buyer may cancel
its purchase while it is PENDING.

This module is the capability's face (the routes and the seed call ``marketplace.service.X``); each job lives in its
own module, re-exported here: ``groups`` (the operator's categories and brands), ``listings`` (publishing, changing,
searching), ``ordering`` (the cross-tenant order), ``flow`` (the sale's status flow, the buyer's cancellation),
``halves`` (each side's own reads). All under one rule about what crosses tenants (the global index read by everyone,
the order's one cross-tenant write, each side's own half).
"""

from __future__ import annotations

from chalicelib.marketplace.flow import WORKFLOW, cancel_purchase, transition_sale
from chalicelib.marketplace.groups import create_group, find_group, list_groups
from chalicelib.marketplace.halves import (
    ENTITY_TYPE,
    get_purchase,
    get_sale,
    list_purchases,
    list_sales,
    sale_history,
)
from chalicelib.marketplace.listings import (
    create_listing,
    get_listing,
    list_seller_listings,
    search_listings,
    update_listing,
)
from chalicelib.marketplace.ordering import place_order, wa_link

__all__ = [
    "ENTITY_TYPE",
    "WORKFLOW",
    "cancel_purchase",
    "create_group",
    "create_listing",
    "find_group",
    "get_listing",
    "get_purchase",
    "get_sale",
    "list_groups",
    "list_purchases",
    "list_sales",
    "list_seller_listings",
    "place_order",
    "sale_history",
    "search_listings",
    "transition_sale",
    "update_listing",
    "wa_link",
]
