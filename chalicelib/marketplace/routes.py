"""StockTech marketplace routes: listings, search, orders, each side's half, the operator's categories and brands."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page, PageParams
from chalicelib.marketplace import service
from chalicelib.marketplace.models import (
    CreateListingRequest,
    CreateMarketGroupRequest,
    Listing,
    ListingSearchQuery,
    MarketGroup,
    MarketOrderRequest,
    MarketPurchase,
    MarketSale,
    MarketSaleListQuery,
    SellerListing,
    UpdateListingRequest,
)
from chalicelib.orders.models import TransitionRequest
from chalicelib.workflows.models import HistoryEntry

blueprint = protected_blueprint(__name__, tag="marketplace")
M = Module.MARKETPLACE


@blueprint.operation(
    "/marketplace/listings",
    "POST",
    body=CreateListingRequest,
    response=SellerListing,
    status=201,
    problems=(409,),
    permission=Permission.MARKETPLACE_WRITE,
    module=M,
    idempotent=True,
)
def market_create_listing(
    body: CreateListingRequest, principal: Principal, idempotency_key: str | None
) -> SellerListing:
    """Publish a product on the marketplace

    A product (not a service) of your catalog, active, at a price above 0 in your currency, with a minimum
    quantity; optionally in a marketplace category and brand. Buyers see its name, code, description, images and
    specifications, never its stock or your other data. One listing per product (409 for a second).
    """
    return service.create_listing(principal, body, idempotency_key)


@blueprint.operation(
    "/marketplace/listings",
    query=ListingSearchQuery,
    response=Page[Listing],
    permission=Permission.MARKETPLACE_READ,
    module=M,
)
def market_search_listings(query: ListingSearchQuery, principal: Principal) -> Page[Listing]:
    """Search the marketplace

    Published listings of every seller by name (case and accents ignored): of one category or one brand, by name
    prefix (q), or by exact product code.
    """
    return service.search_listings(principal, query)


@blueprint.operation(
    "/marketplace/my-listings",
    query=PageParams,
    response=Page[SellerListing],
    permission=Permission.MARKETPLACE_READ,
    module=M,
)
def market_list_my_listings(query: PageParams, principal: Principal) -> Page[SellerListing]:
    """Your listings

    Newest first, visible or not, with the product of your catalog each publishes.
    """
    return service.list_seller_listings(principal, query)


@blueprint.operation(
    "/marketplace/listings/{listing_id}",
    response=Listing,
    problems=(404,),
    permission=Permission.MARKETPLACE_READ,
    module=M,
)
def market_get_listing(listing_id: str, principal: Principal) -> Listing:
    """Get a listing

    Any seller's published listing (the marketplace is global), or one of yours even when hidden; 404 for a
    listing whose seller is suspended or no longer has the marketplace module.
    """
    return service.get_listing(principal, listing_id)


@blueprint.operation(
    "/marketplace/listings/{listing_id}",
    "PATCH",
    body=UpdateListingRequest,
    response=SellerListing,
    problems=(404, 409),
    permission=Permission.MARKETPLACE_WRITE,
    module=M,
)
def market_update_listing(listing_id: str, body: UpdateListingRequest, principal: Principal) -> SellerListing:
    """Change one of your listings

    Price, minimum quantity, visibility, category or brand; send the version you read.
    """
    return service.update_listing(principal, listing_id, body)


@blueprint.operation(
    "/marketplace/orders",
    "POST",
    body=MarketOrderRequest,
    response=MarketPurchase,
    status=201,
    problems=(403, 409),
    permission=Permission.MARKETPLACE_WRITE,
    module=M,
    idempotent=True,
)
def market_place_order(body: MarketOrderRequest, principal: Principal, idempotency_key: str | None) -> MarketPurchase:
    """Buy from a listing

    Creates your purchase and the seller's sale order with the units reserved from the seller's stock, in one
    transaction; both companies' admins are notified; waLink opens a WhatsApp chat with the seller. The quantity
    must be at least the listing's minimum and at most the seller's stock (422 naming body.quantity); your own
    listing cannot be bought (422 naming body.listingId), nor one whose seller is suspended or no longer has the
    marketplace module (403 urn:btrix:problem:seller-unavailable naming body.listingId). Send Idempotency-Key to
    retry safely.
    """
    return service.place_order(principal, body, idempotency_key)


@blueprint.operation(
    "/marketplace/purchases",
    query=PageParams,
    response=Page[MarketPurchase],
    permission=Permission.MARKETPLACE_READ,
    module=M,
)
def market_list_purchases(query: PageParams, principal: Principal) -> Page[MarketPurchase]:
    """Your marketplace purchases

    Newest first, with their status (the seller's flow) and the WhatsApp link to the seller.
    """
    return service.list_purchases(principal, query)


@blueprint.operation(
    "/marketplace/purchases/{purchase_id}",
    response=MarketPurchase,
    problems=(404,),
    permission=Permission.MARKETPLACE_READ,
    module=M,
)
def market_get_purchase(purchase_id: str, principal: Principal) -> MarketPurchase:
    """Get one of your purchases"""
    return service.get_purchase(principal, purchase_id)


@blueprint.operation(
    "/marketplace/purchases/{purchase_id}/cancel",
    "POST",
    response=MarketPurchase,
    problems=(404, 409),
    permission=Permission.MARKETPLACE_WRITE,
    module=M,
)
def market_cancel_purchase(purchase_id: str, principal: Principal) -> MarketPurchase:
    """Cancel one of your purchases

    Only while the seller has not confirmed it (PENDING; 409 otherwise): the seller's units are released.
    """
    return service.cancel_purchase(principal, purchase_id)


@blueprint.operation(
    "/marketplace/sales",
    query=MarketSaleListQuery,
    response=Page[MarketSale],
    permission=Permission.MARKETPLACE_READ,
    module=M,
)
def market_list_sales(query: MarketSaleListQuery, principal: Principal) -> Page[MarketSale]:
    """Your marketplace sales

    Newest first, or of one status.
    """
    return service.list_sales(principal, query)


@blueprint.operation(
    "/marketplace/sales/{market_sale_id}",
    response=MarketSale,
    problems=(404,),
    permission=Permission.MARKETPLACE_READ,
    module=M,
)
def market_get_sale(market_sale_id: str, principal: Principal) -> MarketSale:
    """Get one of your marketplace sales"""
    return service.get_sale(principal, market_sale_id)


@blueprint.operation(
    "/marketplace/sales/{market_sale_id}/transitions",
    "POST",
    body=TransitionRequest,
    response=MarketSale,
    problems=(404, 409),
    permission=Permission.MARKETPLACE_WRITE,
    module=M,
)
def market_transition_sale(market_sale_id: str, body: TransitionRequest, principal: Principal) -> MarketSale:
    """Move a marketplace sale to another status

    Allowed by the marketplace flow for your role (CONFIRMED, COMPLETED, CANCELLED); the buyer's purchase follows.
    Cancelling gives the units back to your stock; completing takes them out. Send the version you read.
    """
    return service.transition_sale(principal, market_sale_id, body.to, body.note, body.version)


@blueprint.operation(
    "/marketplace/sales/{market_sale_id}/history",
    query=PageParams,
    response=Page[HistoryEntry],
    problems=(404,),
    permission=Permission.MARKETPLACE_READ,
    module=M,
)
def market_sale_history(market_sale_id: str, query: PageParams, principal: Principal) -> Page[HistoryEntry]:
    """Status history of a marketplace sale"""
    return service.sale_history(principal, market_sale_id, query)


@blueprint.operation(
    "/marketplace/categories",
    query=PageParams,
    response=Page[MarketGroup],
    permission=Permission.MARKETPLACE_READ,
    module=M,
)
def market_list_categories(query: PageParams, principal: Principal) -> Page[MarketGroup]:
    """Marketplace categories

    Global (the platform operator's), by name.
    """
    return service.list_groups(principal, "category", query)


@blueprint.operation(
    "/marketplace/brands",
    query=PageParams,
    response=Page[MarketGroup],
    permission=Permission.MARKETPLACE_READ,
    module=M,
)
def market_list_brands(query: PageParams, principal: Principal) -> Page[MarketGroup]:
    """Marketplace brands

    Global (the platform operator's), by name.
    """
    return service.list_groups(principal, "brand", query)


@blueprint.operation(
    "/platform/marketplace/categories",
    "POST",
    body=CreateMarketGroupRequest,
    response=MarketGroup,
    status=201,
    problems=(409,),
    permission=Permission.PLATFORM_MARKETPLACE,
)
def market_create_category(body: CreateMarketGroupRequest, principal: Principal) -> MarketGroup:
    """Add a marketplace category (platform)

    Its name is unique across the marketplace (409 otherwise).
    """
    return service.create_group(principal, "category", body)


@blueprint.operation(
    "/platform/marketplace/brands",
    "POST",
    body=CreateMarketGroupRequest,
    response=MarketGroup,
    status=201,
    problems=(409,),
    permission=Permission.PLATFORM_MARKETPLACE,
)
def market_create_brand(body: CreateMarketGroupRequest, principal: Principal) -> MarketGroup:
    """Add a marketplace brand (platform)

    Its name is unique across the marketplace (409 otherwise).
    """
    return service.create_group(principal, "brand", body)
