"""Health report models."""

from __future__ import annotations

from typing import Literal

from chalicelib.core.models import ApiModel

__all__ = ["DependencyHealth", "HealthReport"]


class DependencyHealth(ApiModel):
    """One dependency: reachable or not, and what we saw."""

    name: str
    ok: bool
    detail: str | None = None
    messages: int | None = None
    dead_letters: int | None = None


class HealthReport(ApiModel):
    """The service's health: ``ok`` when every dependency answers, else ``unavailable`` (HTTP 503)."""

    status: Literal["ok", "unavailable"]
    version: str
    stage: str
    table: DependencyHealth
    queues: list[DependencyHealth]
