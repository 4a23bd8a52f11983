"""Audit log route."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.audit.models import AuditEntry, AuditQuery
from chalicelib.audit.service import list_audit
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page

blueprint = protected_blueprint(__name__, tag="audit")


@blueprint.operation("/audit-log", query=AuditQuery, response=Page[AuditEntry], permission=Permission.AUDIT_READ)
def get_audit_log(query: AuditQuery, principal: Principal) -> Page[AuditEntry]:
    """Audit log

    Who changed what and when, newest first; filter by time range, actor, or one entity.
    """
    return list_audit(principal, query)
