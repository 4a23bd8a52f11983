"""Table stream → EventBridge: publishes the outbox's event items (DynamoDB stream event source)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.events import publish_stream_batch
from chalicelib.core.observability import logger, metrics


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for the table's stream."""
    return publish_stream_batch(event, context)
