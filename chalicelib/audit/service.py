"""Audit entries: built as a transaction write next to each change, and read back for ADMINs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit import store
from chalicelib.audit.models import AuditEntry, AuditQuery
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import WriteOp
from chalicelib.core.db.table import strip_storage
from chalicelib.core.errors import FieldError, InvalidInput
from chalicelib.core.ids import new_id
from chalicelib.core.observability import redact
from chalicelib.core.pagination import Page, paginate

__all__ = ["audit_op", "list_audit", "scrub"]

_VERSIONING = {"version", "updatedAt"}


def scrub(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """``state`` as an audit entry may show it: secrets, hashes and documents masked (the log redaction
    rules), storage attributes and version bookkeeping left out."""
    if state is None:
        return None
    visible = {name: value for name, value in strip_storage(state).items() if name not in _VERSIONING}
    masked: dict[str, Any] = redact(visible)
    return masked


def audit_op(
    actor: Principal,
    action: str,
    kind: Kind,
    entity_id: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    tenant_id: str | None = None,
) -> WriteOp:
    """The transaction write recording that ``actor`` did ``action`` to an entity (in ``tenant_id``)."""
    tenant = tenant_id or actor.tenant_id
    moment = clock.now()
    entry = AuditEntry(
        id=new_id(moment),
        tenant_id=tenant,
        actor_id=actor.user_id,
        action=action,
        entity_type=kind.value.lower(),
        entity_id=entity_id,
        before=scrub(before),
        after=scrub(after),
        request_id=actor.request_id,
        source_ip=actor.source_ip,
        at=clock.isoformat(moment),
    )
    return store.entry_op(entry, kind)


def _bound(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    try:
        return clock.isoformat(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError as exc:
        raise InvalidInput(
            detail=f"{field} is not an ISO 8601 time", errors=(FieldError(f"query.{field}", "not ISO 8601"),)
        ) from exc


def list_audit(principal: Principal, query: AuditQuery) -> Page[AuditEntry]:
    """One page of the tenant's audit log, newest first, filtered by time, actor or entity."""
    require(principal, Permission.AUDIT_READ)
    tenant = principal.tenant_id
    low = _bound(query.from_, "from") or "0"
    high = (_bound(query.to, "to") or "9") + "~"  # "~" sorts after the "#<id>" that follows a timestamp
    if (query.entity_type is None) != (query.entity_id is None):
        raise InvalidInput(
            detail="entityType and entityId go together",
            errors=(FieldError("query.entityId", "give both entityType and entityId"),),
        )
    entity: tuple[Kind, str] | None = None
    if query.entity_type and query.entity_id:
        try:
            entity = (Kind(query.entity_type.upper()), query.entity_id)
        except ValueError as exc:
            raise InvalidInput(
                detail=f"unknown entityType {query.entity_type!r}",
                errors=(FieldError("query.entityType", "unknown entity type"),),
            ) from exc
        scope = f"audit:entity:{entity[0].value}:{entity[1]}"
    elif query.actor_id:
        scope = f"audit:actor:{query.actor_id}"
    else:
        scope = "audit:all"
    return paginate(
        Page[AuditEntry],
        query,
        tenant_id=tenant,
        scope=scope,
        fetch=lambda start: store.list_entries(
            tenant,
            entity=entity,
            actor_id=query.actor_id,
            between=(low, high),
            limit=query.limit,
            start_key=start,
        ),
        convert=lambda entry: entry,
    )
