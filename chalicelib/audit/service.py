"""Audit entries: built as a transaction write next to each change, and read back for ADMINs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.models import AuditEntry, AuditQuery
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind
from chalicelib.core.db.store import Table, WriteOp, put_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, strip_storage
from chalicelib.core.errors import FieldError, InvalidInput
from chalicelib.core.ids import new_id
from chalicelib.core.observability import redact
from chalicelib.core.pagination import Page, paginate

__all__ = ["audit_op", "list_audit", "scrub"]

AUDIT_ENTITY = "AuditEntry"
_CHILD = "AUDIT"
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
    at = clock.isoformat(moment)
    entry_id = new_id(moment)
    sort = keys.time_sk(at, entry_id)
    entry = AuditEntry(
        id=entry_id,
        tenant_id=tenant,
        actor_id=actor.user_id,
        action=action,
        entity_type=kind.value.lower(),
        entity_id=entity_id,
        before=scrub(before),
        after=scrub(after),
        request_id=actor.request_id,
        source_ip=actor.source_ip,
        at=at,
    )
    retention = timedelta(days=get_settings().audit_retention_days)
    return put_op(
        {
            PARTITION_KEY: keys.entity_pk(tenant, kind, entity_id),
            SORT_KEY: keys.child_sk(_CHILD, entry_id),
            GSI1.partition_key: keys.collection_pk(tenant, Collection.AUDIT),
            GSI1.sort_key: sort,
            GSI2.partition_key: keys.collection_pk(tenant, Collection.AUDIT, actor.user_id),
            GSI2.sort_key: sort,
            ENTITY: AUDIT_ENTITY,
            TTL_ATTRIBUTE: clock.to_epoch(moment + retention),
            **entry.model_dump(exclude_none=True),
        }
    )


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
    if query.entity_type and query.entity_id:
        try:
            kind = Kind(query.entity_type.upper())
        except ValueError as exc:
            raise InvalidInput(
                detail=f"unknown entityType {query.entity_type!r}",
                errors=(FieldError("query.entityType", "unknown entity type"),),
            ) from exc
        scope = f"audit:entity:{kind.value}:{query.entity_id}"
        partition, index, sort_prefix, between = keys.entity_pk(tenant, kind, query.entity_id), None, "AUDIT#", None
    elif query.actor_id:
        scope = f"audit:actor:{query.actor_id}"
        partition, index = keys.collection_pk(tenant, Collection.AUDIT, query.actor_id), GSI2
        sort_prefix, between = None, (low, high)
    else:
        scope = "audit:all"
        partition, index, sort_prefix, between = keys.collection_pk(tenant, Collection.AUDIT), GSI1, None, (low, high)
    return paginate(
        Page[AuditEntry],
        query,
        tenant_id=tenant,
        scope=scope,
        fetch=lambda start: Table().query_page(
            partition,
            index=index,
            sort_prefix=sort_prefix,
            sort_between=between,
            limit=query.limit,
            start_key=start,
            newest_first=True,
        ),
        convert=lambda item: AuditEntry.model_validate(strip_storage(item)),
    )
