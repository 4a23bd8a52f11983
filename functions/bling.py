"""Function URL: Bling (ERP) webhooks (stock changes of a tenant's Bling account)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.observability import logger
from chalicelib.inbound import bling
from chalicelib.inbound.request import run


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (function URL, payload 2.0)."""
    return run(bling.PROVIDER, bling.handle, event, context)
