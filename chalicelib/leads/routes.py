"""Lead routes, and the conversion of a lead or a WhatsApp conversation."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page, PageParams
from chalicelib.leads import conversion, service
from chalicelib.leads.models import (
    ConversationLeadRequest,
    Conversion,
    ConvertLeadRequest,
    CreateLeadRequest,
    Lead,
    LeadListQuery,
    UpdateLeadRequest,
)
from chalicelib.orders.models import TransitionRequest
from chalicelib.workflows.models import HistoryEntry

blueprint = protected_blueprint(__name__, tag="leads")

_MERGED = {200: "Merged into the open lead with the same email or phone (that lead, filled)"}


def _created(result: service.LeadResult) -> Lead | Response:
    """201 with a new lead; 200 with the open lead it was merged into."""
    if not result.merged:
        return result.lead
    return Response(body=result.lead.model_dump_json(), status_code=200, headers={"Content-Type": "application/json"})


@blueprint.operation(
    "/leads",
    "POST",
    body=CreateLeadRequest,
    response=Lead,
    status=201,
    extra_responses=_MERGED,
    permission=Permission.LEADS_WRITE,
    module=Module.SALES,
    idempotent=True,
)
def create_lead(body: CreateLeadRequest, principal: Principal, idempotency_key: str | None) -> Lead | Response:
    """Create a lead

    An open lead with the same email or phone is a 409 naming it, unless onDuplicate is merge (200, that lead
    filled with what is new). The owner (default: you) is reminded at followUpAt (default: a day later).
    """
    return _created(service.create_lead(principal, body, idempotency_key))


@blueprint.operation(
    "/leads", query=LeadListQuery, response=Page[Lead], permission=Permission.LEADS_READ_OWN, module=Module.SALES
)
def list_leads(query: LeadListQuery, principal: Principal) -> Page[Lead]:
    """List leads

    Newest first by status and/or owner within from/to; or followUpDue: the open leads to follow up by then,
    soonest first. A sales rep lists only its own leads.
    """
    return service.list_leads(principal, query)


@blueprint.operation(
    "/leads/{lead_id}", response=Lead, problems=(404,), permission=Permission.LEADS_READ_OWN, module=Module.SALES
)
def get_lead(lead_id: str, principal: Principal) -> Lead:
    """Get a lead"""
    return service.get_lead(principal, lead_id)


@blueprint.operation(
    "/leads/{lead_id}",
    "PATCH",
    body=UpdateLeadRequest,
    response=Lead,
    permission=Permission.LEADS_WRITE,
    module=Module.SALES,
    problems=(404, 409),
)
def update_lead(lead_id: str, body: UpdateLeadRequest, principal: Principal) -> Lead:
    """Change a lead

    Contact, service, estimate, source, owner, follow-up time (the reminder moves with it) or notes; send the
    version you read. A closed lead changes only its notes.
    """
    return service.update_lead(principal, lead_id, body)


@blueprint.operation(
    "/leads/{lead_id}/transitions",
    "POST",
    body=TransitionRequest,
    response=Lead,
    permission=Permission.LEADS_WRITE,
    module=Module.SALES,
    problems=(404, 409),
)
def transition_lead(lead_id: str, body: TransitionRequest, principal: Principal) -> Lead:
    """Move a lead to another status

    Allowed by the lead's status flow for the caller's role; CONVERTED only through the conversion.
    """
    return service.transition_lead(principal, lead_id, body.to, body.note, body.version)


@blueprint.operation(
    "/leads/{lead_id}/history",
    query=PageParams,
    response=Page[HistoryEntry],
    problems=(404,),
    permission=Permission.LEADS_READ_OWN,
    module=Module.SALES,
)
def lead_history(lead_id: str, query: PageParams, principal: Principal) -> Page[HistoryEntry]:
    """Status history of a lead"""
    return service.lead_history(principal, lead_id, query)


@blueprint.operation(
    "/leads/{lead_id}/convert",
    "POST",
    body=ConvertLeadRequest,
    response=Conversion,
    status=201,
    permission=Permission.LEADS_WRITE,
    module=Module.SALES,
    idempotent=True,
    problems=(404,),
)
def convert_lead(
    lead_id: str, body: ConvertLeadRequest, principal: Principal, idempotency_key: str | None
) -> Conversion:
    """Convert a lead into a sale

    In one transaction: the customer (customerId, else the lead's email or phone, else a new one), the sale (its
    number, amounts; source and origin from the lead) and the lead CONVERTED with the sale's id. Send the lead's
    version: of two conversions one wins, the other is a 409.
    """
    return conversion.convert_lead(principal, lead_id, body, idempotency_key)


@blueprint.operation(
    "/conversations/{conversation_id}/lead",
    "POST",
    body=ConversationLeadRequest,
    response=Lead,
    status=201,
    extra_responses=_MERGED,
    permission=Permission.LEADS_WRITE,
    also_requires=(Permission.CONVERSATIONS_READ,),
    module=Module.SALES,
    idempotent=True,
    problems=(404,),
)
def lead_from_conversation(
    conversation_id: str, body: ConversationLeadRequest, principal: Principal, idempotency_key: str | None
) -> Lead | Response:
    """Turn a WhatsApp conversation into a lead

    The contact's name and number come from the conversation; the lead's source is whatsapp and it keeps the
    conversation as its origin (so do its sale and the analytics). The number already on an open lead: that lead,
    filled (200). Needs conversations:read too.
    """
    return _created(service.lead_from_conversation(principal, conversation_id, body, idempotency_key))
