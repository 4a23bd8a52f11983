"""Access use cases: what each role of a tenant may do."""

from __future__ import annotations

from chalicelib.access.models import RoleList, RolePermissions
from chalicelib.access.permissions import MATRIX, TENANT_ROLES

__all__ = ["list_roles"]


def list_roles() -> RoleList:
    """Every role of a tenant and the permissions it grants (the matrix of ``permissions.py``)."""
    return RoleList(items=[RolePermissions(role=role, permissions=sorted(MATRIX[role])) for role in TENANT_ROLES])
