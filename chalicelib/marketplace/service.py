"""StockTech marketplace use cases: the operator's categories and brands, sellers' listings, buyers' search, and
marketplace orders (one transaction across the buyer's and the seller's tenants).

Global by design: listings, their index and the marketplace categories and brands live under ``MARKET#`` keys,
outside every tenant (buyers of any tenant with the module browse them). A listing shows the seller's name and the
product's public fields; never its stock, tax rate, internal category, customers or orders. Those keys are read and
written inside ``unscoped()``, here and only here.

The cross-tenant write: ``place_order`` is the one place where a request of one tenant (the buyer) writes into
another (the seller). Its explicit checks: the listing exists and is visible, it is not the buyer's own, the
quantity is at least the listing's minimum, the seller's product is still active, and the seller's stock holds it
(a conditional reservation in the same transaction: two buyers of the last units → one wins, the other gets a 422
naming ``body.quantity``). It writes, in one transaction, the seller's sale (the workflow entity, with its stock
reserved), the buyer's purchase, an audit entry and an event in each tenant, and a notification to each tenant's
admins; then starts the sale's status flow (``marketplace_transaction``: PENDING → CONFIRMED → COMPLETED, or
CANCELLED). Each side reads only its own half (its own tenant's keys): a buyer never sees the seller's sale item,
stock, customers or costs; a seller never sees the buyer's purchase. The seller moves the sale along its flow; each
transition mirrors the status onto the buyer's purchase (a keyed update of that one item, in the transition's
transaction), releases the reservation when it is cancelled and consumes it when it completes. A buyer may cancel
its purchase while it is PENDING.

One responsibility: the marketplace's use cases, all under one rule about what crosses tenants (the global index
read by everyone, the order's one cross-tenant write, each side's own half).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from boto3.dynamodb.conditions import Attr

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog import service as catalog
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import AlreadyExists, Table, VersionConflict, WriteOp, put_op, set_op, unscoped
from chalicelib.core.errors import Conflict, FieldError, InvalidInput, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.formatting import money_value
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.core.patch import merge_patch
from chalicelib.core.text import fold
from chalicelib.inventory import service as inventory
from chalicelib.marketplace import store
from chalicelib.marketplace.models import (
    CreateListingRequest,
    CreateMarketGroupRequest,
    Listing,
    ListingSearchQuery,
    MarketGroup,
    MarketGroupKind,
    MarketOrderRequest,
    MarketPurchase,
    MarketSale,
    MarketSaleListQuery,
    SellerListing,
    UpdateListingRequest,
)
from chalicelib.notifications.outbox import request_message_ops
from chalicelib.tenants.models import TenantRecord
from chalicelib.tenants.service import load_tenant
from chalicelib.workflows import engine
from chalicelib.workflows.engine import EntitySpec, TransitionContext, TransitionEffects
from chalicelib.workflows.models import EntityType, HistoryEntry
from chalicelib.workflows.service import system_actor

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
]

ENTITY_TYPE = EntityType.MARKETPLACE_TRANSACTION
_BUYER = "buyerTenantId"
_SELLER = "sellerTenantId"


def _invalid(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(detail=f"{field}: {message}", errors=(FieldError(field, message, code),))


# --- the status flow of a sale (the seller's half) ---------------------------------------------------------------


def _line(item: Mapping[str, Any]) -> list[inventory.Line]:
    return [(str(item["productId"]), int(item["quantity"]))]


def _on_transition(ctx: TransitionContext) -> TransitionEffects:
    """A sale's status change: its by-status entry, its stock (released when cancelled, consumed when completed),
    the buyer's purchase following its status, and a message to the buyer's admins."""
    item = ctx.entity
    seller, buyer, sale_id = ctx.tenant_id, str(item[_BUYER]), ctx.entity_id
    target = ctx.definition.status(ctx.to_status)
    changes: dict[str, Any] = {
        **store.sale_status_keys(seller, ctx.to_status, str(item["createdAt"]), sale_id),
        "updatedAt": ctx.at,
    }
    ops: list[WriteOp] = []
    reference = f"marketplace:{sale_id}"
    if target.terminal and target.outcome == "cancelled":
        ops += inventory.release_ops(seller, _line(item), ctx.actor.user_id, reference, field="body")
    elif target.terminal and target.outcome == "completed":
        ops += inventory.consume_ops(seller, _line(item), ctx.actor.user_id, reference, field="body")
    if target.terminal and target.outcome:
        changes["outcome"] = target.outcome
    # The cross-tenant write of a transition: the buyer's half follows (that one item, by its key).
    purchase_pk, purchase_sk = store.purchase_key(buyer, sale_id)
    ops.append(set_op(purchase_pk, purchase_sk, {"status": ctx.to_status, "updatedAt": ctx.at}))
    buyer_tenant = load_tenant(buyer)
    ops += request_message_ops(
        buyer,
        "email",
        "role:ADMIN",
        "marketplace.purchase_status",
        buyer_tenant.locale,
        {"code": item["code"], "productName": item["name"], "quantity": item["quantity"], "status": ctx.to_status},
    )
    return TransitionEffects(changes=changes, ops=ops)


WORKFLOW = EntitySpec(ENTITY_TYPE, Kind.MARKETPLACE_TRANSACTION, _on_transition)


# --- categories and brands (platform operator) -----------------------------------------------------------------


def create_group(principal: Principal, kind: MarketGroupKind, body: CreateMarketGroupRequest) -> MarketGroup:
    """A new marketplace category or brand (platform operator); its name is unique across the marketplace."""
    require(principal, Permission.PLATFORM_MARKETPLACE)
    group = MarketGroup(
        id=new_id(), kind=kind, name=body.name, description=body.description, icon=body.icon, created_at=clock.now_iso()
    )
    taken = Conflict(
        detail=f"a marketplace {kind} named {body.name!r} exists",
        errors=(FieldError("body.name", "already taken", "duplicate"),),
    )
    with unscoped():  # the marketplace's categories and brands are global, the platform operator's
        Table().transact(
            [
                store.group_claim_op(kind, body.name, group.id).on_conflict(taken),
                *store.group_ops(group),
                # Audited in the operator's own (platform) partition, as the operator's other actions.
                audit_op(
                    principal,
                    f"marketplace.{kind}_created",
                    Kind.CATEGORY if kind == "category" else Kind.BRAND,
                    group.id,
                    after=group.model_dump(exclude_none=True),
                ),
            ]
        )
    return group


def find_group(kind: MarketGroupKind, name: str) -> MarketGroup | None:
    """The marketplace category or brand called ``name`` (case and accents ignored), or None."""
    with unscoped():
        return store.group_named(kind, name)


def list_groups(principal: Principal, kind: MarketGroupKind, params: PageParams) -> Page[MarketGroup]:
    """The marketplace's categories or brands, by name (every tenant with the module)."""
    require(principal, Permission.MARKETPLACE_READ)
    with unscoped():  # global index
        return paginate(
            Page[MarketGroup],
            params,
            tenant_id=principal.tenant_id,
            scope=f"market-groups:{kind}",
            fetch=lambda start: store.list_groups(kind, params.limit, start),
            convert=lambda group: group,
        )


def _check_group(kind: MarketGroupKind, group_id: str | None, field: str) -> None:
    if group_id is not None and not store.groups_exist(kind, group_id):
        raise _invalid(field, f"no marketplace {kind} with that id", f"unknown-{kind}")


# --- listings ----------------------------------------------------------------------------------------------------


def _check_price(price: Money, currency: str, field: str = "body.price") -> None:
    if price.currency != currency:
        raise _invalid(f"{field}.currency", f"must be the seller's currency, {currency}", "currency")
    if price.amount <= 0:
        raise _invalid(f"{field}.amount", "must be above 0", "not-positive")


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
        raise _invalid("body.productId", "no such product in your catalog", "unknown-product")
    if product.kind != "product":
        raise _invalid("body.productId", "a service has no stock to sell on the marketplace", "not-a-product")
    if not product.active:
        raise _invalid("body.productId", "this product is not active", "inactive")
    _check_price(body.price, tenant.currency)
    at = clock.now_iso()
    listing_id = new_id()
    item: dict[str, Any] = {
        "id": listing_id,
        _SELLER: tenant.id,
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
        _check_group("category", body.category_id, "body.categoryId")
        _check_group("brand", body.brand_id, "body.brandId")
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
    if item is None or item[_SELLER] != principal.tenant_id:
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
        _check_group("category", changes.get("categoryId"), "body.categoryId")
        _check_group("brand", changes.get("brandId"), "body.brandId")
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
    """A published listing (any seller's: the marketplace is global), or one of the caller's own, hidden or not."""
    require(principal, Permission.MARKETPLACE_READ)
    with unscoped():
        item = store.get_listing(listing_id)
    if item is None or not (item.get("visible") or item[_SELLER] == principal.tenant_id):
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
        raise _invalid("query.brandId", "filter by category or by brand, not both")
    if query.code is not None:
        if query.category_id or query.brand_id or query.q:
            raise _invalid("query.code", "a code search takes no other filter")
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


# --- orders: the cross-tenant write ----------------------------------------------------------------------------


def wa_link(seller: TenantRecord, text: str) -> str | None:
    """The WhatsApp deep link to the seller's number with ``text`` ready to send (None without a number)."""
    if not seller.whatsapp_number:
        return None
    digits = "".join(ch for ch in seller.whatsapp_number if ch.isdigit())
    return f"https://wa.me/{digits}?text={quote(text)}"


def place_order(principal: Principal, body: MarketOrderRequest, idempotency_key: str | None) -> MarketPurchase:
    """Buy from a listing: the buyer's purchase and the seller's sale (stock reserved) in one transaction."""
    require(principal, Permission.MARKETPLACE_WRITE)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "marketplace-orders",
        body,
        MarketPurchase,
        lambda seal: _place_order(principal, body, seal),
    )


def _place_order(principal: Principal, body: MarketOrderRequest, seal: idempotency.Seal) -> MarketPurchase:
    buyer_id = principal.tenant_id
    with unscoped():  # the one cross-tenant path: every read and write below is checked explicitly
        listing = store.get_listing(body.listing_id, consistent=True)
        if listing is None or not listing.get("visible"):
            raise _invalid("body.listingId", "no published listing with that id", "unknown-listing")
        seller_id = str(listing[_SELLER])
        if seller_id == buyer_id:
            raise _invalid("body.listingId", "this is your own listing", "own-listing")
        if body.quantity < int(listing["minQuantity"]):
            raise _invalid("body.quantity", f"the listing's minimum is {listing['minQuantity']}", "below-minimum")
        product = catalog.find_product(seller_id, str(listing["productId"]))
        if product is None or not product.active:
            raise _invalid("body.listingId", "the seller no longer sells this product", "unavailable")
        seller, buyer = load_tenant(seller_id), load_tenant(buyer_id)
        price = Money.model_validate(listing["price"])
        total = price * body.quantity
        transaction_id = new_id()
        text = f"Olá! Pedido {transaction_id} no marketplace: {body.quantity} x {listing['name']} ({listing['code']})"
        link = wa_link(seller, text)
        workflow = engine.initial_fields(seller_id, ENTITY_TYPE)
        at = clock.now_iso()
        common: dict[str, Any] = {
            "id": transaction_id,
            "listingId": body.listing_id,
            "code": listing["code"],
            "name": listing["name"],
            "quantity": body.quantity,
            "unitPrice": price.model_dump(),
            "total": total.model_dump(),
            "note": body.note,
            "createdAt": at,
            "updatedAt": at,
        }
        common = {k: v for k, v in common.items() if v is not None}
        purchase_fields = {
            **common,
            "status": workflow[engine.STATUS],
            "sellerName": seller.name,
            _SELLER: seller_id,
            **({"waLink": link} if link else {}),
        }
        sale_fields = {
            **common,
            "productId": listing["productId"],
            "buyerName": buyer.name,
            _BUYER: buyer_id,
            "version": 1,
        }
        purchase = store.purchase_of(store.purchase_item(buyer_id, purchase_fields))
        variables = {
            "code": listing["code"],
            "productName": listing["name"],
            "quantity": body.quantity,
            "total": money_value(total),  # in each recipient's locale
        }
        order_data = {"listingId": body.listing_id, "quantity": body.quantity, "total": total}
        reference = f"marketplace:{transaction_id}"

        def build() -> tuple[list[WriteOp], MarketPurchase]:
            try:
                reserve = inventory.reserve_ops(
                    seller_id, _line(sale_fields), principal.user_id, reference, field="body"
                )
            except InvalidInput as exc:
                raise _invalid("body.quantity", "more than the seller has in stock", "insufficient-stock") from exc
            ops = [
                *reserve,
                put_op(store.sale_item(seller_id, sale_fields, workflow)),
                put_op(store.purchase_item(buyer_id, purchase_fields)),
                audit_op(principal, "marketplace.purchase_created", Kind.MARKET_PURCHASE, transaction_id),
                audit_op(
                    principal,
                    "marketplace.sale_received",
                    Kind.MARKETPLACE_TRANSACTION,
                    transaction_id,
                    tenant_id=seller_id,
                ),
                event_put_op(
                    new_event(
                        "marketplace.purchase_created",
                        buyer_id,
                        {**order_data, "counterpart": seller.name},
                        subject=transaction_id,
                    )
                ),
                event_put_op(
                    new_event(
                        "marketplace.sale_received",
                        seller_id,
                        {**order_data, "counterpart": buyer.name},
                        subject=transaction_id,
                    )
                ),
                *request_message_ops(
                    seller_id,
                    "email",
                    "role:ADMIN",
                    "marketplace.sale_received",
                    seller.locale,
                    {**variables, "buyerName": buyer.name},
                ),
                *request_message_ops(
                    buyer_id,
                    "email",
                    "role:ADMIN",
                    "marketplace.purchase_placed",
                    buyer.locale,
                    {**variables, "sellerName": seller.name, "waLink": link or "-"},
                ),
                *seal(purchase),
            ]
            return ops, purchase

        try:
            result = inventory.run_stock_transaction(build)
        except AlreadyExists as exc:  # pragma: no cover - a fresh ULID
            raise Conflict(detail="retry") from exc
        engine.start(seller_id, ENTITY_TYPE, transaction_id)
    return result


# --- each side's half ----------------------------------------------------------------------------------------


def _purchase(tenant_id: str, purchase_id: str) -> dict[str, Any]:
    item = store.get_purchase(tenant_id, purchase_id)
    if item is None:
        raise NotFound(detail=f"no marketplace purchase {purchase_id}")
    return item


def _sale(tenant_id: str, sale_id: str) -> dict[str, Any]:
    item = store.get_sale(tenant_id, sale_id)
    if item is None:
        raise NotFound(detail=f"no marketplace sale {sale_id}")
    return item


def get_purchase(principal: Principal, purchase_id: str) -> MarketPurchase:
    """One of the caller's purchases (the buyer's half)."""
    require(principal, Permission.MARKETPLACE_READ)
    return store.purchase_of(_purchase(principal.tenant_id, purchase_id))


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
    return store.sale_of(_sale(principal.tenant_id, sale_id))


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


def transition_sale(principal: Principal, sale_id: str, to: str, note: str | None, version: int) -> MarketSale:
    """The seller moves its sale along the marketplace flow; the buyer's purchase follows in the same transaction."""
    require(principal, Permission.MARKETPLACE_WRITE)
    _sale(principal.tenant_id, sale_id)
    with unscoped():  # the transition also updates the buyer's half (see the module docstring)
        result = engine.transition(principal, ENTITY_TYPE, sale_id, to, note, version)
    return store.sale_of(result.entity)


def sale_history(principal: Principal, sale_id: str, params: PageParams) -> Page[HistoryEntry]:
    """The sale's status changes, oldest first."""
    require(principal, Permission.MARKETPLACE_READ)
    return engine.history(principal.tenant_id, ENTITY_TYPE, sale_id, params)


def cancel_purchase(principal: Principal, purchase_id: str) -> MarketPurchase:
    """The buyer cancels a purchase the seller has not confirmed yet (PENDING): the sale is cancelled and its
    stock released, through the seller's flow."""
    require(principal, Permission.MARKETPLACE_WRITE)
    item = _purchase(principal.tenant_id, purchase_id)
    if item["status"] != "PENDING":
        raise Conflict(detail=f"the purchase is {item['status']}; only a PENDING purchase can be cancelled")
    seller_id = str(item[_SELLER])
    with unscoped():  # the buyer's cancellation moves the seller's sale (the one cross-tenant path)
        sale = store.get_sale(seller_id, purchase_id, consistent=True)
        if sale is None or sale.get(_BUYER) != principal.tenant_id:
            raise NotFound(detail=f"no marketplace purchase {purchase_id}")
        engine.transition(
            system_actor(seller_id),
            ENTITY_TYPE,
            purchase_id,
            "CANCELLED",
            "cancelled by the buyer",
            int(sale["version"]),
        )
    return store.purchase_of(_purchase(principal.tenant_id, purchase_id))
