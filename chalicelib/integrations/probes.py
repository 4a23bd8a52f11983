"""The cheap "who am I" call of each provider, used by ``POST /integrations/{provider}/test``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from chalicelib.core import capabilities
from chalicelib.integrations.credentials import Credentials, Provider

__all__ = ["register", "whoami"]

TenantProbe = Callable[[str, Any], str]
# Probes that need the tenant (an OAuth access token kept next to the integration, refreshed single flight), which
# the capability using the provider registers; the others are the client's ``whoami(credentials)``.
_tenant_probes: dict[Provider, TenantProbe] = {}
# Providers whose client is not ``integrations/<provider>/client.py``: the Conversions API is Graph API, Meta's client.
_CLIENT_MODULES = {Provider.META_CAPI: "chalicelib.integrations.meta.conversions"}


def register(provider: Provider, probe: TenantProbe) -> None:
    """Test ``provider`` with ``probe(tenant id, credentials)`` instead of its client's ``whoami``."""
    _tenant_probes[provider] = probe


def whoami(provider: Provider, credentials: Credentials, tenant_id: str | None = None) -> str:
    """Who the provider says ``credentials`` belong to; raises ``ProviderError`` when it cannot tell."""
    if provider not in _tenant_probes:
        capabilities.load_registrations()  # the capability registering its probe may not be imported yet
    probe = _tenant_probes.get(provider)
    if probe is not None and tenant_id is not None:
        return probe(tenant_id, credentials)
    # Each adapter is imported only when its provider is tested: a Lambda loads what it uses.
    module = importlib.import_module(_CLIENT_MODULES.get(provider, f"chalicelib.integrations.{provider.value}.client"))
    client_probe: Callable[[Any], str] = module.whoami
    return client_probe(credentials)
