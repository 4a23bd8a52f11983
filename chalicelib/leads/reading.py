"""Reading leads: who may see or change one (a rep: its own), one lead, the lists (by status and owner, the
follow-ups due) and its history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core import clock
from chalicelib.core.errors import Forbidden, NotFound, invalid_field
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.leads import store
from chalicelib.leads.models import Lead, LeadListQuery
from chalicelib.workflows import engine
from chalicelib.workflows.models import HistoryEntry

__all__ = ["ENTITY_TYPE", "get_lead", "lead_history", "list_leads", "load_item", "may_read", "may_write"]

ENTITY_TYPE = "lead"


def _owns(principal: Principal, item: Mapping[str, Any]) -> bool:
    return item.get("ownerId") == principal.user_id


def may_read(principal: Principal, item: Mapping[str, Any]) -> None:
    """Refuse (403) a rep a lead it does not own."""
    if principal.can(Permission.LEADS_READ_ALL):
        return
    require(principal, Permission.LEADS_READ_OWN)
    if not _owns(principal, item):
        raise Forbidden(detail="this role sees only the leads it owns")


def may_write(principal: Principal, item: Mapping[str, Any]) -> None:
    """Refuse (403) a role without ``leads:write``, or a lead the caller may not read in full."""
    require(principal, Permission.LEADS_WRITE)
    may_read(principal, item)


def load_item(tenant_id: str, lead_id: str, *, consistent: bool = False) -> dict[str, Any]:
    """The lead's stored item (404 when there is none)."""
    item = store.get_lead(tenant_id, lead_id, consistent=consistent)
    if item is None:
        raise NotFound(detail=f"no lead {lead_id}")
    return item


def get_lead(principal: Principal, lead_id: str) -> Lead:
    """One lead (a rep: only its own)."""
    item = load_item(principal.tenant_id, lead_id)
    may_read(principal, item)
    return store.lead_of(item)


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
                raise invalid_field(f"query.{name.rstrip('_')}", "not together with followUpDue (open leads only)")
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
        raise invalid_field("query.from", "must not be after to")
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
    may_read(principal, load_item(principal.tenant_id, lead_id))
    return engine.history(principal.tenant_id, ENTITY_TYPE, lead_id, params)
