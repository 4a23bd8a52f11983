"""Catalog items: products (listed by name on three indexes), their code claims, categories and brands."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from boto3.dynamodb.conditions import Attr

from chalicelib.catalog.models import Brand, Category, Product
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Facet, Kind, UniqueField
from chalicelib.core.db.store import QueryPage, Table, WriteOp, counter_op, delete_op, put_op, update_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, GSI3, PARTITION_KEY, SORT_KEY, Index, strip_storage
from chalicelib.core.errors import AppError
from chalicelib.core.text import fold

__all__ = [
    "BRANDS",
    "CATEGORIES",
    "G",
    "Group",
    "Listing",
    "claim_code_op",
    "count_in_group_op",
    "delete_group_ops",
    "existing_service_ids",
    "find_code",
    "get_group",
    "get_product",
    "group_key",
    "list_groups",
    "list_products",
    "new_group_ops",
    "new_product_op",
    "product_key",
    "product_listing",
    "rename_group_ops",
    "update_group_op",
    "update_product_op",
]

PRODUCT_ENTITY = "Product"
CLAIM_ENTITY = "UniqueClaim"
_ACTIVE, _INACTIVE = "A", "I"


G = TypeVar("G", Category, Brand)


@dataclass(frozen=True)
class Group(Generic[G]):
    """How one kind of product grouping (category, brand) is stored, indexed and shown."""

    name: str
    kind: Kind
    collection: Collection
    entity: str
    facet: Facet
    name_field: UniqueField
    product_index: Index
    model: type[G]


CATEGORIES = Group(
    "category",
    Kind.CATEGORY,
    Collection.CATEGORIES,
    "Category",
    Facet.CATEGORY,
    UniqueField.CATEGORY_NAME,
    GSI2,
    Category,
)
BRANDS = Group("brand", Kind.BRAND, Collection.BRANDS, "Brand", Facet.BRAND, UniqueField.BRAND_NAME, GSI3, Brand)


@dataclass(frozen=True)
class Listing:
    """Where a product list is read: an index partition."""

    index: Index
    partition: str


def product_key(tenant_id: str, product_id: str) -> tuple[str, str]:
    """(PK, SK) of a product."""
    return keys.entity_pk(tenant_id, Kind.PRODUCT, product_id), keys.META_SK


def _code_claim_key(tenant_id: str, code: str) -> tuple[str, str]:
    return keys.unique_pk(tenant_id, UniqueField.PRODUCT_CODE, code), keys.UNIQUE_SK


def _name_sort(product: Product) -> str:
    return keys.name_sk(fold(product.name), product.id, _ACTIVE if product.active else _INACTIVE)


def _index_keys(product: Product) -> dict[str, str]:
    sort = _name_sort(product)
    found = {
        GSI1.partition_key: keys.collection_pk(product.tenant_id, Collection.PRODUCTS),
        GSI1.sort_key: sort,
    }
    for group, group_id in ((CATEGORIES, product.category_id), (BRANDS, product.brand_id)):
        if group_id is not None:
            index = group.product_index
            found[index.partition_key] = keys.facet_pk(product.tenant_id, Collection.PRODUCTS, group.facet, group_id)
            found[index.sort_key] = sort
    return found


def new_product_op(product: Product) -> WriteOp:
    """Create ``product`` (listed in the catalog, and in its category's and brand's lists)."""
    pk, sk = product_key(product.tenant_id, product.id)
    return put_op(
        {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: PRODUCT_ENTITY, **_index_keys(product), **product.model_dump()}
    )


def claim_code_op(product: Product) -> WriteOp:
    """Claim the product's code in the tenant; fails the transaction if another item has it."""
    pk, sk = _code_claim_key(product.tenant_id, product.code)
    return put_op({PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: CLAIM_ENTITY, "productId": product.id})


def update_product_op(before: Product, after: Product, changes: Mapping[str, Any]) -> WriteOp:
    """Write ``changes`` (stored names) to the version of ``before`` that was read, keeping every list right."""
    updates = {**changes, **_index_keys(after)}
    removed = [
        name
        for group, group_id in ((CATEGORIES, after.category_id), (BRANDS, after.brand_id))
        if group_id is None
        for name in (group.product_index.partition_key, group.product_index.sort_key)
    ]
    removed += [name for name, value in changes.items() if value is None]
    updates = {name: value for name, value in updates.items() if value is not None}
    return update_op(
        *product_key(before.tenant_id, before.id), updates, expected_version=before.version, remove=removed
    )


def get_product(tenant_id: str, product_id: str, *, consistent: bool = False) -> Product | None:
    """The product, or None."""
    item = Table().get(*product_key(tenant_id, product_id), consistent=consistent)
    return _product(item) if item else None


def find_code(tenant_id: str, code: str) -> str | None:
    """The id of the product with ``code``, or None."""
    item = Table().get(*_code_claim_key(tenant_id, code))
    return str(item["productId"]) if item else None


def product_listing(tenant_id: str, group: Group[Any] | None, group_id: str | None) -> Listing:
    """The index partition of the whole catalog, or of one category or brand."""
    if group is None or group_id is None:
        return Listing(GSI1, keys.collection_pk(tenant_id, Collection.PRODUCTS))
    return Listing(group.product_index, keys.facet_pk(tenant_id, Collection.PRODUCTS, group.facet, group_id))


def _position(item: Mapping[str, Any], index: Index) -> dict[str, str]:
    names = (PARTITION_KEY, SORT_KEY, index.partition_key, index.sort_key)
    return {name: str(item[name]) for name in names}


def list_products(
    listing: Listing,
    *,
    active: bool | None,
    name_prefix: str,
    limit: int,
    start_key: Mapping[str, str] | None,
) -> QueryPage[Product]:
    """One page of products, active ones first, each group by folded name, optionally by a name prefix.

    Without ``active`` the page may span both groups: it reads the active range, then the inactive one, so
    the list needs no filter. A cursor says which group it stopped in.
    """
    page = _product_items(listing, active=active, name_prefix=name_prefix, limit=limit, start_key=start_key)
    return page.map(_product)


def _product(item: Mapping[str, Any]) -> Product:
    return Product.model_validate(strip_storage(item))


def _product_items(
    listing: Listing, *, active: bool | None, name_prefix: str, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage:
    groups = [_ACTIVE] if active is True else [_INACTIVE] if active is False else [_ACTIVE, _INACTIVE]
    if start_key is not None:
        group, _, _ = keys.parse_name_sk(start_key[listing.index.sort_key])
        groups = groups[groups.index(group) :] if group in groups else groups
    items: list[dict[str, Any]] = []
    start = start_key
    for position, group in enumerate(groups):
        page = Table().query_page(
            listing.partition,
            index=listing.index,
            sort_prefix=keys.name_prefix(name_prefix, group),
            limit=limit - len(items),
            start_key=start,
        )
        items.extend(page.items)
        start = None
        if page.last_key is not None:
            return QueryPage(items, page.last_key)
        if len(items) >= limit:
            more_groups = position < len(groups) - 1
            return QueryPage(items, _position(items[-1], listing.index) if more_groups else None)
    return QueryPage(items, None)


def group_key(tenant_id: str, group: Group[Any], group_id: str) -> tuple[str, str]:
    """(PK, SK) of a category or brand."""
    return keys.entity_pk(tenant_id, group.kind, group_id), keys.META_SK


def _name_claim_key(tenant_id: str, group: Group[Any], name: str) -> tuple[str, str]:
    return keys.unique_pk(tenant_id, group.name_field, fold(name)), keys.UNIQUE_SK


def new_group_ops(group: Group[G], record: G, *, name_taken: AppError) -> list[WriteOp]:
    """Create a category or brand and claim its name (case and accents ignored); a taken name fails the
    transaction with ``name_taken``."""
    pk, sk = group_key(record.tenant_id, group, record.id)
    claim_pk, claim_sk = _name_claim_key(record.tenant_id, group, record.name)
    return [
        put_op(
            {
                PARTITION_KEY: pk,
                SORT_KEY: sk,
                ENTITY: group.entity,
                GSI1.partition_key: keys.collection_pk(record.tenant_id, group.collection),
                GSI1.sort_key: keys.name_sk(fold(record.name), record.id),
                **record.model_dump(),
            }
        ),
        put_op(
            {PARTITION_KEY: claim_pk, SORT_KEY: claim_sk, ENTITY: CLAIM_ENTITY, "groupId": record.id},
            conflict=name_taken,
        ),
    ]


def get_group(tenant_id: str, group: Group[G], group_id: str, *, consistent: bool = False) -> G | None:
    """The category or brand, or None."""
    item = Table().get(*group_key(tenant_id, group, group_id), consistent=consistent)
    return group.model.model_validate(strip_storage(item)) if item else None


def update_group_op(group: Group[G], before: G, changes: Mapping[str, Any]) -> WriteOp:
    """Write ``changes`` to the version of ``before`` that was read (its name-sorted position too)."""
    updates = {name: value for name, value in changes.items() if value is not None}
    removed = [name for name, value in changes.items() if value is None]
    if "name" in updates:
        updates[GSI1.sort_key] = keys.name_sk(fold(str(updates["name"])), before.id)
    return update_op(
        *group_key(before.tenant_id, group, before.id), updates, expected_version=before.version, remove=removed
    )


def rename_group_ops(group: Group[G], before: G, new_name: str, *, name_taken: AppError) -> list[WriteOp]:
    """Move the name claim from the old name to ``new_name`` (nothing when they fold alike); a taken name fails
    the transaction with ``name_taken``."""
    if fold(new_name) == fold(before.name):
        return []
    claim_pk, claim_sk = _name_claim_key(before.tenant_id, group, new_name)
    return [
        delete_op(*_name_claim_key(before.tenant_id, group, before.name)),
        put_op(
            {PARTITION_KEY: claim_pk, SORT_KEY: claim_sk, ENTITY: CLAIM_ENTITY, "groupId": before.id},
            conflict=name_taken,
        ),
    ]


def delete_group_ops(group: Group[G], record: G) -> list[WriteOp]:
    """Delete a category or brand and free its name, only if no product is filed under it and it is still the
    version read (else the transaction fails)."""
    empty = Attr("productCount").not_exists() | Attr("productCount").eq(0)
    return [
        delete_op(*group_key(record.tenant_id, group, record.id), condition=empty & Attr("version").eq(record.version)),
        delete_op(*_name_claim_key(record.tenant_id, group, record.name)),
    ]


def count_in_group_op(tenant_id: str, group: Group[Any], group_id: str, delta: int) -> WriteOp:
    """Count a product in (``+1``) or out of (``-1``) a category or brand; fails if the group does not exist."""
    greater_than = 0 if delta < 0 else None
    return counter_op(*group_key(tenant_id, group, group_id), "productCount", delta, greater_than=greater_than)


def list_groups(
    tenant_id: str, group: Group[G], name_prefix: str, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage[G]:
    """One page of categories or brands by folded name, optionally only names starting with ``name_prefix``."""
    return (
        Table()
        .query_page(
            keys.collection_pk(tenant_id, group.collection),
            index=GSI1,
            sort_prefix=keys.name_prefix(name_prefix) if name_prefix else None,
            limit=limit,
            start_key=start_key,
        )
        .map(lambda item: group.model.model_validate(strip_storage(item)))
    )


def existing_service_ids(tenant_id: str, product_ids: Iterable[str]) -> set[str]:
    """The ids among ``product_ids`` that name services (catalog items of kind service, active or not) of the
    tenant (one batch read)."""
    items = Table().batch_get(product_key(tenant_id, p) for p in product_ids)
    return {str(item["id"]) for item in items if item.get("kind") == "service"}
