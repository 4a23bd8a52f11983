"""What events say about a sale (its ``snapshot``), so that their consumers (analytics) need not read it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["snapshot"]


def snapshot(item: Mapping[str, Any]) -> dict[str, Any]:
    """What events say about a sale, so that their consumers need not read it: who, what, how much, from where."""
    amounts = item["amounts"]
    data: dict[str, Any] = {
        "number": item["number"],
        "status": item["status"],
        "assignedTo": item["assignedTo"],
        "customerId": item["customerId"],
        "serviceId": item["serviceId"],
        "source": item["source"],
        "amount": dict(amounts["final"]) if isinstance(amounts, Mapping) else amounts.final.model_dump(),
        "createdAt": item["createdAt"],
    }
    for name in ("closedAt", "outcome"):
        if item.get(name):
            data[name] = item[name]
    origin = item.get("origin") or {}
    for name in ("leadId", "conversationId"):
        if origin.get(name):
            data[name] = origin[name]
    return data
