"""Who a request acts as, and the checks services make on it."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.access.permissions import Module, Permission, Role, permissions_of
from chalicelib.core.errors import Forbidden

__all__ = ["Principal", "require", "require_own_or_all"]


@dataclass(frozen=True)
class Principal:
    """An authenticated user of one tenant (or the platform), with the request's origin for audit."""

    user_id: str
    tenant_id: str
    role: Role
    email: str
    modules: frozenset[Module] = field(default_factory=frozenset)
    tenant_active: bool = True
    session_id: str | None = None
    request_id: str | None = None
    source_ip: str | None = None
    # The language the caller reads: the request's Accept-Language, else the tenant's locale (resolved by the guard).
    locale: str | None = None
    # Authenticated by a browser session's access cookie (auth/cookies.py), not an Authorization header.
    browser_session: bool = False

    @property
    def permissions(self) -> frozenset[Permission]:
        """Everything this principal's role may do."""
        return permissions_of(self.role)

    def can(self, permission: Permission) -> bool:
        """Whether the role grants ``permission``."""
        return permission in self.permissions


def require(principal: Principal, permission: Permission) -> None:
    """Raise ``Forbidden`` unless ``principal`` has ``permission``."""
    if not principal.can(permission):
        raise Forbidden(detail=f"role {principal.role.value} lacks permission {permission.value}")


def require_own_or_all(principal: Principal, all_: Permission, own: Permission | None, owner_id: str) -> None:
    """Allow ``all_``, or ``own`` when the principal owns the thing (``owner_id``); else ``Forbidden``."""
    if principal.can(all_):
        return
    if own is not None and principal.can(own) and owner_id == principal.user_id:
        return
    raise Forbidden(detail=f"role {principal.role.value} may not act on what another user owns")
