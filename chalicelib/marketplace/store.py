"""Marketplace items: the global index (listings, their facets and codes, the operator's categories and brands,
under ``MARKET#`` keys outside every tenant) and each tenant's half of a transaction (the buyer's purchase, the
seller's sale) with the seller's listing claims.

A listing is on the name-sorted lists (GSI1 all, GSI2 its category, GSI3 its brand) and has a code index item only
while it is visible, so every search is a key prefix, never a filter. Global keys are read and written inside
``unscoped()`` by the service (docs/SECURITY.md): buyers of every tenant read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind, MarketSegment, UniqueField
from chalicelib.core.db.store import QueryPage, Table, WriteOp, delete_op, put_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, GSI3, strip_storage
from chalicelib.core.text import fold
from chalicelib.marketplace.models import (
    Listing,
    MarketGroup,
    MarketGroupKind,
    MarketPurchase,
    MarketSale,
    SellerListing,
)

__all__ = [
    "BUYER",
    "SELLER",
    "claim_of_product",
    "code_item_ops",
    "get_group",
    "get_listing",
    "get_purchase",
    "get_sale",
    "group_claim_op",
    "group_named",
    "group_ops",
    "groups_exist",
    "list_groups",
    "list_purchases",
    "list_sales",
    "list_seller_claims",
    "listing_claim_op",
    "listing_index_keys",
    "listing_key",
    "listing_of",
    "listings_by_ids",
    "purchase_item",
    "purchase_key",
    "purchase_of",
    "sale_item",
    "sale_key",
    "sale_of",
    "sale_status_keys",
    "search_codes",
    "search_listings",
    "seller_listing_of",
]

LISTING_ENTITY = "MarketListing"
CODE_ENTITY = "MarketListingCode"
CLAIM_ENTITY = "MarketListingClaim"
PURCHASE_ENTITY = "MarketPurchase"
SALE_ENTITY = "MarketSale"
# The attributes of listings, sales and purchases that name the seller's and the buyer's tenants.
SELLER = "sellerTenantId"
BUYER = "buyerTenantId"
_GROUP_ENTITY: dict[MarketGroupKind, str] = {"category": "MarketCategory", "brand": "MarketBrand"}
_GROUP_SEGMENT: dict[MarketGroupKind, MarketSegment] = {
    "category": MarketSegment.CATEGORY,
    "brand": MarketSegment.BRAND,
}
_GROUP_LIST: dict[MarketGroupKind, MarketSegment] = {
    "category": MarketSegment.CATEGORIES,
    "brand": MarketSegment.BRANDS,
}
_GROUP_UNIQUE: dict[MarketGroupKind, UniqueField] = {
    "category": UniqueField.MARKET_CATEGORY_NAME,
    "brand": UniqueField.MARKET_BRAND_NAME,
}
_FACET = {"category": "CATEGORY", "brand": "BRAND"}


def _fields(model: type[Any]) -> frozenset[str]:
    return frozenset(field.alias or name for name, field in model.model_fields.items())


_LISTING_FIELDS = _fields(Listing)
_SELLER_FIELDS = _fields(SellerListing)
_PURCHASE_FIELDS = _fields(MarketPurchase)
_SALE_FIELDS = _fields(MarketSale)
_GROUP_FIELDS = _fields(MarketGroup)


# --- categories and brands (the operator's) --------------------------------------------------------------------


def _group_key(kind: MarketGroupKind, group_id: str) -> tuple[str, str]:
    return keys.market_pk(_GROUP_SEGMENT[kind], group_id), keys.META_SK


def group_ops(group: MarketGroup) -> list[WriteOp]:
    """The writes creating a category or brand, listed by name."""
    pk, sk = _group_key(group.kind, group.id)
    item = {
        "PK": pk,
        "SK": sk,
        ENTITY: _GROUP_ENTITY[group.kind],
        GSI1.partition_key: keys.market_pk(_GROUP_LIST[group.kind]),
        GSI1.sort_key: keys.name_sk(fold(group.name), group.id),
        **group.model_dump(exclude_none=True),
    }
    return [put_op(item)]


def group_claim_op(kind: MarketGroupKind, name: str, group_id: str) -> WriteOp:
    """The unique claim of a category or brand name across the marketplace (fails when taken)."""
    pk = keys.market_pk(MarketSegment.UNIQUE, _GROUP_UNIQUE[kind].value, fold(name))
    return put_op({"PK": pk, "SK": keys.UNIQUE_SK, ENTITY: "MarketUnique", "groupId": group_id})


def get_group(kind: MarketGroupKind, group_id: str) -> MarketGroup | None:
    """A category or brand, or None."""
    item = Table().get(*_group_key(kind, group_id))
    return MarketGroup.model_validate({k: v for k, v in item.items() if k in _GROUP_FIELDS}) if item else None


def group_named(kind: MarketGroupKind, name: str) -> MarketGroup | None:
    """The category or brand whose folded name is ``name``'s (its unique claim), or None."""
    pk = keys.market_pk(MarketSegment.UNIQUE, _GROUP_UNIQUE[kind].value, fold(name))
    claim = Table().get(pk, keys.UNIQUE_SK)
    return get_group(kind, str(claim["groupId"])) if claim else None


def groups_exist(kind: MarketGroupKind, group_id: str) -> bool:
    """Whether the category or brand exists."""
    return get_group(kind, group_id) is not None


def list_groups(kind: MarketGroupKind, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[MarketGroup]:
    """One page of the categories or brands, by name."""
    page = Table().query_page(keys.market_pk(_GROUP_LIST[kind]), index=GSI1, limit=limit, start_key=start_key)
    return page.map(lambda item: MarketGroup.model_validate({k: v for k, v in item.items() if k in _GROUP_FIELDS}))


# --- listings --------------------------------------------------------------------------------------------------


def listing_key(listing_id: str) -> tuple[str, str]:
    """(PK, SK) of a listing."""
    return keys.market_pk(MarketSegment.LISTING, listing_id), keys.META_SK


def listing_index_keys(item: Mapping[str, Any]) -> dict[str, str]:
    """The GSI entries of a visible listing (name-sorted: all, its category, its brand); none when hidden."""
    if not item.get("visible"):
        return {}
    sort = keys.name_sk(fold(str(item["name"])), str(item["id"]))
    found = {GSI1.partition_key: keys.market_pk(MarketSegment.LISTINGS), GSI1.sort_key: sort}
    for field, index in (("categoryId", GSI2), ("brandId", GSI3)):
        if item.get(field):
            facet = _FACET["category" if field == "categoryId" else "brand"]
            found[index.partition_key] = keys.market_pk(MarketSegment.LISTINGS, facet, str(item[field]))
            found[index.sort_key] = sort
    return found


def code_item_ops(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[WriteOp]:
    """The code index item's write when a listing becomes visible (put) or hidden (delete); none otherwise."""
    was, now = bool(before and before.get("visible")), bool(after.get("visible"))
    pk, sk = keys.market_pk(MarketSegment.LISTING_CODE, str(after["code"])), str(after["id"])
    if now and not was:
        return [put_op({"PK": pk, "SK": sk, ENTITY: CODE_ENTITY, "listingId": after["id"]}, must_not_exist=False)]
    if was and not now:
        return [delete_op(pk, sk)]
    return []


def listing_claim_op(seller_id: str, product_id: str, listing_id: str, created_at: str) -> WriteOp:
    """The seller's claim that a product is listed once, also its entry in the seller's list of listings."""
    return put_op(
        {
            "PK": keys.unique_pk(seller_id, UniqueField.MARKET_PRODUCT, product_id),
            "SK": keys.UNIQUE_SK,
            ENTITY: CLAIM_ENTITY,
            "listingId": listing_id,
            GSI1.partition_key: keys.collection_pk(seller_id, Collection.MARKET_LISTINGS),
            GSI1.sort_key: keys.time_sk(created_at, listing_id),
        }
    )


def claim_of_product(seller_id: str, product_id: str) -> str | None:
    """The id of the seller's listing of ``product_id``, if it has one."""
    item = Table().get(keys.unique_pk(seller_id, UniqueField.MARKET_PRODUCT, product_id), keys.UNIQUE_SK)
    return str(item["listingId"]) if item else None


def list_seller_claims(seller_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[str]:
    """One page of the seller's listing ids, newest first."""
    page = Table().query_page(
        keys.collection_pk(seller_id, Collection.MARKET_LISTINGS),
        index=GSI1,
        limit=limit,
        start_key=start_key,
        newest_first=True,
    )
    return page.map(lambda item: str(item["listingId"]))


def get_listing(listing_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    """A listing item as stored (with the seller's tenant id and product id), or None."""
    return Table().get(*listing_key(listing_id), consistent=consistent)


def listings_by_ids(listing_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The listing items of ``listing_ids``, in that order (missing ones left out)."""
    found = {str(item["id"]): item for item in Table().batch_get([listing_key(i) for i in dict.fromkeys(listing_ids)])}
    return [found[i] for i in listing_ids if i in found]


def listing_of(item: Mapping[str, Any]) -> Listing:
    """What every buyer sees of a listing."""
    return Listing.model_validate({k: v for k, v in item.items() if k in _LISTING_FIELDS})


def seller_listing_of(item: Mapping[str, Any]) -> SellerListing:
    """What the seller sees of its listing."""
    return SellerListing.model_validate({k: v for k, v in item.items() if k in _SELLER_FIELDS})


def search_listings(
    *,
    category_id: str | None,
    brand_id: str | None,
    prefix: str | None,
    limit: int,
    start_key: Mapping[str, str] | None,
) -> QueryPage[dict[str, Any]]:
    """One page of visible listings by name: all of them, or of a category or brand; ``prefix`` (folded) narrows."""
    if category_id is not None:
        index, partition = GSI2, keys.market_pk(MarketSegment.LISTINGS, _FACET["category"], category_id)
    elif brand_id is not None:
        index, partition = GSI3, keys.market_pk(MarketSegment.LISTINGS, _FACET["brand"], brand_id)
    else:
        index, partition = GSI1, keys.market_pk(MarketSegment.LISTINGS)
    return Table().query_page(
        partition,
        index=index,
        sort_prefix=keys.name_prefix(prefix) if prefix else None,
        limit=limit,
        start_key=start_key,
    )


def search_codes(code: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[str]:
    """One page of the ids of visible listings with product code ``code`` (sellers' codes may coincide)."""
    page = Table().query_page(keys.market_pk(MarketSegment.LISTING_CODE, code), limit=limit, start_key=start_key)
    return page.map(lambda item: str(item["listingId"]))


# --- the two halves of a transaction ----------------------------------------------------------------------------


def purchase_key(buyer_id: str, transaction_id: str) -> tuple[str, str]:
    """(PK, SK) of the buyer's half."""
    return keys.entity_pk(buyer_id, Kind.MARKET_PURCHASE, transaction_id), keys.META_SK


def sale_key(seller_id: str, transaction_id: str) -> tuple[str, str]:
    """(PK, SK) of the seller's half (the workflow entity)."""
    return keys.entity_pk(seller_id, Kind.MARKETPLACE_TRANSACTION, transaction_id), keys.META_SK


def sale_status_keys(seller_id: str, status: str, created_at: str, transaction_id: str) -> dict[str, str]:
    """The GSI2 entry of a sale in the list of its status (moved by every transition)."""
    return {
        GSI2.partition_key: keys.collection_pk(seller_id, Collection.MARKET_SALES, status),
        GSI2.sort_key: keys.time_sk(created_at, transaction_id),
    }


def purchase_item(buyer_id: str, purchase: Mapping[str, Any]) -> dict[str, Any]:
    """The stored item of a purchase (``purchase``: its JSON fields)."""
    pk, sk = purchase_key(buyer_id, str(purchase["id"]))
    return {
        "PK": pk,
        "SK": sk,
        ENTITY: PURCHASE_ENTITY,
        "tenantId": buyer_id,
        GSI1.partition_key: keys.collection_pk(buyer_id, Collection.MARKET_PURCHASES),
        GSI1.sort_key: keys.time_sk(str(purchase["createdAt"]), str(purchase["id"])),
        **purchase,
    }


def sale_item(seller_id: str, sale: Mapping[str, Any], workflow: Mapping[str, Any]) -> dict[str, Any]:
    """The stored item of a sale (``sale``: its JSON fields; ``workflow``: the engine's initial fields)."""
    pk, sk = sale_key(seller_id, str(sale["id"]))
    return {
        "PK": pk,
        "SK": sk,
        ENTITY: SALE_ENTITY,
        "tenantId": seller_id,
        GSI1.partition_key: keys.collection_pk(seller_id, Collection.MARKET_SALES),
        GSI1.sort_key: keys.time_sk(str(sale["createdAt"]), str(sale["id"])),
        **sale_status_keys(seller_id, str(workflow["status"]), str(sale["createdAt"]), str(sale["id"])),
        **sale,
        **workflow,
    }


def get_purchase(buyer_id: str, transaction_id: str) -> dict[str, Any] | None:
    """The buyer's half as stored, or None."""
    return Table().get(*purchase_key(buyer_id, transaction_id))


def get_sale(seller_id: str, transaction_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    """The seller's half as stored, or None."""
    return Table().get(*sale_key(seller_id, transaction_id), consistent=consistent)


def purchase_of(item: Mapping[str, Any]) -> MarketPurchase:
    """The buyer's half as the API shows it."""
    return MarketPurchase.model_validate({k: v for k, v in strip_storage(item).items() if k in _PURCHASE_FIELDS})


def sale_of(item: Mapping[str, Any]) -> MarketSale:
    """The seller's half as the API shows it."""
    return MarketSale.model_validate({k: v for k, v in strip_storage(item).items() if k in _SALE_FIELDS})


def list_purchases(buyer_id: str, limit: int, start_key: Mapping[str, str] | None) -> QueryPage[dict[str, Any]]:
    """One page of the buyer's purchases, newest first."""
    return Table().query_page(
        keys.collection_pk(buyer_id, Collection.MARKET_PURCHASES),
        index=GSI1,
        limit=limit,
        start_key=start_key,
        newest_first=True,
    )


def list_sales(
    seller_id: str, status: str | None, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[dict[str, Any]]:
    """One page of the seller's sales, newest first (of one status when given)."""
    if status is None:
        partition, index = keys.collection_pk(seller_id, Collection.MARKET_SALES), GSI1
    else:
        partition, index = keys.collection_pk(seller_id, Collection.MARKET_SALES, status), GSI2
    return Table().query_page(partition, index=index, limit=limit, start_key=start_key, newest_first=True)
