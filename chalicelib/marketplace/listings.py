"""Sellers' listings: publishing a product of the seller's catalog on the global index, changing it, and buyers'
reads and searches of that index (``MARKET#`` keys, inside ``unscoped()``; only what a seller publishes)."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog import service as catalog
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict, put_op, unscoped
from chalicelib.core.errors import Conflict, FieldError, NotFound, invalid_field
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.core.patch import merge_patch
from chalicelib.core.text import fold
from chalicelib.marketplace import store
from chalicelib.marketplace.groups import check_group
from chalicelib.marketplace.models import (
    CreateListingRequest,
    Listing,
    ListingSearchQuery,
    SellerListing,
    UpdateListingRequest,
)
from chalicelib.tenants.models import TenantRecord
from chalicelib.tenants.service import find_tenant, load_tenant

__all__ = ["create_listing", "get_listing", "list_seller_listings", "search_listings", "selling", "update_listing"]


def selling(seller: TenantRecord | None) -> bool:
    """Whether buyers may see and buy a seller's listings: its tenant is active (not suspended, by the operator or
    by billing) and its plan still has the marketplace module."""
    return seller is not None and seller.status == "active" and Module.MARKETPLACE in seller.modules


def _check_price(price: Money, currency: str, field: str = "body.price") -> None:
    if price.currency != currency:
        raise invalid_field(f"{field}.currency", f"must be the seller's currency, {currency}", "currency")
    if price.amount <= 0:
        raise invalid_field(f"{field}.amount", "must be above 0", "not-positive")


def create_listing(principal: Principal, body: CreateListingRequest, idempotency_key: str | None) -> SellerListing:
    """Publish a product of the caller's catalog (kind product, active) on the marketplace: its public fields, a
    price above 0 in the tenant's currency and a minimum quantity. One listing per product."""
    require(principal, Permission.MARKETPLACE_WRITE)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "marketplace-listings",
        body,
        SellerListing,
        lambda seal: _create_listing(principal, body, seal),
    )


def _create_listing(principal: Principal, body: CreateListingRequest, seal: idempotency.Seal) -> SellerListing:
    tenant = load_tenant(principal.tenant_id)
    product = catalog.find_product(principal.tenant_id, body.product_id)
    if product is None:
        raise invalid_field("body.productId", "no such product in your catalog", "unknown-product")
    if product.kind != "product":
        raise invalid_field("body.productId", "a service has no stock to sell on the marketplace", "not-a-product")
    if not product.active:
        raise invalid_field("body.productId", "this product is not active", "inactive")
    _check_price(body.price, tenant.currency)
    at = clock.now_iso()
    listing_id = new_id()
    item: dict[str, Any] = {
        "id": listing_id,
        store.SELLER: tenant.id,
        "sellerName": tenant.name,
        "productId": product.id,
        "code": product.code,
        "name": product.name,
        "description": product.description,
        "imageUrls": list(product.image_urls),
        "specifications": dict(product.specifications),
        "price": body.price.model_dump(),
        "minQuantity": body.min_quantity,
        "categoryId": body.category_id,
        "brandId": body.brand_id,
        "visible": body.visible,
        "createdAt": at,
        "updatedAt": at,
        "version": 1,
    }
    item = {k: v for k, v in item.items() if v is not None}
    listing = store.seller_listing_of(item)
    listed = Conflict(
        detail="this product is listed already; change its listing instead",
        errors=(FieldError("body.productId", "already listed", "duplicate"),),
    )
    pk, sk = store.listing_key(listing_id)
    with unscoped():  # the listing goes to the global index; the claim and audit stay the seller's
        check_group("category", body.category_id, "body.categoryId")
        check_group("brand", body.brand_id, "body.brandId")
        Table().transact(
            [
                store.listing_claim_op(tenant.id, product.id, listing_id, at).on_conflict(listed),
                put_op({"PK": pk, "SK": sk, "entity": store.LISTING_ENTITY, **item, **store.listing_index_keys(item)}),
                *store.code_item_ops(None, item),
                audit_op(principal, "marketplace.listing_published", Kind.PRODUCT, product.id, after=item),
                event_put_op(
                    new_event(
                        "marketplace.listing_published",
                        tenant.id,
                        {
                            "listingId": listing_id,
                            "productId": product.id,
                            "price": body.price,
                            "minQuantity": body.min_quantity,
                            "visible": body.visible,
                        },
                        subject=listing_id,
                    )
                ),
                *seal(listing),
            ]
        )
    return listing


def _own_listing(principal: Principal, listing_id: str) -> dict[str, Any]:
    with unscoped():
        item = store.get_listing(listing_id, consistent=True)
    if item is None or item[store.SELLER] != principal.tenant_id:
        raise NotFound(detail=f"no listing {listing_id} of yours")
    return item


def update_listing(principal: Principal, listing_id: str, body: UpdateListingRequest) -> SellerListing:
    """Change the price, minimum, visibility, category or brand of one of the caller's listings."""
    require(principal, Permission.MARKETPLACE_WRITE)
    before = _own_listing(principal, listing_id)
    if before["version"] != body.version:
        raise VersionConflict(detail=f"the listing is at version {before['version']}; reload it")
    changes = body.changes()
    merged = merge_patch(store.seller_listing_of(before), changes, updatedAt=clock.now_iso(), version=body.version + 1)
    if "price" in changes:
        _check_price(merged.price, load_tenant(principal.tenant_id).currency)
    after = {**before, **merged.model_dump(exclude_none=True)}
    for name in ("categoryId", "brandId"):
        if changes.get(name, "") is None:
            after.pop(name, None)
    stale = VersionConflict(detail="the listing changed meanwhile; reload it")
    storage = {k: v for k, v in after.items() if not k.startswith("GSI")}
    with unscoped():
        check_group("category", changes.get("categoryId"), "body.categoryId")
        check_group("brand", changes.get("brandId"), "body.brandId")
        Table().transact(
            [
                put_op(
                    {**storage, **store.listing_index_keys(after)},
                    condition=Attr("version").eq(body.version),
                    conflict=stale,
                ),
                *store.code_item_ops(before, after),
                audit_op(principal, "marketplace.listing_updated", Kind.PRODUCT, str(before["productId"]), after=after),
                event_put_op(
                    new_event(
                        "marketplace.listing_updated",
                        principal.tenant_id,
                        {"changed": sorted(changes)},
                        subject=listing_id,
                    )
                ),
            ]
        )
    return store.seller_listing_of(after)


def get_listing(principal: Principal, listing_id: str) -> Listing:
    """A published listing (any seller's: the marketplace is global) of a seller still selling, or one of the
    caller's own, hidden or not."""
    require(principal, Permission.MARKETPLACE_READ)
    with unscoped():
        item = store.get_listing(listing_id)
        own = item is not None and item[store.SELLER] == principal.tenant_id
        if item is None or not (own or (item.get("visible") and selling(find_tenant(str(item[store.SELLER]))))):
            raise NotFound(detail=f"no listing {listing_id}")
    return store.listing_of(item)


def list_seller_listings(principal: Principal, params: PageParams) -> Page[SellerListing]:
    """The caller's own listings (visible or not), newest first."""
    require(principal, Permission.MARKETPLACE_READ)
    ids = paginate(
        Page[str],
        params,
        tenant_id=principal.tenant_id,
        scope="market-listings:own",
        fetch=lambda start: store.list_seller_claims(principal.tenant_id, params.limit, start),
        convert=lambda listing_id: listing_id,
    )
    with unscoped():
        items = store.listings_by_ids(ids.items)
    return Page[SellerListing](items=[store.seller_listing_of(i) for i in items], next_cursor=ids.next_cursor)


def search_listings(principal: Principal, query: ListingSearchQuery) -> Page[Listing]:
    """Published listings of every seller by name: of one category or brand, by name prefix, or by exact code."""
    require(principal, Permission.MARKETPLACE_READ)
    if query.category_id is not None and query.brand_id is not None:
        raise invalid_field("query.brandId", "filter by category or by brand, not both")
    if query.code is not None:
        if query.category_id or query.brand_id or query.q:
            raise invalid_field("query.code", "a code search takes no other filter")
        code = query.code
        with unscoped():
            ids = paginate(
                Page[str],
                query,
                tenant_id=principal.tenant_id,
                scope=f"market-code:{code}",
                fetch=lambda start: store.search_codes(code, query.limit, start),
                convert=lambda listing_id: listing_id,
            )
            items = store.listings_by_ids(ids.items)
        return Page[Listing](items=[store.listing_of(i) for i in items], next_cursor=ids.next_cursor)
    prefix = fold(query.q).replace("#", "") if query.q else None
    scope = f"market-search:{query.category_id or ''}:{query.brand_id or ''}:{prefix or ''}"
    with unscoped():  # the global index
        return paginate(
            Page[Listing],
            query,
            tenant_id=principal.tenant_id,
            scope=scope,
            fetch=lambda start: store.search_listings(
                category_id=query.category_id,
                brand_id=query.brand_id,
                prefix=prefix,
                limit=query.limit,
                start_key=start,
            ),
            convert=store.listing_of,
        )
