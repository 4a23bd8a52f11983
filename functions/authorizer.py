"""The REST API's REQUEST authorizer: names the tenant's usage-plan key (``chalicelib/auth/authorizer.py``)."""

from __future__ import annotations

from typing import Any

from chalicelib.auth.authorizer import gateway_authorization


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point of the authorizer."""
    return gateway_authorization(event)
