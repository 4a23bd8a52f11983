"""Access routes: the permission matrix."""

from __future__ import annotations

from chalicelib.access.permissions import MATRIX, TENANT_ROLES, Permission
from chalicelib.auth.guard import protected_blueprint
from chalicelib.auth.models import RoleList, RolePermissions

blueprint = protected_blueprint(__name__, tag="access")


@blueprint.operation("/roles", response=RoleList, permission=Permission.ROLES_READ)
def list_roles() -> RoleList:
    """List roles

    Every role of a tenant and the permissions it grants.
    """
    return RoleList(items=[RolePermissions(role=r, permissions=sorted(MATRIX[r])) for r in TENANT_ROLES])
