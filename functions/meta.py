"""Function URL: WhatsApp Cloud API (Meta) webhook: subscription challenge and notifications."""

from __future__ import annotations

from typing import Any

from chalicelib.core.observability import logger
from chalicelib.inbound import meta
from chalicelib.inbound.request import run


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (function URL, payload 2.0)."""
    return run(meta.PROVIDER, meta.handle, event, context, methods=("GET", "POST"))
