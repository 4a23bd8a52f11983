"""Timing helpers: run a callable, keep the wall times, summarise them as median and p95 in milliseconds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Summary", "summarise", "timed_ms"]


@dataclass(frozen=True)
class Summary:
    """Wall times of one measured thing, in milliseconds."""

    runs: int
    median: float
    p95: float
    minimum: float


def summarise(samples_ms: Sequence[float]) -> Summary:
    """Median, 95th percentile (nearest rank) and minimum of ``samples_ms``."""
    if not samples_ms:
        raise ValueError("no samples to summarise")
    ordered = sorted(samples_ms)
    rank = max(0, -(-95 * len(ordered) // 100) - 1)  # nearest-rank p95: ceil(0.95 n) - 1
    return Summary(runs=len(ordered), median=statistics.median(ordered), p95=ordered[rank], minimum=ordered[0])


def timed_ms(action: Callable[[], object]) -> float:
    """Wall time of one call of ``action``, in milliseconds."""
    start = time.perf_counter_ns()
    action()
    return (time.perf_counter_ns() - start) / 1e6
