"""Catalog use cases: products and services (codes, plan limit, lists and search), categories and brands.

One responsibility: the catalog's use cases. Products and their groupings (categories, brands) share the code and
name rules and the plan limits, so they stay together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog import store
from chalicelib.catalog.codes import is_valid_code, new_code
from chalicelib.catalog.models import (
    CreateGroupRequest,
    CreateProductRequest,
    GroupListQuery,
    Product,
    ProductListQuery,
    UpdateGroupRequest,
    UpdateProductRequest,
)
from chalicelib.catalog.store import BRANDS, CATEGORIES, G, Group
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, VersionConflict, WriteOp
from chalicelib.core.errors import Conflict, FieldError, InvalidInput, NotFound, invalid_field
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.core.pagination import Page, decode_cursor, encode_cursor
from chalicelib.core.patch import merge_patch
from chalicelib.core.references import register_reference
from chalicelib.core.text import fold
from chalicelib.inventory import service as inventory
from chalicelib.tenants import service as tenants
from chalicelib.tenants.service import load_tenant

__all__ = [
    "BRANDS",
    "CATEGORIES",
    "create_group",
    "create_product",
    "deactivate_product",
    "delete_group",
    "existing_services",
    "find_by_code",
    "find_product",
    "get_group",
    "get_product",
    "list_groups",
    "list_products",
    "load_product",
    "load_products",
    "update_group",
    "update_product",
]

# A code collides with an existing one about once in (10^6 / items of that kind) draws; five draws in a row
# colliding would mean the tenant's code space is nearly full, far beyond every plan's maxProducts.
_CODE_ATTEMPTS = 5


def _check_price(price: Money | None, currency: str) -> None:
    if price is not None and price.currency != currency:
        raise invalid_field("body.price.currency", f"must be the tenant's currency, {currency}", "currency-mismatch")


def _check_duration(kind: str, duration: int | None, *, sent: bool) -> None:
    if kind == "service" and duration is None:
        raise invalid_field("body.durationMinutes", "required for a service")
    if kind == "product" and sent and duration is not None:
        raise invalid_field("body.durationMinutes", "only a service has a duration")


class _CodeTaken(Conflict):
    """Raised when a drawn product code is already another item's: the create draws again."""


def _unknown_group(meaning: str, field: str) -> InvalidInput:
    return invalid_field(field, f"no such {meaning}", "unknown-reference")


def _group_counts(tenant_id: str, before: Product | None, after: Product) -> list[WriteOp]:
    ops = []
    for group, meaning, field, old, new in (
        (CATEGORIES, "category", "body.categoryId", before.category_id if before else None, after.category_id),
        (BRANDS, "brand", "body.brandId", before.brand_id if before else None, after.brand_id),
    ):
        if old == new:
            continue
        if old is not None:
            ops.append(store.count_in_group_op(tenant_id, group, old, -1))
        if new is not None:
            ops.append(store.count_in_group_op(tenant_id, group, new, +1).on_conflict(_unknown_group(meaning, field)))
    return ops


def find_product(tenant_id: str, product_id: str) -> Product | None:
    """The product or service ``product_id`` of the tenant (active or not), or None."""
    return store.get_product(tenant_id, product_id)


def find_by_code(tenant_id: str, code: str) -> Product | None:
    """The product or service whose code is ``code`` (case-insensitive; a delivery platform's external code), or
    None (no such product, or not a code at all)."""
    code = code.strip().upper()
    if not is_valid_code(code):
        return None
    product_id = store.find_code(tenant_id, code)
    return store.get_product(tenant_id, product_id) if product_id else None


def existing_services(tenant_id: str, product_ids: Sequence[str]) -> set[str]:
    """The ids among ``product_ids`` that name services of the catalog, active or not (``Ref("service")`` of
    request bodies; booking one also needs it active, which the booking checks)."""
    return store.existing_service_ids(tenant_id, product_ids)


register_reference("service", existing_services)


def load_product(tenant_id: str, product_id: str) -> Product:
    """The product or service ``product_id`` of the tenant; ``NotFound`` if there is none."""
    product = store.get_product(tenant_id, product_id)
    if product is None:
        raise NotFound(detail=f"no product {product_id}")
    return product


def load_products(tenant_id: str, product_ids: Sequence[str], *, field: str = "body.items") -> list[Product]:
    """The active products or services of an order's lines, in line order (for price snapshots, durations).

    Raises ``InvalidInput`` naming ``<field>[i].productId`` for a line whose product does not exist or is
    inactive. Reads each distinct product once.
    """
    found: dict[str, Product | None] = {}
    result = []
    for i, product_id in enumerate(product_ids):
        if product_id not in found:
            found[product_id] = store.get_product(tenant_id, product_id)
        product = found[product_id]
        if product is None or not product.active:
            reason = "no such product" if product is None else "this product is not active"
            raise invalid_field(f"{field}[{i}].productId", reason, "unknown-product" if product is None else "inactive")
        result.append(product)
    return result


def get_product(principal: Principal, product_id: str) -> Product:
    """One product or service of the catalog."""
    require(principal, Permission.CATALOG_READ)
    return load_product(principal.tenant_id, product_id)


def _matches(product: Product, query: ProductListQuery) -> bool:
    return (
        (query.category_id is None or product.category_id == query.category_id)
        and (query.brand_id is None or product.brand_id == query.brand_id)
        and (query.active is None or product.active == query.active)
        and (query.q is None or fold(product.name).startswith(fold(query.q)))
    )


def _by_code(principal: Principal, query: ProductListQuery, code: str) -> Page[Product]:
    if not is_valid_code(code):
        raise invalid_field("query.code", "not a valid code (its check letter does not match)", "invalid-code")
    product_id = store.find_code(principal.tenant_id, code)
    product = store.get_product(principal.tenant_id, product_id) if product_id else None
    return Page[Product](items=[product] if product is not None and _matches(product, query) else [])


def list_products(principal: Principal, query: ProductListQuery) -> Page[Product]:
    """One page of the catalog, active items first, then by name; by category or brand, active, name prefix."""
    require(principal, Permission.CATALOG_READ)
    if query.category_id is not None and query.brand_id is not None:
        raise invalid_field("query.brandId", "filter by categoryId or by brandId, not both")
    if query.code is not None:
        return _by_code(principal, query, query.code)
    prefix = fold(query.q) if query.q is not None else ""
    if query.q is not None and not prefix:
        raise invalid_field("query.q", "must contain a letter or a digit")
    if query.category_id is not None:
        listing, facet = store.product_listing(principal.tenant_id, CATEGORIES, query.category_id), "category"
    elif query.brand_id is not None:
        listing, facet = store.product_listing(principal.tenant_id, BRANDS, query.brand_id), "brand"
    else:
        listing, facet = store.product_listing(principal.tenant_id, None, None), "all"
    scope = f"products:{facet}:{query.category_id or query.brand_id or ''}:{query.active}:{prefix}"
    tenant = principal.tenant_id
    start = decode_cursor(query.cursor, tenant_id=tenant, scope=scope) if query.cursor else None
    page = store.list_products(listing, active=query.active, name_prefix=prefix, limit=query.limit, start_key=start)
    return Page[Product](
        items=page.items,
        next_cursor=encode_cursor(page.last_key, tenant_id=tenant, scope=scope) if page.last_key else None,
    )


def create_product(principal: Principal, body: CreateProductRequest, idempotency_key: str | None) -> Product:
    """Add a product or service with a generated code; an active one counts against the plan's maxProducts."""
    require(principal, Permission.CATALOG_WRITE)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "products.create",
        body,
        Product,
        lambda seal: _create_product(principal, body, seal),
    )


def _create_product(principal: Principal, body: CreateProductRequest, seal: idempotency.Seal) -> Product:
    tenant_id = principal.tenant_id
    tenant = load_tenant(tenant_id)
    _check_price(body.price, tenant.currency)
    _check_duration(body.kind, body.duration_minutes, sent="duration_minutes" in body.model_fields_set)
    now = clock.now_iso()
    product_id = new_id()
    for _ in range(_CODE_ATTEMPTS):
        product = Product.model_validate(
            {
                **body.model_dump(by_alias=False),
                "id": product_id,
                "tenant_id": tenant_id,
                "code": new_code(tenant.name, body.kind),
                "created_at": now,
                "updated_at": now,
            }
        )
        ops: list[WriteOp] = []
        if product.active:
            ops.append(tenants.take_product_op(tenant))
        ops += [
            store.new_product_op(product),
            *_group_counts(tenant_id, None, product),
            store.claim_code_op(product).on_conflict(_CodeTaken()),
        ]
        if product.kind == "product":
            ops.append(inventory.new_stock_op(product))
        ops += [
            audit_op(principal, "product.created", Kind.PRODUCT, product.id, after=product.model_dump()),
            event_put_op(
                new_event(
                    "product.created",
                    tenant_id,
                    {"code": product.code, "kind": product.kind, "name": product.name, "active": product.active},
                    subject=product.id,
                )
            ),
            *seal(product),
        ]
        try:
            Table().transact(ops)
        except _CodeTaken:
            continue  # drawn code already taken: draw another
        return product
    raise Conflict(detail="could not allocate a unique product code; retry")


def _load_for_change(principal: Principal, product_id: str, version: int | None) -> Product:
    before = store.get_product(principal.tenant_id, product_id, consistent=True)
    if before is None:
        raise NotFound(detail=f"no product {product_id}")
    if version is not None and before.version != version:
        raise VersionConflict(detail=f"the product is at version {before.version}; reload and retry")
    return before


def _apply(
    principal: Principal, before: Product, changes: dict[str, Any], action: str, event_data: dict[str, Any]
) -> Product:
    tenant_id = principal.tenant_id
    now = clock.now_iso()
    changes = {**changes, "updatedAt": now}
    after = merge_patch(before, changes, version=before.version + 1)
    changed = VersionConflict(detail="the product changed since you read it; reload and retry")
    # The plan limit first: when it fails with another write, it is what the caller needs to hear.
    ops: list[WriteOp] = []
    if before.active and not after.active:
        ops.append(tenants.release_product_op(tenant_id))
    elif after.active and not before.active:
        ops.append(tenants.take_product_op(load_tenant(tenant_id)))
    ops += [
        store.update_product_op(before, after, changes).on_conflict(changed),
        *_group_counts(tenant_id, before, after),
    ]
    if after.kind == "product" and (after.name != before.name or after.active != before.active):
        ops.append(inventory.sync_stock_op(after))
    ops += [
        audit_op(principal, action, Kind.PRODUCT, after.id, before=before.model_dump(), after=after.model_dump()),
        event_put_op(new_event(action, tenant_id, event_data, subject=after.id)),
    ]
    Table().transact(ops)
    return after


def update_product(principal: Principal, product_id: str, body: UpdateProductRequest) -> Product:
    """Change a product or service (optimistic locking on ``version``); kind and code never change."""
    require(principal, Permission.CATALOG_WRITE)
    before = _load_for_change(principal, product_id, body.version)
    if body.price is not None:
        _check_price(body.price, load_tenant(principal.tenant_id).currency)
    sent = body.model_fields_set
    if "duration_minutes" in sent:
        _check_duration(before.kind, body.duration_minutes, sent=True)
    changes = body.changes()
    return _apply(principal, before, changes, "product.updated", {"changed": sorted(changes)})


def deactivate_product(principal: Principal, product_id: str) -> Product:
    """Deactivate a product or service: it leaves sale, frees a maxProducts slot, keeps its code and history."""
    require(principal, Permission.CATALOG_WRITE)
    before = _load_for_change(principal, product_id, None)
    if not before.active:
        return before
    return _apply(principal, before, {"active": False}, "product.deactivated", {"code": before.code})


def _load_group(principal: Principal, group: Group[G], group_id: str, *, consistent: bool = False) -> G:
    record = store.get_group(principal.tenant_id, group, group_id, consistent=consistent)
    if record is None:
        raise NotFound(detail=f"no {group.name} {group_id}")
    return record


def _name_taken(group: Group[Any]) -> Conflict:
    return Conflict(
        detail=f"a {group.name} with this name already exists",
        errors=(FieldError("body.name", "already used (case and accents are ignored)", "taken"),),
    )


def _in_use(group: Group[Any], count: int) -> Conflict:
    return Conflict(
        detail=f"{count} product(s) are filed under this {group.name}; move or clear them first", code="in-use"
    )


def list_groups(principal: Principal, group: Group[G], query: GroupListQuery) -> Page[G]:
    """One page of categories or brands by name (case and accents ignored), optionally by a name prefix."""
    require(principal, Permission.CATALOG_READ)
    prefix = fold(query.q) if query.q is not None else ""
    if query.q is not None and not prefix:
        raise invalid_field("query.q", "must contain a letter or a digit")
    scope = f"{group.name}:{prefix}"
    tenant = principal.tenant_id
    start = decode_cursor(query.cursor, tenant_id=tenant, scope=scope) if query.cursor else None
    page = store.list_groups(tenant, group, prefix, query.limit, start)
    return Page(
        items=page.items,
        next_cursor=encode_cursor(page.last_key, tenant_id=tenant, scope=scope) if page.last_key else None,
    )


def get_group(principal: Principal, group: Group[G], group_id: str) -> G:
    """One category or brand."""
    require(principal, Permission.CATALOG_READ)
    return _load_group(principal, group, group_id)


def create_group(principal: Principal, group: Group[G], body: CreateGroupRequest, idempotency_key: str | None) -> G:
    """Add a category or brand; its name is unique in the tenant (case and accents ignored)."""
    require(principal, Permission.CATALOG_WRITE)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        f"{group.name}.create",
        body,
        group.model,
        lambda seal: _create_group(principal, group, body, seal),
    )


def _create_group(principal: Principal, group: Group[G], body: CreateGroupRequest, seal: idempotency.Seal) -> G:
    now = clock.now_iso()
    record: G = group.model.model_validate(
        {
            **body.model_dump(by_alias=False),
            "id": new_id(),
            "tenant_id": principal.tenant_id,
            "created_at": now,
            "updated_at": now,
        }
    )
    action = f"{group.name}.created"
    Table().transact(
        [
            *store.new_group_ops(group, record, name_taken=_name_taken(group)),
            audit_op(principal, action, group.kind, record.id, after=record.model_dump()),
            event_put_op(new_event(action, principal.tenant_id, {"name": record.name}, subject=record.id)),
            *seal(record),
        ]
    )
    return record


def update_group(principal: Principal, group: Group[G], group_id: str, body: UpdateGroupRequest) -> G:
    """Rename or describe a category or brand (optimistic locking on ``version``)."""
    require(principal, Permission.CATALOG_WRITE)
    before: G = _load_group(principal, group, group_id, consistent=True)
    if before.version != body.version:
        raise VersionConflict(detail=f"the {group.name} is at version {before.version}; reload and retry")
    changes = {**body.changes(), "updatedAt": clock.now_iso()}
    after: G = merge_patch(before, changes, version=before.version + 1)
    action = f"{group.name}.updated"
    changed = VersionConflict(detail=f"the {group.name} changed since you read it; reload and retry")
    ops = [
        store.update_group_op(group, before, changes).on_conflict(changed),
        *store.rename_group_ops(group, before, after.name, name_taken=_name_taken(group)),
        audit_op(principal, action, group.kind, group_id, before=before.model_dump(), after=after.model_dump()),
        event_put_op(new_event(action, principal.tenant_id, {"changed": sorted(changes)}, subject=group_id)),
    ]
    Table().transact(ops)
    return after


def delete_group(principal: Principal, group: Group[G], group_id: str) -> None:
    """Delete a category or brand that no product is filed under (else 409): it is gone, its name free again."""
    require(principal, Permission.CATALOG_WRITE)
    record: G = _load_group(principal, group, group_id, consistent=True)
    if record.product_count:
        raise _in_use(group, record.product_count)
    action = f"{group.name}.deleted"
    try:
        Table().transact(
            [
                *store.delete_group_ops(group, record),
                audit_op(principal, action, group.kind, group_id, before=record.model_dump()),
                event_put_op(new_event(action, principal.tenant_id, {"name": record.name}, subject=group_id)),
            ]
        )
    except TransactionConflict as exc:
        current = store.get_group(principal.tenant_id, group, group_id, consistent=True)
        if current is not None and current.product_count:
            raise _in_use(group, current.product_count) from exc
        raise Conflict(detail=f"the {group.name} changed while it was being deleted; retry") from exc
