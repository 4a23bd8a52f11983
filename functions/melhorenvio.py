"""Function URL: MelhorEnvio webhook (status updates of a shop's shipping labels, where its app has a webhook)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.observability import logger
from chalicelib.inbound import melhorenvio
from chalicelib.inbound.request import run


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (function URL, payload 2.0)."""
    return run(melhorenvio.PROVIDER, melhorenvio.handle, event, context)
