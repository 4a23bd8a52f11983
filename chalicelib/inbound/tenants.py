"""Tenant ids that arrive from outside (a provider's metadata, a callback URL): checked before they are used."""

from __future__ import annotations

import re

__all__ = ["tenant_id_or_none"]

# The shape of the ids we hand out (ULIDs and the reserved "platform"): letters, digits, "_" and "-". Anything
# else (a "#" that would bend a key, a wildcard) is not one of ours.
_TENANT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def tenant_id_or_none(value: object) -> str | None:
    """``value`` if it has the shape of a tenant id, else None."""
    if isinstance(value, str) and _TENANT_ID.fullmatch(value):
        return value
    return None
