"""A sale's status flow: what a status change means for it (its by-status list entry and index items, its closing,
the customer's statistics when it completes) and the moves its people make."""

from __future__ import annotations

from typing import Any

from chalicelib.access.principal import Principal
from chalicelib.core.db.keys import Kind
from chalicelib.core.money import Money
from chalicelib.customers.service import record_order_ops
from chalicelib.sales import store
from chalicelib.sales.events import snapshot
from chalicelib.sales.models import Sale
from chalicelib.sales.reading import ENTITY_TYPE, load_item, may_write
from chalicelib.workflows import engine
from chalicelib.workflows.engine import EntitySpec, TransitionContext, TransitionEffects
from chalicelib.workflows.models import EntityType

__all__ = ["WORKFLOW", "transition_sale"]


def _on_transition(ctx: TransitionContext) -> TransitionEffects:
    """What a status change means for a sale: its by-status list entry and index items, its closing time, and
    (when it completes) the customer's statistics."""
    item = ctx.entity
    target = ctx.definition.status(ctx.to_status)
    changes: dict[str, Any] = store.by_status_keys(ctx.tenant_id, ctx.to_status, str(item["createdAt"]), ctx.entity_id)
    after = {**item, "status": ctx.to_status}
    ops = store.ref_ops(ctx.tenant_id, item, after)
    if target.terminal:
        closing = {"closedAt": ctx.at, **({"outcome": target.outcome} if target.outcome else {})}
        changes.update(closing)
        after.update(closing)
    event_data: dict[str, Any] = {"sale": snapshot(after)}
    if target.terminal:
        event_data["outcome"] = target.outcome
        if target.outcome == "completed":
            final = Money.model_validate(item["amounts"]["final"])
            ops += record_order_ops(ctx.tenant_id, str(item["customerId"]), final, ctx.at)
    return TransitionEffects(changes=changes, ops=ops, event_data=event_data)


WORKFLOW = EntitySpec(EntityType.SALE, Kind.SALE, _on_transition)


def transition_sale(principal: Principal, sale_id: str, to: str, note: str | None, version: int) -> Sale:
    """Move the sale along its status flow (role, current status and version checked; one winner)."""
    item = load_item(principal.tenant_id, sale_id)
    may_write(principal, item)
    result = engine.transition(principal, ENTITY_TYPE, sale_id, to, note, version)
    return store.sale_of(result.entity)
