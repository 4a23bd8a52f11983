"""Logging, metrics and (optional) tracing: one Logger and one Metrics object for the process."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.core.config import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

__all__ = ["MetricUnit", "logger", "metrics", "tracer"]

# Powertools reads POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL / POWERTOOLS_METRICS_NAMESPACE itself;
# the defaults here keep local runs and tests readable without them.
logger = Logger(service="btrix")
metrics = Metrics(namespace="BTRIX", service="btrix")


@cache
def tracer() -> Tracer | None:
    """The X-Ray tracer when tracing is enabled, else None (the SDK is imported only then)."""
    if not get_settings().tracing:
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service="btrix")
