"""Function URL: Rappi webhook (a restaurant's new and cancelled Rappi orders)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.observability import logger
from chalicelib.inbound import rappi
from chalicelib.inbound.request import run


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (function URL, payload 2.0)."""
    return run(rappi.PROVIDER, rappi.handle, event, context)
