"""Changing a lead as its people do: its contact (the claims moved), service, value, owner, source, follow-up time
(the reminder re-armed) or notes; a closed lead only its notes."""

from __future__ import annotations

from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.core import clock
from chalicelib.core.db.store import VersionConflict, WriteOp
from chalicelib.core.errors import Conflict, Forbidden
from chalicelib.leads import store
from chalicelib.leads.creating import catalog_service_name, check_owner, check_value, duplicate_contact
from chalicelib.leads.events import snapshot
from chalicelib.leads.flow import WORKFLOW
from chalicelib.leads.models import Lead, UpdateLeadRequest
from chalicelib.leads.reading import load_item, may_write
from chalicelib.tenants.service import load_tenant
from chalicelib.workflows import engine

__all__ = ["update_lead"]

# A new follow-up time re-arms the owner's reminder.
_CHANGES = engine.EntityChanges(WORKFLOW, store.lead_key, store.ref_ops, snapshot, frozenset({"followUpAt"}))


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
    for contact, attribute in store.CONTACTS.items():
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
                raise duplicate_contact(field_name, other)
            raced = duplicate_contact(field_name, "(another open lead, just now)")
            claim_ops.append(store.claim_op(tenant_id, contact, str(new), lead_id).on_conflict(raced))
    if "interest_service_id" in sent:
        changes["interestServiceId"] = body.interest_service_id
        service = body.interest_service_id
        changes["interestServiceName"] = catalog_service_name(tenant_id, service, "body.interestServiceId")
    if "estimated_value" in sent:
        check_value(body.estimated_value, tenant.currency, "body.estimatedValue")
        changes["estimatedValue"] = body.estimated_value.model_dump() if body.estimated_value else None
    if "owner_id" in sent and body.owner_id != item.get("ownerId"):
        changes["ownerId"] = check_owner(principal, body.owner_id, "body.ownerId")
        if changes["ownerId"] is None and not principal.can(Permission.LEADS_READ_ALL):
            raise Forbidden(detail="this role may not leave a lead unassigned")
        changes.update(store.owner_keys(tenant_id, str(item["createdAt"]), lead_id, changes["ownerId"]))
    if "follow_up_at" in sent:
        changes["followUpAt"] = clock.isoformat(body.follow_up_at) if body.follow_up_at else None
    return store.lead_of(_CHANGES.save(principal, lead_id, item, changes, also=claim_ops))
