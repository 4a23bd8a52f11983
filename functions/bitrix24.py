"""Function URL: Bitrix24 events (operator replies, install and uninstall of the app)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.observability import logger
from chalicelib.inbound import bitrix24
from chalicelib.inbound.request import run


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (function URL, payload 2.0)."""
    return run(bitrix24.PROVIDER, bitrix24.handle, event, context)
