"""The gateway's per-channel EMF metrics (namespace ``BTRIX``, dimensions ``service`` and ``channelId``): the
dashboard's gateway widgets find every channel's with ``SEARCH``."""

from __future__ import annotations

import os

from chalicelib.core.observability import MetricUnit

__all__ = ["emit"]


def emit(name: str, channel_id: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """One metric with the channel as its dimension; none while ``POWERTOOLS_METRICS_DISABLED`` is true, as for
    the app's other metrics (``single_metric`` ignores it)."""
    from aws_lambda_powertools.metrics import single_metric
    from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

    if resolve_truthy_env_var_choice(env=os.getenv("POWERTOOLS_METRICS_DISABLED", "false")):
        return
    with single_metric(
        name=name, unit=unit, value=value, namespace="BTRIX", default_dimensions={"service": "btrix"}
    ) as metric:
        metric.add_dimension(name="channelId", value=channel_id)
