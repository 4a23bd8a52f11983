"""What events say about a lead (its ``snapshot``), so that their consumers (analytics) need not read it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["snapshot"]


def snapshot(item: Mapping[str, Any]) -> dict[str, Any]:
    """What events say about a lead, so that their consumers (analytics) need not read it."""
    data: dict[str, Any] = {"status": item["status"], "source": item["source"], "createdAt": item["createdAt"]}
    names = ("ownerId", "interestServiceId", "estimatedValue", "closedAt", "outcome", "convertedSaleId", "customerId")
    for name in names:
        if item.get(name) is not None:
            data[name] = item[name]
    origin = item.get("origin") or {}
    if origin.get("conversationId"):
        data["conversationId"] = origin["conversationId"]
    return data
