"""Lead use cases (Tekup sales tracking): create (duplicates refused or merged), read, list, change, move along
the status flow, and the intake of leads from WhatsApp conversations (email: ``intake.py``; the conversion into a
sale: ``conversion.py``).

One responsibility: the lead itself behind the lead routes (its contact claims, its lists, its status flow and
that flow's hook); converting it into a sale is ``conversion.py``'s.

A lead is someone who may buy: a contact (name, email, phone), the service they are interested in (a catalog
item of kind ``service``), an estimated value, a source, a follow-up time and an owner (a rep; an inbound lead
may be unassigned until a manager gives it one). Its status flow is the engine's (built-in ``lead``: NEW →
CONTACTED → QUALIFIED → CONVERTED, or LOST); the owner is reminded by email at the follow-up time (a timer of the
flow on ``followUpAt``, which defaults to a day after creation).

Duplicates: an open lead's email and phone are claimed in the tenant, so a second lead with the same contact is
a 409 naming the open one — or, on request (``onDuplicate: merge``, and always for inbound email), fills that lead
instead (missing contact, service, value and follow-up; notes appended).

Conversion (``conversion.py``) is the lead's transition to CONVERTED: this module's flow hook writes the customer
and the sale that ``converting`` hands it in the transition's own transaction.

Who sees what: ``leads:read:all`` (ADMIN, MANAGER, VIEWER) reads every lead, ``leads:read:own`` alone (SALES_REP)
the leads it owns — in lists too (its own partitions); ``leads:write`` changes the leads one may read in full
(with ``leads:read:all``: any; a rep: its own, and it may give a lead only to itself).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog.service import load_product
from chalicelib.conversations.service import load_conversation
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, VersionConflict, WriteOp, revise_op
from chalicelib.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.models import ApiModel
from chalicelib.core.money import Money
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.customers.service import NewCustomer
from chalicelib.leads import store
from chalicelib.leads.models import (
    ConversationLeadRequest,
    CreateLeadRequest,
    Lead,
    LeadListQuery,
    LeadOrigin,
    UpdateLeadRequest,
)
from chalicelib.leads.store import ContactField
from chalicelib.sales import service as sales
from chalicelib.tenants.service import load_tenant
from chalicelib.users.service import find_user
from chalicelib.workflows import engine
from chalicelib.workflows.engine import EntitySpec, TransitionContext, TransitionEffects
from chalicelib.workflows.models import EntityType, HistoryEntry

__all__ = [
    "CONVERTED",
    "ENTITY_TYPE",
    "WORKFLOW",
    "CustomerTaken",
    "LeadResult",
    "PendingConversion",
    "converting",
    "create_lead",
    "get_lead",
    "invalid",
    "lead_from_conversation",
    "lead_history",
    "list_leads",
    "load_item",
    "may_write",
    "snapshot",
    "transition_lead",
    "update_lead",
]

ENTITY_TYPE = "lead"
CONVERTED = "CONVERTED"
DEFAULT_FOLLOW_UP = timedelta(days=1)
_CONTACTS: dict[ContactField, str] = {"email": "contactEmail", "phone": "contactPhone"}


class LeadResult(ApiModel):
    """What a create answers: the lead, and whether it was merged into an open lead with the same contact (the
    response recorded for an ``Idempotency-Key`` replay, so a replay answers as the first request did)."""

    lead: Lead
    merged: bool = False


def snapshot(item: Mapping[str, Any]) -> dict[str, Any]:
    """What events say about a lead, so that their consumers (analytics) need not read it."""
    data: dict[str, Any] = {"status": item["status"], "source": item["source"], "createdAt": item["createdAt"]}
    names = ("ownerId", "interestServiceId", "estimatedValue", "closedAt", "outcome", "convertedSaleId", "customerId")
    for name in names:
        if item.get(name) is not None:
            data[name] = item[name]
    origin = item.get("origin") or {}
    if origin.get("conversationId"):
        data["conversationId"] = origin["conversationId"]
    return data


# --- the conversion, as the lead's transition to CONVERTED -----------------------------------------------------


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
    token = _pending.set(conversion)
    try:
        yield
    finally:
        _pending.reset(token)


class _ContactRace(Conflict):
    """Raised when a lead's email or phone was claimed by another open lead meanwhile (read again: refuse or merge)."""


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
        ops += [store.release_op(ctx.tenant_id, f, str(item[a])) for f, a in _CONTACTS.items() if item.get(a)]
    event_data: dict[str, Any] = {"lead": snapshot(after)}
    if target.terminal:
        event_data["outcome"] = target.outcome
    return TransitionEffects(changes=changes, ops=ops, event_data=event_data)


WORKFLOW = EntitySpec(EntityType.LEAD, Kind.LEAD, _on_transition, assignee_field="ownerId")


# --- reading ---------------------------------------------------------------------------------------------------


def _owns(principal: Principal, item: Mapping[str, Any]) -> bool:
    return item.get("ownerId") == principal.user_id


def _may_read(principal: Principal, item: Mapping[str, Any]) -> None:
    if principal.can(Permission.LEADS_READ_ALL):
        return
    require(principal, Permission.LEADS_READ_OWN)
    if not _owns(principal, item):
        raise Forbidden(detail="this role sees only the leads it owns")


def may_write(principal: Principal, item: Mapping[str, Any]) -> None:
    require(principal, Permission.LEADS_WRITE)
    _may_read(principal, item)


def load_item(tenant_id: str, lead_id: str, *, consistent: bool = False) -> dict[str, Any]:
    item = store.get_lead(tenant_id, lead_id, consistent=consistent)
    if item is None:
        raise NotFound(detail=f"no lead {lead_id}")
    return item


def get_lead(principal: Principal, lead_id: str) -> Lead:
    """One lead (a rep: only its own)."""
    item = load_item(principal.tenant_id, lead_id)
    _may_read(principal, item)
    return store.lead_of(item)


def invalid(field_name: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(detail=f"{field_name}: {message}", errors=(FieldError(field_name, message, code),))


def _bound(moment: datetime | None, default: str) -> str:
    return clock.isoformat(moment) if moment is not None else default


def list_leads(principal: Principal, query: LeadListQuery) -> Page[Lead]:
    """One page of leads: newest first by status and/or owner within from/to, or with ``followUpDue`` the open
    leads to follow up by then, soonest first. A rep lists only its own leads."""
    owner = query.owner_id
    if not principal.can(Permission.LEADS_READ_ALL):
        require(principal, Permission.LEADS_READ_OWN)
        if owner not in (None, principal.user_id):
            raise Forbidden(detail="this role sees only the leads it owns")
        owner = principal.user_id
    tenant_id = principal.tenant_id
    if query.follow_up_due is not None:
        for name in ("status", "from_", "to"):
            if getattr(query, name) is not None:
                raise invalid(f"query.{name.rstrip('_')}", "not together with followUpDue (open leads only)")
        due = clock.isoformat(query.follow_up_due)
        return paginate(
            Page[Lead],
            query,
            tenant_id=tenant_id,
            scope=f"leads:due:{owner or ''}:{due}",
            fetch=lambda start: store.list_follow_ups(tenant_id, owner, due, query.limit, start),
            convert=store.lead_of,
        )
    if query.from_ is not None and query.to is not None and query.from_ > query.to:
        raise invalid("query.from", "must not be after to")
    between = (_bound(query.from_, "0"), _bound(query.to, "9") + "~")
    return paginate(
        Page[Lead],
        query,
        tenant_id=tenant_id,
        scope=f"leads:{query.status or ''}:{owner or ''}:{between[0]}:{between[1]}",
        fetch=lambda start: store.list_leads(
            tenant_id, status=query.status, owner_id=owner, between=between, limit=query.limit, start_key=start
        ),
        convert=store.lead_of,
    )


def lead_history(principal: Principal, lead_id: str, params: PageParams) -> Page[HistoryEntry]:
    """The lead's status changes, oldest first."""
    _may_read(principal, load_item(principal.tenant_id, lead_id))
    return engine.history(principal.tenant_id, ENTITY_TYPE, lead_id, params)


# --- creating ---------------------------------------------------------------------------------------------------


def _owner(principal: Principal, owner_id: str | None, field_name: str) -> str | None:
    if owner_id is None:
        return None
    if owner_id != principal.user_id and not principal.can(Permission.LEADS_READ_ALL):
        raise Forbidden(detail="this role may give leads only to itself")
    user = find_user(principal.tenant_id, owner_id)
    if user is None or user.status != "active":
        raise invalid(field_name, "no active user with that id", "unknown-user")
    return owner_id


def _service_name(tenant_id: str, service_id: str | None, field_name: str) -> str | None:
    if service_id is None:
        return None
    try:
        product = load_product(tenant_id, service_id)
    except NotFound as exc:
        raise invalid(field_name, "no such service in the catalog", "unknown-service") from exc
    if product.kind != "service":
        raise invalid(field_name, "this catalog item is a product, not a service", "not-a-service")
    return product.name


def _check_value(value: Money | None, currency: str, field_name: str) -> None:
    if value is not None and (value.currency != currency or value.amount < 0):
        raise invalid(field_name, f"must be a non-negative amount in {currency}")


def _duplicate(field_name: str, lead_id: str) -> Conflict:
    return Conflict(
        detail=f"an open lead has this contact: {lead_id}",
        errors=(FieldError(field_name, f"already the contact of open lead {lead_id}", "duplicate-lead"),),
        title="Duplicate lead",
        code="duplicate-lead",
    )


def _open_duplicate(tenant_id: str, body: CreateLeadRequest) -> tuple[str, str] | None:
    """The open lead with the request's email (else phone), and the request field that found it."""
    sent: tuple[tuple[ContactField, str | None], ...] = (("email", body.contact_email), ("phone", body.contact_phone))
    for contact, value in sent:
        if value is not None:
            found = store.find_open_lead(tenant_id, contact, value)
            if found is not None:
                return found, f"body.{_CONTACTS[contact]}"
    return None


def create_lead(
    principal: Principal,
    body: CreateLeadRequest,
    idempotency_key: str | None,
    *,
    origin: LeadOrigin | None = None,
    owned_by_caller: bool = True,
) -> LeadResult:
    """Create a lead (its flow started; the owner reminded at the follow-up time). An open lead with the same email
    or phone: 409 naming it, or with ``onDuplicate: merge`` that lead filled with what is new (``merged``).

    Without ``ownerId`` the lead is the caller's, unless ``owned_by_caller`` is False (an inbound lead: unassigned).
    """
    require(principal, Permission.LEADS_WRITE)
    default_owner = principal.user_id if owned_by_caller else None
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "leads.create",
        body,
        LeadResult,
        lambda seal: _create(principal, body, origin, default_owner, seal),
    )


def _create(
    principal: Principal,
    body: CreateLeadRequest,
    origin: LeadOrigin | None,
    default_owner: str | None,
    seal: idempotency.Seal,
) -> LeadResult:
    tenant = load_tenant(principal.tenant_id)
    tenant_id = tenant.id
    owner = _owner(principal, body.owner_id, "body.ownerId") if body.owner_id else default_owner
    service_name = _service_name(tenant_id, body.interest_service_id, "body.interestServiceId")
    _check_value(body.estimated_value, tenant.currency, "body.estimatedValue")
    for _ in range(3):
        duplicate = _open_duplicate(tenant_id, body)
        if duplicate is not None:
            lead_id, field_name = duplicate
            if body.on_duplicate == "reject":
                raise _duplicate(field_name, lead_id)
            return LeadResult(lead=_merge(principal, lead_id, body, service_name, seal), merged=True)
        moment = clock.now()
        at = clock.isoformat(moment)
        workflow = engine.initial_fields(tenant_id, ENTITY_TYPE)
        lead = Lead(
            id=new_id(moment),
            tenant_id=tenant_id,
            contact_name=body.contact_name,
            contact_email=body.contact_email,
            contact_phone=body.contact_phone,
            interest_service_id=body.interest_service_id,
            interest_service_name=service_name,
            estimated_value=body.estimated_value,
            source=body.source,
            origin=origin,
            owner_id=owner,
            follow_up_at=clock.isoformat(body.follow_up_at or moment + DEFAULT_FOLLOW_UP),
            notes=body.notes,
            status=str(workflow[engine.STATUS]),
            workflow_version=int(workflow[engine.WORKFLOW_VERSION]),
            status_changed_at=str(workflow[engine.STATUS_CHANGED_AT]),
            created_by=principal.user_id,
            created_at=at,
            updated_at=at,
        )
        item = lead.model_dump(exclude_none=True)
        ops = store.new_lead_op(lead, workflow)
        raced = _ContactRace(detail="an open lead with this contact was created meanwhile")
        for contact, attribute in _CONTACTS.items():
            if item.get(attribute):
                ops.append(store.claim_op(tenant_id, contact, str(item[attribute]), lead.id).on_conflict(raced))
        result = LeadResult(lead=lead)
        ops += [
            audit_op(principal, "lead.created", Kind.LEAD, lead.id, after=item),
            event_put_op(new_event("lead.created", tenant_id, {"lead": snapshot(item)}, subject=lead.id)),
            *seal(result),
        ]
        try:
            Table().transact(ops)
        except _ContactRace:
            continue  # an open lead with this contact was created meanwhile: refuse or merge into it
        engine.start(tenant_id, ENTITY_TYPE, lead.id)
        return result
    raise Conflict(detail="leads with this contact keep being created; retry")


def _merge(
    principal: Principal, lead_id: str, body: CreateLeadRequest, service_name: str | None, seal: idempotency.Seal
) -> Lead:
    """Fill the open lead ``lead_id`` with what ``body`` brings that it lacks; append the notes."""
    tenant_id = principal.tenant_id
    item = load_item(tenant_id, lead_id, consistent=True)
    changes: dict[str, Any] = {}
    claim_ops: list[WriteOp] = []
    for contact, attribute in _CONTACTS.items():
        value = item.get(attribute) or None
        sent = body.contact_email if contact == "email" else body.contact_phone
        if value is None and sent is not None:
            changes[attribute] = sent
            claim_ops.append(
                store.claim_op(tenant_id, contact, str(sent), lead_id).on_conflict(
                    _duplicate(f"body.{attribute}", "(another open lead)")
                )
            )
    if item.get("interestServiceId") is None and body.interest_service_id is not None:
        changes["interestServiceId"] = body.interest_service_id
        changes["interestServiceName"] = service_name
    if item.get("estimatedValue") is None and body.estimated_value is not None:
        changes["estimatedValue"] = body.estimated_value.model_dump()
    if body.notes:
        stamp = clock.now_iso()[:16].replace("T", " ")
        changes["notes"] = "\n\n".join(part for part in (item.get("notes"), f"[{stamp}] {body.notes}") if part)
    if item.get("ownerId") is None and body.owner_id is not None:
        changes["ownerId"] = body.owner_id
        changes.update(store.owner_keys(tenant_id, str(item["createdAt"]), lead_id, body.owner_id))
    result = LeadResult(lead=store.lead_of(item), merged=True)
    if not changes:
        recorded = seal(result)
        if recorded:
            Table().transact(recorded)
        return result.lead
    changes["updatedAt"] = clock.now_iso()
    moved = Conflict(detail="the lead changed while merging into it; retry", retry=True)
    write, after = revise_op(*store.lead_key(tenant_id, lead_id), item, changes, conflict=moved)
    result = LeadResult(lead=store.lead_of(after), merged=True)
    changed = sorted(name for name in changes if name != "updatedAt" and not name.startswith("GSI"))
    data = {"changed": changed, "before": snapshot(item), "lead": snapshot(after)}
    Table().transact(
        [
            write,
            *store.ref_ops(tenant_id, item, after),
            *claim_ops,
            audit_op(principal, "lead.merged", Kind.LEAD, lead_id, before=dict(item), after=after),
            event_put_op(new_event("lead.updated", tenant_id, data, subject=lead_id)),
            *seal(result),
        ]
    )
    return result.lead


# --- changing ---------------------------------------------------------------------------------------------------


def update_lead(principal: Principal, lead_id: str, body: UpdateLeadRequest) -> Lead:
    """Change a lead (optimistic locking on ``version``); a new email or phone moves its claim (409 when another
    open lead has it); a new follow-up time re-arms the owner's reminder. A closed lead changes only its notes."""
    tenant_id = principal.tenant_id
    item = load_item(tenant_id, lead_id, consistent=True)
    may_write(principal, item)
    if int(item["version"]) != body.version:
        raise VersionConflict(detail=f"the lead is at version {item['version']}; reload and retry")
    sent = body.model_fields_set - {"version"}
    if item.get("closedAt") and sent - {"notes"}:
        raise Conflict(detail=f"the lead is {item['status']} (final): only its notes can change", code="lead-closed")
    tenant = load_tenant(tenant_id)
    changes: dict[str, Any] = {}
    claim_ops: list[WriteOp] = []
    simple = {"contact_name": "contactName", "source": "source", "notes": "notes"}
    for name, attribute in simple.items():
        if name in sent:
            changes[attribute] = getattr(body, name)
    for contact, attribute in _CONTACTS.items():
        name = "contact_email" if contact == "email" else "contact_phone"
        if name not in sent or getattr(body, name) == item.get(attribute):
            continue
        old, new = item.get(attribute), getattr(body, name)
        changes[attribute] = new
        if old:
            claim_ops.append(store.release_op(tenant_id, contact, str(old)))
        if new:
            field_name = f"body.{attribute}"
            other = store.find_open_lead(tenant_id, contact, str(new))
            if other is not None:
                raise _duplicate(field_name, other)
            raced = _duplicate(field_name, "(another open lead, just now)")
            claim_ops.append(store.claim_op(tenant_id, contact, str(new), lead_id).on_conflict(raced))
    if "interest_service_id" in sent:
        changes["interestServiceId"] = body.interest_service_id
        changes["interestServiceName"] = _service_name(tenant_id, body.interest_service_id, "body.interestServiceId")
    if "estimated_value" in sent:
        _check_value(body.estimated_value, tenant.currency, "body.estimatedValue")
        changes["estimatedValue"] = body.estimated_value.model_dump() if body.estimated_value else None
    if "owner_id" in sent and body.owner_id != item.get("ownerId"):
        changes["ownerId"] = _owner(principal, body.owner_id, "body.ownerId")
        if changes["ownerId"] is None and not principal.can(Permission.LEADS_READ_ALL):
            raise Forbidden(detail="this role may not leave a lead unassigned")
        changes.update(store.owner_keys(tenant_id, str(item["createdAt"]), lead_id, changes["ownerId"]))
    if "follow_up_at" in sent:
        changes["followUpAt"] = clock.isoformat(body.follow_up_at) if body.follow_up_at else None
    changed = sorted(name for name in changes if not name.startswith("GSI"))
    changes["updatedAt"] = clock.now_iso()
    stale = VersionConflict(detail="the lead changed since you read it; reload and retry")
    write, after = revise_op(*store.lead_key(tenant_id, lead_id), item, changes, conflict=stale)
    data = {"changed": changed, "before": snapshot(item), "lead": snapshot(after)}
    Table().transact(
        [
            write,
            audit_op(principal, "lead.updated", Kind.LEAD, lead_id, before=dict(item), after=after),
            *store.ref_ops(tenant_id, item, after),
            *claim_ops,
            event_put_op(new_event("lead.updated", tenant_id, data, subject=lead_id)),
        ]
    )
    if "followUpAt" in changes:
        engine.refresh_timers(tenant_id, ENTITY_TYPE, lead_id)
    return store.lead_of(after)


def transition_lead(principal: Principal, lead_id: str, to: str, note: str | None, version: int) -> Lead:
    """Move the lead along its flow (to CONVERTED only through ``convert_lead``)."""
    item = load_item(principal.tenant_id, lead_id)
    may_write(principal, item)
    return store.lead_of(engine.transition(principal, ENTITY_TYPE, lead_id, to, note, version).entity)


# --- intake: WhatsApp conversations -----------------------------------------------------------------------------


def lead_from_conversation(
    principal: Principal, conversation_id: str, body: ConversationLeadRequest, idempotency_key: str | None
) -> LeadResult:
    """Turn a WhatsApp conversation of the gateway into a lead: the contact's name and number come from the
    conversation, the source is ``whatsapp`` and the lead keeps the conversation (and its channel) as its origin,
    which its sale and the analytics keep too. The conversation's number already on an open lead: that lead is
    filled instead (``merged``). Needs ``conversations:read`` besides ``leads:write``."""
    require(principal, Permission.LEADS_WRITE)
    require(principal, Permission.CONVERSATIONS_READ)  # before the read: a 404 would tell who may not read it
    conversation = load_conversation(principal.tenant_id, conversation_id)
    request = CreateLeadRequest.model_validate(
        {
            **body.model_dump(exclude_unset=True),
            "contactName": conversation.contact_name or conversation.phone,
            "contactPhone": conversation.phone,
            "source": "whatsapp",
            "onDuplicate": "merge",
        }
    )
    origin = LeadOrigin(conversation_id=conversation.id, channel_id=conversation.channel_id)
    return create_lead(principal, request, idempotency_key, origin=origin)
