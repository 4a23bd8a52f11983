"""Table stream → EventBridge: publishes the outbox's event items (DynamoDB stream event source)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.events import publish_stream_batch


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for the table's stream."""
    return publish_stream_batch(event, context)
