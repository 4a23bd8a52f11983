"""Catalog models: products and services, categories and brands, and the requests that change them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema, field_validator

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.money import Money, MoneyBelow
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import Clearable, PatchRequest
from chalicelib.core.references import CheckedInService
from chalicelib.core.text import fold
from chalicelib.core.validation import HTTPS_URL_PATTERN

__all__ = [
    "Brand",
    "Category",
    "CreateGroupRequest",
    "CreateProductRequest",
    "Dimensions",
    "GroupListQuery",
    "Product",
    "ProductKind",
    "ProductListQuery",
    "UpdateGroupRequest",
    "UpdateProductRequest",
]

ProductKind = Literal["product", "service"]

MAX_IMAGES = 10
MAX_SPECIFICATIONS = 30
PRICE_DIGITS = 9  # a price is below 1 000 000 000
MAX_DURATION_MINUTES = 24 * 60


def _https(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or any(ch.isspace() for ch in url):
        raise ValueError("must be an https:// URL")
    return url


def _named(name: str) -> str:
    # Names are sorted and searched by their folded form, which must not be empty (it is part of a key).
    if not any(ch.isalnum() for ch in fold(name)):
        raise ValueError("must contain a letter or a digit")
    return name


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), AfterValidator(_named)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
ImageUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2048),
    AfterValidator(_https),
    WithJsonSchema({"type": "string", "maxLength": 2048, "pattern": HTTPS_URL_PATTERN}),
]
SpecName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
SpecValue = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
TaxRate = Annotated[
    Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4, description='Percent, 0-100 (e.g. "18.5")')
]
Duration = Annotated[int, Field(ge=1, le=MAX_DURATION_MINUTES, description="Minutes a service takes")]
Images = Annotated[list[ImageUrl], Field(max_length=MAX_IMAGES, description=f"https URLs, at most {MAX_IMAGES}")]
Specifications = Annotated[
    dict[SpecName, SpecValue],
    Field(max_length=MAX_SPECIFICATIONS, description=f"Name → value, at most {MAX_SPECIFICATIONS} entries"),
]


MAX_SIDE_CM = 300
MAX_WEIGHT_GRAMS = 1_000_000  # one tonne: beyond what any parcel carrier takes
WeightGrams = Annotated[
    int, Field(ge=1, le=MAX_WEIGHT_GRAMS, description="The packed product's weight in grams (shipping quotes)")
]


class Dimensions(ApiModel):
    """The packed product's box in whole centimetres (shipping quotes)."""

    length_cm: int = Field(ge=1, le=MAX_SIDE_CM)
    width_cm: int = Field(ge=1, le=MAX_SIDE_CM)
    height_cm: int = Field(ge=1, le=MAX_SIDE_CM)


Price = Annotated[Money, MoneyBelow(PRICE_DIGITS)]
# A product's category and brand: its transaction counts it there only while the group exists (a 422 naming the
# field otherwise), which a check beforehand could not promise against a concurrent delete.
IN_CATEGORY = CheckedInService(
    "category", "the product's write counts it in the category, on the condition that it exists"
)
IN_BRAND = CheckedInService("brand", "the product's write counts it in the brand, on the condition that it exists")


class Product(ApiModel):
    """A product (has stock) or a service (has a duration) of the tenant's catalog, as stored and shown."""

    id: str
    tenant_id: str
    kind: ProductKind
    code: str = Field(description="Unique in the tenant, e.g. RP123456K (see catalog codes)")
    name: str
    description: str | None = None
    price: Money
    tax_rate: Decimal
    duration_minutes: int | None = None
    category_id: str | None = None
    brand_id: str | None = None
    image_urls: list[str] = Field(default_factory=empty_list)
    specifications: dict[str, str] = Field(default_factory=dict)
    weight_grams: int | None = None
    dimensions: Dimensions | None = None
    active: bool
    created_at: str
    updated_at: str
    version: int = 1


class CreateProductRequest(ApiModel):
    """A new product or service. Its code is generated; its price must be in the tenant's currency."""

    kind: ProductKind
    name: Name
    description: Description | None = None
    price: Price
    tax_rate: TaxRate = Decimal(0)
    duration_minutes: Duration | None = None
    category_id: Annotated[EntityId | None, IN_CATEGORY] = None
    brand_id: Annotated[EntityId | None, IN_BRAND] = None
    image_urls: Images = Field(default_factory=empty_list)
    specifications: Specifications = Field(default_factory=dict)
    weight_grams: WeightGrams | None = None
    dimensions: Dimensions | None = None
    active: bool = True


class UpdateProductRequest(PatchRequest):
    """Changes to a product; ``version`` is the one the client read. Kind and code never change; send null to
    clear the description, category or brand (or a product's duration)."""

    version: int = Field(ge=1)
    name: Name | None = None
    description: Annotated[Description | None, Clearable()] = None
    price: Price | None = None
    tax_rate: TaxRate | None = None
    duration_minutes: Annotated[Duration | None, Clearable()] = None
    category_id: Annotated[EntityId | None, Clearable(), IN_CATEGORY] = None
    brand_id: Annotated[EntityId | None, Clearable(), IN_BRAND] = None
    image_urls: Images | None = None
    specifications: Specifications | None = None
    weight_grams: Annotated[WeightGrams | None, Clearable()] = None
    dimensions: Annotated[Dimensions | None, Clearable()] = None
    active: bool | None = None


class ProductListQuery(PageParams):
    """Filters of the catalog: one of category or brand, active or not, a name prefix, or an exact code.

    Items come active first, then by name (case and accents ignored).
    """

    category_id: EntityId | None = None
    brand_id: EntityId | None = None
    active: bool | None = None
    q: str | None = Field(default=None, min_length=1, max_length=120, description="Name prefix, e.g. caf → Café")
    code: str | None = Field(default=None, max_length=20, description="Exact code (a scanned label)")

    @field_validator("code")
    @classmethod
    def _upper(cls, code: str | None) -> str | None:
        return code.strip().upper() if code is not None else None


class Category(ApiModel):
    """A category of the catalog; ``productCount`` counts the items filed under it (active or not)."""

    id: str
    tenant_id: str
    name: str
    description: str | None = None
    product_count: int = 0
    created_at: str
    updated_at: str
    version: int = 1


class Brand(ApiModel):
    """A brand of the catalog; ``productCount`` counts the items of the brand (active or not)."""

    id: str
    tenant_id: str
    name: str
    description: str | None = None
    product_count: int = 0
    created_at: str
    updated_at: str
    version: int = 1


class CreateGroupRequest(ApiModel):
    """A new category or brand; its name is unique in the tenant (case and accents ignored)."""

    name: Name
    description: Description | None = None


class UpdateGroupRequest(PatchRequest):
    """Changes to a category or brand; ``version`` is the one the client read; null clears the description."""

    version: int = Field(ge=1)
    name: Name | None = None
    description: Annotated[Description | None, Clearable()] = None


class GroupListQuery(PageParams):
    """Categories or brands, by name; ``q`` narrows to a name prefix."""

    q: str | None = Field(default=None, min_length=1, max_length=120, description="Name prefix")
