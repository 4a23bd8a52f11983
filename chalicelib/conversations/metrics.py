"""The gateway's per-channel EMF metrics (namespace ``BTRIX``, dimensions ``service`` and ``channelId``): the
dashboard's gateway widgets find every channel's with ``SEARCH``."""

from __future__ import annotations

from chalicelib.core.observability import MetricUnit, emit_metric

__all__ = ["emit"]


def emit(name: str, channel_id: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """One metric with the channel as its dimension."""
    emit_metric(name, "channelId", channel_id, value, unit)
