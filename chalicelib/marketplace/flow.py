"""The status flow of a marketplace sale (the seller's half): what a change means (the seller's stock released or
consumed, the buyer's purchase following its status by key, a message to the buyer's admins), the seller's moves
and the buyer's cancellation of a PENDING purchase."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import WriteOp, set_op, unscoped
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.inventory import service as inventory
from chalicelib.marketplace import store
from chalicelib.marketplace.halves import ENTITY_TYPE, load_purchase, load_sale
from chalicelib.marketplace.models import MarketPurchase, MarketSale
from chalicelib.notifications.outbox import request_message_ops
from chalicelib.tenants.service import load_tenant
from chalicelib.workflows import engine
from chalicelib.workflows.engine import EntitySpec, TransitionContext, TransitionEffects
from chalicelib.workflows.service import system_actor

__all__ = ["ENTITY_TYPE", "WORKFLOW", "cancel_purchase", "stock_line", "transition_sale"]


def stock_line(item: Mapping[str, Any]) -> list[inventory.Line]:
    """The seller's stock a sale (or its fields) holds: its product and quantity."""
    return [(str(item["productId"]), int(item["quantity"]))]


def _on_transition(ctx: TransitionContext) -> TransitionEffects:
    """A sale's status change: its by-status entry, its stock (released when cancelled, consumed when completed),
    the buyer's purchase following its status, and a message to the buyer's admins."""
    item = ctx.entity
    seller, buyer, sale_id = ctx.tenant_id, str(item[store.BUYER]), ctx.entity_id
    target = ctx.definition.status(ctx.to_status)
    changes: dict[str, Any] = {
        **store.sale_status_keys(seller, ctx.to_status, str(item["createdAt"]), sale_id),
        "updatedAt": ctx.at,
    }
    ops: list[WriteOp] = []
    reference = f"marketplace:{sale_id}"
    if target.terminal and target.outcome == "cancelled":
        ops += inventory.release_ops(seller, stock_line(item), ctx.actor.user_id, reference, field="body")
    elif target.terminal and target.outcome == "completed":
        ops += inventory.consume_ops(seller, stock_line(item), ctx.actor.user_id, reference, field="body")
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


def transition_sale(principal: Principal, sale_id: str, to: str, note: str | None, version: int) -> MarketSale:
    """The seller moves its sale along the marketplace flow; the buyer's purchase follows in the same transaction."""
    require(principal, Permission.MARKETPLACE_WRITE)
    load_sale(principal.tenant_id, sale_id)
    with unscoped():  # the transition also updates the buyer's half (see the module docstring)
        result = engine.transition(principal, ENTITY_TYPE, sale_id, to, note, version)
    return store.sale_of(result.entity)


def cancel_purchase(principal: Principal, purchase_id: str) -> MarketPurchase:
    """The buyer cancels a purchase the seller has not confirmed yet (PENDING): the sale is cancelled and its
    stock released, through the seller's flow."""
    require(principal, Permission.MARKETPLACE_WRITE)
    item = load_purchase(principal.tenant_id, purchase_id)
    if item["status"] != "PENDING":
        raise Conflict(detail=f"the purchase is {item['status']}; only a PENDING purchase can be cancelled")
    seller_id = str(item[store.SELLER])
    with unscoped():  # the buyer's cancellation moves the seller's sale (the one cross-tenant path)
        sale = store.get_sale(seller_id, purchase_id, consistent=True)
        if sale is None or sale.get(store.BUYER) != principal.tenant_id:
            raise NotFound(detail=f"no marketplace purchase {purchase_id}")
        engine.transition(
            system_actor(seller_id),
            ENTITY_TYPE,
            purchase_id,
            "CANCELLED",
            "cancelled by the buyer",
            int(sale["version"]),
        )
    return store.purchase_of(load_purchase(principal.tenant_id, purchase_id))
