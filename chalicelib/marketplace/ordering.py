"""A marketplace order, the one cross-tenant write: the buyer's purchase and the seller's sale (its stock reserved),
each side's audit, event and admins' message, in one transaction; then the sale's status flow started."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog import service as catalog
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import AlreadyExists, WriteOp, put_op, unscoped
from chalicelib.core.errors import Conflict, FieldError, Forbidden, InvalidInput, invalid_field
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.formatting import money_value
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.inventory import service as inventory
from chalicelib.marketplace import store
from chalicelib.marketplace.flow import ENTITY_TYPE, stock_line
from chalicelib.marketplace.listings import selling
from chalicelib.marketplace.models import MarketOrderRequest, MarketPurchase
from chalicelib.notifications.outbox import request_message_ops
from chalicelib.tenants.models import TenantRecord
from chalicelib.tenants.service import find_tenant, load_tenant
from chalicelib.workflows import engine

__all__ = ["place_order", "wa_link"]


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
            raise invalid_field("body.listingId", "no published listing with that id", "unknown-listing")
        seller_id = str(listing[store.SELLER])
        if seller_id == buyer_id:
            raise invalid_field("body.listingId", "this is your own listing", "own-listing")
        seller = find_tenant(seller_id, consistent=True)
        if seller is None or not selling(seller):
            # As the guard answers a suspended tenant or a missing module (403), without saying which of the two.
            message = "the seller is not selling on the marketplace now"
            raise Forbidden(
                detail=f"body.listingId: {message}",
                code="seller-unavailable",
                errors=(FieldError("body.listingId", message, "seller-unavailable"),),
            )
        if body.quantity < int(listing["minQuantity"]):
            raise invalid_field("body.quantity", f"the listing's minimum is {listing['minQuantity']}", "below-minimum")
        product = catalog.find_product(seller_id, str(listing["productId"]))
        if product is None or not product.active:
            raise invalid_field("body.listingId", "the seller no longer sells this product", "unavailable")
        buyer = load_tenant(buyer_id)
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
            store.SELLER: seller_id,
            **({"waLink": link} if link else {}),
        }
        sale_fields = {
            **common,
            "productId": listing["productId"],
            "buyerName": buyer.name,
            store.BUYER: buyer_id,
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
                    seller_id, stock_line(sale_fields), principal.user_id, reference, field="body"
                )
            except InvalidInput as exc:
                raise invalid_field("body.quantity", "more than the seller has in stock", "insufficient-stock") from exc
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
