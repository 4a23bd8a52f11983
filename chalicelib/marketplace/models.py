"""StockTech marketplace models: the operator's categories and brands, listings (what buyers see), the two halves
of a marketplace transaction (the buyer's purchase, the seller's sale) and the requests that make them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.money import Money, MoneyBelow
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import Clearable, PatchRequest
from chalicelib.core.references import CheckedInService, NotAReference
from chalicelib.core.text import fold

__all__ = [
    "CreateListingRequest",
    "CreateMarketGroupRequest",
    "Listing",
    "ListingSearchQuery",
    "MarketGroup",
    "MarketGroupKind",
    "MarketOrderRequest",
    "MarketPurchase",
    "MarketSale",
    "MarketSaleListQuery",
    "SellerListing",
    "UpdateListingRequest",
]

MarketGroupKind = Literal["category", "brand"]
PRICE_DIGITS = 9


def _named(name: str) -> str:
    if not any(ch.isalnum() for ch in fold(name)):
        raise ValueError("must contain a letter or a digit")
    return name


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), AfterValidator(_named)]
Price = Annotated[Money, MoneyBelow(PRICE_DIGITS)]
Quantity = Annotated[int, Field(ge=1, le=1_000_000, description="Units, at least 1")]

# Marketplace categories and brands are the platform operator's, global by design (not a tenant's data).
GLOBAL_CATEGORY = NotAReference("a marketplace category: global, managed by the platform operator (checked to exist)")
GLOBAL_BRAND = NotAReference("a marketplace brand: global, managed by the platform operator (checked to exist)")
# A listing is global by design: buyers of every tenant see it; the service checks it is published and not the
# buyer's own.
GLOBAL_LISTING = NotAReference("a marketplace listing: global by design (any tenant's published listing)")
SELLER_PRODUCT = CheckedInService("product", "the service loads the product of the caller's catalog (a 422 if not)")


class MarketGroup(ApiModel):
    """A marketplace category or brand (global, managed by the platform operator)."""

    id: str
    kind: MarketGroupKind
    name: str
    description: str | None = None
    icon: str | None = None
    active: bool = True
    created_at: str
    version: int = 1


class CreateMarketGroupRequest(ApiModel):
    """A new marketplace category or brand; its name is unique across the marketplace (case and accents ignored)."""

    name: Name
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    icon: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] | None = None


class CreateListingRequest(ApiModel):
    """Publish a product of the caller's catalog on the marketplace (one listing per product)."""

    product_id: Annotated[EntityId, SELLER_PRODUCT]
    price: Price = Field(description="Unit price for buyers, in the seller's currency, above 0")
    min_quantity: Quantity = 1
    visible: bool = True
    category_id: Annotated[EntityId | None, GLOBAL_CATEGORY] = None
    brand_id: Annotated[EntityId | None, GLOBAL_BRAND] = None


class UpdateListingRequest(PatchRequest):
    """Changes to a listing; ``version`` is the one the seller read; null clears the category or brand."""

    version: int = Field(ge=1)
    price: Price | None = None
    min_quantity: Quantity | None = None
    visible: bool | None = None
    category_id: Annotated[EntityId | None, Clearable(), GLOBAL_CATEGORY] = None
    brand_id: Annotated[EntityId | None, Clearable(), GLOBAL_BRAND] = None


class Listing(ApiModel):
    """A listing as every buyer sees it: the seller's name and the product's public fields only (no stock, cost,
    tax rate, internal category or customers)."""

    id: str
    seller_name: str
    code: str
    name: str
    description: str | None = None
    image_urls: list[str] = Field(default_factory=empty_list)
    specifications: dict[str, str] = Field(default_factory=dict)
    price: Money
    min_quantity: int
    category_id: str | None = None
    brand_id: str | None = None
    visible: bool
    created_at: str
    updated_at: str
    version: int = 1


class SellerListing(Listing):
    """A listing as its seller sees it: also which product of its catalog it publishes."""

    product_id: str


class ListingSearchQuery(PageParams):
    """Published listings by name; narrowed to one category or brand, to a name prefix, or an exact code."""

    category_id: EntityId | None = None
    brand_id: EntityId | None = None
    q: str | None = Field(default=None, min_length=1, max_length=120, description="Name prefix")
    code: str | None = Field(default=None, max_length=20, description="Exact product code, e.g. RP123456K")

    @field_validator("code")
    @classmethod
    def _upper(cls, code: str | None) -> str | None:
        return code.strip().upper() if code is not None else None


class MarketOrderRequest(ApiModel):
    """Buy ``quantity`` units of a listing (at least its minimum, at most the seller's stock)."""

    listing_id: Annotated[EntityId, GLOBAL_LISTING]
    quantity: Quantity
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None


class _Half(ApiModel):
    id: str = Field(description="The marketplace transaction's id (the same on both halves)")
    listing_id: str
    code: str
    name: str
    quantity: int
    unit_price: Money
    total: Money
    status: str
    note: str | None = None
    created_at: str
    updated_at: str


class MarketPurchase(_Half):
    """The buyer's half of a marketplace transaction: what was bought from whom, and a WhatsApp link to the
    seller (``waLink``: null when the seller has no WhatsApp number)."""

    seller_name: str
    wa_link: str | None = None


class MarketSale(_Half):
    """The seller's half: the sale order (stock reserved at the seller), run by the marketplace status flow."""

    product_id: str
    buyer_name: str
    workflow_version: int
    status_changed_at: str
    outcome: Literal["completed", "cancelled"] | None = None
    version: int = 1


class MarketSaleListQuery(PageParams):
    """The seller's marketplace sales, newest first; ``status`` narrows to one status."""

    status: str | None = Field(default=None, min_length=1, max_length=40)
