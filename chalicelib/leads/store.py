"""Lead items, their lists and index items, and the claims that find an open lead by its email or phone.

A lead is listed on the three GSIs (all by creation, by status, by owner) and through index items
(``core/db/index_items``) by owner and status, and — while it is open and has a follow-up time — in the follow-up
lists of the tenant and of its owner, sorted by that time (the seed's partial index on ``follow_up_date``). An
open lead's email and phone are claimed (``T#<t>#UNIQUE#LEADEMAIL|LEADPHONE#<keyed hash>`` → the lead id), which
is how a second lead with the same contact is found (and refused or merged) without a Scan; a lead that reaches a
final status frees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr

from chalicelib.core.crypto import lookup_hash
from chalicelib.core.db import index_items, keys
from chalicelib.core.db.index_items import Facets
from chalicelib.core.db.keys import Collection, Facet, Kind, UniqueField
from chalicelib.core.db.store import QueryPage, Table, WriteOp, delete_op, put_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, GSI3, PARTITION_KEY, SORT_KEY, strip_storage
from chalicelib.core.personal_data import all_pages
from chalicelib.leads.models import Lead

__all__ = [
    "CONTACTS",
    "ContactField",
    "by_status_keys",
    "claim_op",
    "find_open_lead",
    "get_lead",
    "lead_key",
    "lead_of",
    "lead_pk",
    "leads_of_person",
    "list_follow_ups",
    "list_leads",
    "new_lead_op",
    "owner_keys",
    "owner_leads",
    "ref_ops",
    "release_claim_if_held_op",
    "release_op",
]

LEAD_ENTITY = "Lead"
REF_ENTITY = "LeadRef"
CLAIM_ENTITY = "LeadClaim"
OWNER = Facet.OWNER
_STATUS = Facet.STATUS
_FOLLOW_UP: tuple[str, str] = (Facet.FOLLOW_UP, "DUE")
ContactField = Literal["email", "phone"]
# The lead attribute that holds each claimed contact.
CONTACTS: dict[ContactField, str] = {"email": "contactEmail", "phone": "contactPhone"}
_CLAIMS: dict[ContactField, str] = {"email": UniqueField.LEAD_EMAIL, "phone": UniqueField.LEAD_PHONE}
_FIELDS = frozenset(field.alias or name for name, field in Lead.model_fields.items())


def lead_key(tenant_id: str, lead_id: str) -> tuple[str, str]:
    """(PK, SK) of a lead."""
    return keys.entity_pk(tenant_id, Kind.LEAD, lead_id), keys.META_SK


def lead_of(item: Mapping[str, Any]) -> Lead:
    """The lead in a stored item (storage attributes and the engine's runtime fields left out)."""
    return Lead.model_validate({k: v for k, v in strip_storage(item).items() if k in _FIELDS})


def by_status_keys(tenant_id: str, status: str, created_at: str, lead_id: str) -> dict[str, str]:
    """The GSI2 entry of a lead in the list of its status (moved by every transition)."""
    return {
        GSI2.partition_key: keys.collection_pk(tenant_id, Collection.LEADS, status),
        GSI2.sort_key: keys.time_sk(created_at, lead_id),
    }


def owner_keys(tenant_id: str, created_at: str, lead_id: str, owner_id: str | None) -> dict[str, str | None]:
    """The GSI3 entry of a lead in its owner's list (None values: an unassigned lead is in no owner's list)."""
    if owner_id is None:
        return {GSI3.partition_key: None, GSI3.sort_key: None}
    return {
        GSI3.partition_key: keys.facet_pk(tenant_id, Collection.LEADS, OWNER, owner_id),
        GSI3.sort_key: keys.time_sk(created_at, lead_id),
    }


def _refs(item: Mapping[str, Any] | None) -> dict[Facets, str]:
    """The faceted lists a lead in this state is in, each with the lead's sort key there."""
    if item is None:
        return {}
    lead_id, owner = str(item["id"]), item.get("ownerId")
    entries: dict[Facets, str] = {}
    if owner:
        entries[((OWNER, str(owner)), (_STATUS, str(item["status"])))] = keys.time_sk(str(item["createdAt"]), lead_id)
    follow_up = item.get("followUpAt")
    if follow_up and not item.get("closedAt"):
        due = keys.time_sk(str(follow_up), lead_id)
        entries[(_FOLLOW_UP,)] = due
        if owner:
            entries[((OWNER, str(owner)), _FOLLOW_UP)] = due
    return entries


def ref_ops(tenant_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[WriteOp]:
    """The writes that move a lead's index items from state ``before`` to ``after`` (None: not there)."""
    anchor = after if after is not None else before
    if anchor is None:
        return []
    lead_id = str(anchor["id"])
    return index_items.move_ops(tenant_id, Collection.LEADS, lead_id, _refs(before), _refs(after), entity=REF_ENTITY)


def new_lead_op(lead: Lead, workflow_fields: Mapping[str, Any]) -> list[WriteOp]:
    """Create the lead (with its workflow fields), listed by time, status and owner, and its index items."""
    pk, sk = lead_key(lead.tenant_id, lead.id)
    item: dict[str, Any] = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        ENTITY: LEAD_ENTITY,
        GSI1.partition_key: keys.collection_pk(lead.tenant_id, Collection.LEADS),
        GSI1.sort_key: keys.time_sk(lead.created_at, lead.id),
        **by_status_keys(lead.tenant_id, lead.status, lead.created_at, lead.id),
        **{k: v for k, v in owner_keys(lead.tenant_id, lead.created_at, lead.id, lead.owner_id).items() if v},
        **lead.model_dump(exclude_none=True),
        **workflow_fields,
    }
    return [put_op(item), *ref_ops(lead.tenant_id, None, item)]


def _claim_key(tenant_id: str, field: ContactField, value: str) -> tuple[str, str]:
    # A keyed hash of the normalised value: an email may contain "#", and the table keeps no list of addresses.
    return keys.unique_pk(tenant_id, _CLAIMS[field], lookup_hash(field, value)), keys.UNIQUE_SK


def claim_op(tenant_id: str, field: ContactField, value: str, lead_id: str) -> WriteOp:
    """Claim an email or phone for an open lead; fails the transaction if another open lead has it."""
    pk, sk = _claim_key(tenant_id, field, value)
    return put_op({PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: CLAIM_ENTITY, "leadId": lead_id})


def release_op(tenant_id: str, field: ContactField, value: str) -> WriteOp:
    """Free an email or phone (the lead closed, or its contact changed)."""
    return delete_op(*_claim_key(tenant_id, field, value))


def find_open_lead(tenant_id: str, field: ContactField, value: str) -> str | None:
    """The id of the open lead with this (normalised) email or phone, or None."""
    item = Table().get(*_claim_key(tenant_id, field, value), consistent=True)
    return str(item["leadId"]) if item else None


def get_lead(tenant_id: str, lead_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
    """The stored lead item (with its workflow fields), or None."""
    return Table().get(*lead_key(tenant_id, lead_id), consistent=consistent)


def _target(tenant_id: str) -> Callable[[str], tuple[str, str]]:
    return lambda lead_id: lead_key(tenant_id, lead_id)


def list_leads(
    tenant_id: str,
    *,
    status: str | None,
    owner_id: str | None,
    between: tuple[str, str],
    limit: int,
    start_key: Mapping[str, str] | None,
) -> QueryPage:
    """One page of the tenant's leads, newest first, created in a time range: all, of a status, of an owner, or
    of an owner in a status."""
    if owner_id is not None and status is not None:
        facets: Facets = ((OWNER, owner_id), (_STATUS, status))
        return index_items.query_page(
            tenant_id,
            Collection.LEADS,
            facets,
            _target(tenant_id),
            sort_between=between,
            limit=limit,
            start_key=start_key,
            newest_first=True,
        )
    if owner_id is not None:
        partition, index = keys.facet_pk(tenant_id, Collection.LEADS, OWNER, owner_id), GSI3
    elif status is not None:
        partition, index = keys.collection_pk(tenant_id, Collection.LEADS, status), GSI2
    else:
        partition, index = keys.collection_pk(tenant_id, Collection.LEADS), GSI1
    return Table().query_page(
        partition, index=index, sort_between=between, limit=limit, start_key=start_key, newest_first=True
    )


def list_follow_ups(
    tenant_id: str, owner_id: str | None, due_by: str, limit: int, start_key: Mapping[str, str] | None
) -> QueryPage:
    """One page of the open leads to follow up at or before ``due_by`` (of one owner, or all), soonest first."""
    facets: Facets = ((OWNER, owner_id), _FOLLOW_UP) if owner_id is not None else (_FOLLOW_UP,)
    return index_items.query_page(
        tenant_id,
        Collection.LEADS,
        facets,
        _target(tenant_id),
        sort_between=("0", f"{due_by}~"),
        limit=limit,
        start_key=start_key,
    )


def lead_pk(tenant_id: str, lead_id: str) -> str:
    """The lead's partition (the lead, its status history, audit trail)."""
    return lead_key(tenant_id, lead_id)[0]


def leads_of_person(
    tenant_id: str, customer_id: str | None, emails: Iterable[str], phones: Iterable[str]
) -> list[dict[str, Any]]:
    """The leads of a person: converted into the customer, or with one of their emails or phones. Leads have no
    index by contact once closed, so this reads the tenant's lead list page by page: for the privacy job only (a
    background job), never a request."""
    emails, phones = {e.lower() for e in emails}, set(phones)
    return [
        item
        for item in all_pages(
            lambda start: list_leads(
                tenant_id, status=None, owner_id=None, between=("0", "~"), limit=100, start_key=start
            )
        )
        if (customer_id is not None and item.get("customerId") == customer_id)
        or str(item.get("contactEmail") or "").lower() in emails
        or item.get("contactPhone") in phones
    ]


def owner_leads(tenant_id: str, owner_id: str) -> list[dict[str, Any]]:
    """Every lead the user owns, as stored (for privacy requests: page after page, in a background job)."""
    return list(
        all_pages(
            lambda start: list_leads(
                tenant_id, status=None, owner_id=owner_id, between=("0", "~"), limit=100, start_key=start
            )
        )
    )


def release_claim_if_held_op(tenant_id: str, field: ContactField, value: str, lead_id: str) -> WriteOp:
    """Free an email or phone the lead holds (nothing if another lead holds it)."""
    pk, sk = _claim_key(tenant_id, field, value)
    return delete_op(pk, sk, Attr("leadId").eq(lead_id) | Attr(PARTITION_KEY).not_exists())
