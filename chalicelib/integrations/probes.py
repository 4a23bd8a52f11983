"""The cheap "who am I" call of each provider, used by ``POST /integrations/{provider}/test``."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from chalicelib.integrations.models import Credentials, Provider

__all__ = ["whoami"]


def whoami(provider: Provider, credentials: Credentials) -> str:
    """Who the provider says ``credentials`` belong to; raises ``ProviderError`` when it cannot tell."""
    # Each adapter is imported only when its provider is tested: a Lambda loads what it uses.
    module = importlib.import_module(f"chalicelib.integrations.{provider.value}.client")
    probe: Callable[[Any], str] = module.whoami
    return probe(credentials)
