"""A tenant read by id: what the guard needs of the tenants capability on every request, without the imports of the
use cases (audit, events, plans) that a new container would otherwise pay on its first request."""

from __future__ import annotations

from chalicelib.tenants import store
from chalicelib.tenants.models import TenantRecord

__all__ = ["find_tenant", "record_key"]


def find_tenant(tenant_id: str, *, consistent: bool = False) -> TenantRecord | None:
    """The stored tenant, or None."""
    return store.get_tenant(tenant_id, consistent=consistent)


def record_key(tenant_id: str) -> tuple[str, str]:
    """(PK, SK) of the tenant's record: what the guard reads ahead with the user's (``Table.prefetch``)."""
    return store.tenant_key(tenant_id)
