"""Access models: the permission matrix as the API shows it."""

from __future__ import annotations

from chalicelib.access.permissions import Permission, Role
from chalicelib.core.models import ApiModel

__all__ = ["RoleList", "RolePermissions"]


class RolePermissions(ApiModel):
    """One role and its permissions."""

    role: Role
    permissions: list[Permission]


class RoleList(ApiModel):
    """The permission matrix."""

    items: list[RolePermissions]
