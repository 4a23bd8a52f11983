"""Tenant ids that arrive from outside (a provider's metadata, a callback URL): checked before they are used; and
the secret a tenant's own provider account signs its webhooks with."""

from __future__ import annotations

import re

from chalicelib.core.resources import SecretDef, secret_name
from chalicelib.core.secrets import get_secret
from chalicelib.integrations.models import Provider
from chalicelib.integrations.service import find_credentials

__all__ = ["signing_secret", "tenant_id_or_none"]

# The shape of the ids we hand out (ULIDs and the reserved "platform"): letters, digits, "_" and "-". Anything
# else (a "#" that would bend a key, a wildcard) is not one of ours.
_TENANT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def tenant_id_or_none(value: object) -> str | None:
    """``value`` if it has the shape of a tenant id, else None."""
    if isinstance(value, str) and _TENANT_ID.fullmatch(value):
        return value
    return None


def signing_secret(tenant_id: str | None, provider: Provider, platform: SecretDef) -> str:
    """The webhook signing secret of the tenant's own ``provider`` account (its integration's ``webhookSecret``),
    else BTRIX's platform secret. A tenant named by an unsigned part of the request (the URL) is only trusted once
    the signature checks with its own secret."""
    credentials = find_credentials(tenant_id, provider) if tenant_id is not None else None
    own = getattr(credentials, "webhook_secret", None)
    return str(own.get_secret_value()) if own is not None else get_secret(secret_name(platform))
