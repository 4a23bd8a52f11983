"""Access routes: the permission matrix."""

from __future__ import annotations

from chalicelib.access import service
from chalicelib.access.models import RoleList
from chalicelib.access.permissions import Permission
from chalicelib.auth.guard import protected_blueprint

blueprint = protected_blueprint(__name__, tag="access")


@blueprint.operation("/roles", response=RoleList, permission=Permission.ROLES_READ)
def list_roles() -> RoleList:
    """List roles

    Every role of a tenant and the permissions it grants.
    """
    return service.list_roles()
