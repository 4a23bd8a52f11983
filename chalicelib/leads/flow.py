"""A lead's status flow: what a status change means for it (its lists, its contact claims freed when it closes and,
to CONVERTED, the customer and the sale ``converting`` hands the hook, in the transition's transaction) and the moves
its people make."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from chalicelib.access.principal import Principal
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import WriteOp
from chalicelib.core.errors import Conflict, FieldError, InvalidInput
from chalicelib.core.events import event_put_op, new_event
from chalicelib.customers.service import NewCustomer
from chalicelib.leads import store
from chalicelib.leads.events import snapshot
from chalicelib.leads.models import Lead
from chalicelib.leads.reading import ENTITY_TYPE, load_item, may_write
from chalicelib.sales import service as sales
from chalicelib.workflows import engine
from chalicelib.workflows.engine import EntitySpec, TransitionContext, TransitionEffects
from chalicelib.workflows.models import EntityType

__all__ = ["CONVERTED", "WORKFLOW", "CustomerTaken", "PendingConversion", "converting", "transition_lead"]

CONVERTED = "CONVERTED"


@dataclass
class PendingConversion:
    """What the transition hook writes when a lead converts (set by ``convert_lead`` around the transition)."""

    sale: sales.PreparedSale
    customer_id: str
    created: NewCustomer | None
    seal: list[WriteOp] = field(default_factory=list)


_pending: ContextVar[PendingConversion | None] = ContextVar("lead_conversion", default=None)


@contextmanager
def converting(conversion: PendingConversion) -> Iterator[None]:
    """Hand ``conversion`` to the flow hook for the transition made inside this block (``conversion.py``)."""
    token = _pending.set(conversion)
    try:
        yield
    finally:
        _pending.reset(token)


class CustomerTaken(Conflict):
    """Raised when the customer a conversion was creating got created meanwhile (another conversion): link it."""


def _on_transition(ctx: TransitionContext) -> TransitionEffects:
    """What a status change means for a lead: its lists, its claims when it closes, and — to CONVERTED — the
    customer and the sale, all in the transition's transaction."""
    item = ctx.entity
    target = ctx.definition.status(ctx.to_status)
    changes: dict[str, Any] = store.by_status_keys(ctx.tenant_id, ctx.to_status, str(item["createdAt"]), ctx.entity_id)
    if target.terminal:
        changes.update({"closedAt": ctx.at, **({"outcome": target.outcome} if target.outcome else {})})
    conversion = _pending.get()
    if ctx.to_status == CONVERTED:
        if conversion is None:
            raise InvalidInput(
                detail="a lead is converted with POST /leads/{id}/convert",
                errors=(FieldError("body.to", "convert the lead with POST /leads/{id}/convert", "use-convert"),),
            )
        changes["convertedSaleId"] = conversion.sale.sale.id
        changes["customerId"] = conversion.customer_id
    after = {**item, **changes, "status": ctx.to_status}
    ops: list[WriteOp] = []
    if conversion is not None and ctx.to_status == CONVERTED:
        # The sale's number claim fails with NumberTaken (take the next number); the new customer's claims with
        # CustomerTaken (a customer with the lead's contact appeared: link it).
        ops += conversion.sale.ops
        if conversion.created is not None:
            taken = CustomerTaken(detail="a customer with the lead's contact was created meanwhile")
            ops += [*conversion.created.ops, *(claim.on_conflict(taken) for claim in conversion.created.claims)]
        data = {
            "lead": snapshot(after),
            "saleId": conversion.sale.sale.id,
            "customerId": conversion.customer_id,
            "customerCreated": conversion.created is not None,
        }
        ops.append(event_put_op(new_event("lead.converted", ctx.tenant_id, data, subject=ctx.entity_id)))
        ops += conversion.seal
    ops += store.ref_ops(ctx.tenant_id, item, after)
    if target.terminal:
        ops += [store.release_op(ctx.tenant_id, f, str(item[a])) for f, a in store.CONTACTS.items() if item.get(a)]
    event_data: dict[str, Any] = {"lead": snapshot(after)}
    if target.terminal:
        event_data["outcome"] = target.outcome
    return TransitionEffects(changes=changes, ops=ops, event_data=event_data)


WORKFLOW = EntitySpec(EntityType.LEAD, Kind.LEAD, _on_transition, assignee_field="ownerId")


def transition_lead(principal: Principal, lead_id: str, to: str, note: str | None, version: int) -> Lead:
    """Move the lead along its flow (to CONVERTED only through ``convert_lead``)."""
    item = load_item(principal.tenant_id, lead_id)
    may_write(principal, item)
    return store.lead_of(engine.transition(principal, ENTITY_TYPE, lead_id, to, note, version).entity)
