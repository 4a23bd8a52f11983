"""Catalog routes: products and services, categories, brands."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.catalog import service
from chalicelib.catalog.models import (
    Brand,
    Category,
    CreateGroupRequest,
    CreateProductRequest,
    GroupListQuery,
    Product,
    ProductListQuery,
    UpdateGroupRequest,
    UpdateProductRequest,
)
from chalicelib.core.pagination import Page

blueprint = protected_blueprint(__name__, tag="catalog")

READ, WRITE, CATALOG = Permission.CATALOG_READ, Permission.CATALOG_WRITE, Module.CATALOG


@blueprint.operation("/products", query=ProductListQuery, response=Page[Product], permission=READ, module=CATALOG)
def list_products(query: ProductListQuery, principal: Principal) -> Page[Product]:
    """List products and services

    Active items first, then by name (case and accents ignored). Filter by categoryId or brandId, by active,
    by a name prefix (q=caf finds Café), or look one up by its exact code.
    """
    return service.list_products(principal, query)


@blueprint.operation(
    "/products",
    "POST",
    body=CreateProductRequest,
    response=Product,
    status=201,
    permission=WRITE,
    module=CATALOG,
    problems=(409,),
    idempotent=True,
)
def create_product(body: CreateProductRequest, principal: Principal, idempotency_key: str | None) -> Product:
    """Create a product or service

    The code is generated (unique in the tenant). The price must be in the tenant's currency; a service needs
    durationMinutes. An active item counts against the plan's maxProducts (403 naming it when full).
    """
    return service.create_product(principal, body, idempotency_key)


@blueprint.operation("/products/{product_id}", response=Product, permission=READ, module=CATALOG, problems=(404,))
def get_product(product_id: str, principal: Principal) -> Product:
    """Get a product or service"""
    return service.get_product(principal, product_id)


@blueprint.operation(
    "/products/{product_id}",
    "PATCH",
    body=UpdateProductRequest,
    response=Product,
    permission=WRITE,
    module=CATALOG,
    problems=(404, 409),
)
def update_product(product_id: str, body: UpdateProductRequest, principal: Principal) -> Product:
    """Change a product or service

    Send the version you read. Kind and code never change; null clears description, categoryId or brandId.
    Reactivating takes a maxProducts slot again.
    """
    return service.update_product(principal, product_id, body)


@blueprint.operation(
    "/products/{product_id}", "DELETE", response=Product, permission=WRITE, module=CATALOG, problems=(404, 409)
)
def deactivate_product(product_id: str, principal: Principal) -> Product:
    """Deactivate a product or service

    Products are never erased (orders and stock history refer to them): this takes the item off sale, frees
    its maxProducts slot and keeps its code. PATCH active=true brings it back.
    """
    return service.deactivate_product(principal, product_id)


@blueprint.operation("/categories", query=GroupListQuery, response=Page[Category], permission=READ, module=CATALOG)
def list_categories(query: GroupListQuery, principal: Principal) -> Page[Category]:
    """List categories

    By name (case and accents ignored); q narrows to a name prefix.
    """
    return service.list_groups(principal, service.CATEGORIES, query)


@blueprint.operation(
    "/categories",
    "POST",
    body=CreateGroupRequest,
    response=Category,
    status=201,
    permission=WRITE,
    module=CATALOG,
    problems=(409,),
    idempotent=True,
)
def create_category(body: CreateGroupRequest, principal: Principal, idempotency_key: str | None) -> Category:
    """Create a category

    Its name is unique in the tenant, case and accents ignored (409 naming body.name).
    """
    return service.create_group(principal, service.CATEGORIES, body, idempotency_key)


@blueprint.operation("/categories/{category_id}", response=Category, permission=READ, module=CATALOG, problems=(404,))
def get_category(category_id: str, principal: Principal) -> Category:
    """Get a category"""
    return service.get_group(principal, service.CATEGORIES, category_id)


@blueprint.operation(
    "/categories/{category_id}",
    "PATCH",
    body=UpdateGroupRequest,
    response=Category,
    permission=WRITE,
    module=CATALOG,
    problems=(404, 409),
)
def update_category(category_id: str, body: UpdateGroupRequest, principal: Principal) -> Category:
    """Change a category

    Send the version you read.
    """
    return service.update_group(principal, service.CATEGORIES, category_id, body)


@blueprint.operation(
    "/categories/{category_id}", "DELETE", status=204, permission=WRITE, module=CATALOG, problems=(404, 409)
)
def delete_category(category_id: str, principal: Principal) -> None:
    """Delete a category

    Only when no product is filed under it (409 otherwise); the name becomes free again.
    """
    service.delete_group(principal, service.CATEGORIES, category_id)


@blueprint.operation("/brands", query=GroupListQuery, response=Page[Brand], permission=READ, module=CATALOG)
def list_brands(query: GroupListQuery, principal: Principal) -> Page[Brand]:
    """List brands

    By name (case and accents ignored); q narrows to a name prefix.
    """
    return service.list_groups(principal, service.BRANDS, query)


@blueprint.operation(
    "/brands",
    "POST",
    body=CreateGroupRequest,
    response=Brand,
    status=201,
    permission=WRITE,
    module=CATALOG,
    problems=(409,),
    idempotent=True,
)
def create_brand(body: CreateGroupRequest, principal: Principal, idempotency_key: str | None) -> Brand:
    """Create a brand

    Its name is unique in the tenant, case and accents ignored (409 naming body.name).
    """
    return service.create_group(principal, service.BRANDS, body, idempotency_key)


@blueprint.operation("/brands/{brand_id}", response=Brand, permission=READ, module=CATALOG, problems=(404,))
def get_brand(brand_id: str, principal: Principal) -> Brand:
    """Get a brand"""
    return service.get_group(principal, service.BRANDS, brand_id)


@blueprint.operation(
    "/brands/{brand_id}",
    "PATCH",
    body=UpdateGroupRequest,
    response=Brand,
    permission=WRITE,
    module=CATALOG,
    problems=(404, 409),
)
def update_brand(brand_id: str, body: UpdateGroupRequest, principal: Principal) -> Brand:
    """Change a brand

    Send the version you read.
    """
    return service.update_group(principal, service.BRANDS, brand_id, body)


@blueprint.operation("/brands/{brand_id}", "DELETE", status=204, permission=WRITE, module=CATALOG, problems=(404, 409))
def delete_brand(brand_id: str, principal: Principal) -> None:
    """Delete a brand

    Only when no product is of this brand (409 otherwise); the name becomes free again.
    """
    service.delete_group(principal, service.BRANDS, brand_id)
