"""Where a tenant's record is, and whether it exists, without loading the tenant's model.

The webhook functions ask whether a tenant named by a request exists (``inbound.tenants.existing_tenant``); this
module is all of the tenants capability they load (no models, plans or money: their assets stay lean, issue 20).
"""

from __future__ import annotations

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table

__all__ = ["tenant_exists", "tenant_key"]


def tenant_key(tenant_id: str) -> tuple[str, str]:
    """(PK, SK) of the tenant's record."""
    return keys.entity_pk(tenant_id, Kind.TENANT, tenant_id), keys.META_SK


def tenant_exists(tenant_id: str) -> bool:
    """Whether the tenant's record exists (one GetItem; nothing of the record is validated or returned)."""
    return Table().get(*tenant_key(tenant_id)) is not None
