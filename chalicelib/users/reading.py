"""A user read by id: what the guard needs of the users capability on every request, without the imports of the
use cases (auth, audit, tenants) that a new container would otherwise pay on its first request."""

from __future__ import annotations

from chalicelib.users import store
from chalicelib.users.models import UserRecord

__all__ = ["find_user", "record_key"]


def find_user(tenant_id: str, user_id: str, *, consistent: bool = False) -> UserRecord | None:
    """The stored user, or None."""
    return store.get_user(tenant_id, user_id, consistent=consistent)


def record_key(tenant_id: str, user_id: str) -> tuple[str, str]:
    """(PK, SK) of the user's record: what the guard reads ahead with the tenant's (``Table.prefetch``)."""
    return store.user_key(tenant_id, user_id)
