"""Audit log models."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import PageParams

__all__ = ["AuditEntry", "AuditQuery"]


class AuditEntry(ApiModel):
    """One change: the actor, the action, the entity and its state before and after (secrets removed)."""

    id: str
    tenant_id: str
    actor_id: str
    action: str = Field(examples=["user.created"])
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    request_id: str | None = None
    source_ip: str | None = None
    at: str


class AuditQuery(PageParams):
    """Filters of the audit log: a time range, one actor, or one entity."""

    from_: str | None = Field(default=None, alias="from", description="ISO 8601 start (inclusive)")
    to: str | None = Field(default=None, description="ISO 8601 end (inclusive)")
    actor_id: EntityId | None = None
    entity_type: str | None = Field(default=None, description="With entityId: the trail of one entity")
    entity_id: EntityId | None = None
