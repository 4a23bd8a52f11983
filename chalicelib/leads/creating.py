"""A new lead, from a request or a WhatsApp conversation: its owner, service and value checked, its email and phone
claimed in the tenant, its flow started; an open lead with the same contact refused (409) or filled instead
(``onDuplicate: merge``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.catalog.service import load_product
from chalicelib.conversations.service import load_conversation
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, WriteOp, revise_op
from chalicelib.core.errors import Conflict, FieldError, Forbidden, NotFound, invalid_field
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.models import ApiModel
from chalicelib.core.money import Money
from chalicelib.leads import store
from chalicelib.leads.events import snapshot
from chalicelib.leads.models import ConversationLeadRequest, CreateLeadRequest, Lead, LeadOrigin
from chalicelib.leads.reading import ENTITY_TYPE, load_item
from chalicelib.leads.store import ContactField
from chalicelib.tenants.service import load_tenant
from chalicelib.users.service import find_user
from chalicelib.workflows import engine

__all__ = [
    "DEFAULT_FOLLOW_UP",
    "LeadResult",
    "catalog_service_name",
    "check_owner",
    "check_value",
    "create_lead",
    "duplicate_contact",
    "lead_from_conversation",
]

DEFAULT_FOLLOW_UP = timedelta(days=1)


class LeadResult(ApiModel):
    """What a create answers: the lead, and whether it was merged into an open lead with the same contact (the
    response recorded for an ``Idempotency-Key`` replay, so a replay answers as the first request did)."""

    lead: Lead
    merged: bool = False


class _ContactRace(Conflict):
    """Raised when a lead's email or phone was claimed by another open lead meanwhile (read again: refuse or merge)."""


def check_owner(principal: Principal, owner_id: str | None, field_name: str) -> str | None:
    """``owner_id`` if the caller may give it the lead (a rep: only itself) and it is an active user (else 422)."""
    if owner_id is None:
        return None
    if owner_id != principal.user_id and not principal.can(Permission.LEADS_READ_ALL):
        raise Forbidden(detail="this role may give leads only to itself")
    user = find_user(principal.tenant_id, owner_id)
    if user is None or user.status != "active":
        raise invalid_field(field_name, "no active user with that id", "unknown-user")
    return owner_id


def catalog_service_name(tenant_id: str, service_id: str | None, field_name: str) -> str | None:
    """The name of the catalog's service ``service_id`` (422 naming ``field_name`` for an unknown one or a product)."""
    if service_id is None:
        return None
    try:
        product = load_product(tenant_id, service_id)
    except NotFound as exc:
        raise invalid_field(field_name, "no such service in the catalog", "unknown-service") from exc
    if product.kind != "service":
        raise invalid_field(field_name, "this catalog item is a product, not a service", "not-a-service")
    return product.name


def check_value(value: Money | None, currency: str, field_name: str) -> None:
    """Refuse (422) an estimated value that is negative or not in the tenant's currency."""
    if value is not None and (value.currency != currency or value.amount < 0):
        raise invalid_field(field_name, f"must be a non-negative amount in {currency}")


def duplicate_contact(field_name: str, lead_id: str) -> Conflict:
    """The 409 naming the open lead ``lead_id`` that holds the contact of ``field_name``."""
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
                return found, f"body.{store.CONTACTS[contact]}"
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
    owner = check_owner(principal, body.owner_id, "body.ownerId") if body.owner_id else default_owner
    service_name = catalog_service_name(tenant_id, body.interest_service_id, "body.interestServiceId")
    check_value(body.estimated_value, tenant.currency, "body.estimatedValue")
    for _ in range(3):
        duplicate = _open_duplicate(tenant_id, body)
        if duplicate is not None:
            lead_id, field_name = duplicate
            if body.on_duplicate == "reject":
                raise duplicate_contact(field_name, lead_id)
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
        for contact, attribute in store.CONTACTS.items():
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
    for contact, attribute in store.CONTACTS.items():
        value = item.get(attribute) or None
        sent = body.contact_email if contact == "email" else body.contact_phone
        if value is None and sent is not None:
            changes[attribute] = sent
            claim_ops.append(
                store.claim_op(tenant_id, contact, str(sent), lead_id).on_conflict(
                    duplicate_contact(f"body.{attribute}", "(another open lead)")
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
