"""Function URL: iFood webhook (a restaurant's iFood order events, where its iFood application has a webhook)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.observability import logger
from chalicelib.inbound import ifood
from chalicelib.inbound.request import run


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (function URL, payload 2.0)."""
    return run(ifood.PROVIDER, ifood.handle, event, context)
