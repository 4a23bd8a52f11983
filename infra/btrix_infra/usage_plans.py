"""API Gateway usage plans, one per commercial plan: its steady rate, burst and daily request quota.

The allowances are the plans' own (``chalicelib.plans.catalog``: ``requestsPerSecond``, ``requestBurst``,
``maxRequestsPerDay``), so the gateway and the application's own throttle (``chalicelib/core/throttle.py``) cannot
disagree. Each tenant has an API key in its plan's usage plan (``chalicelib/tenants/usage_keys.py``); the authorizer
names it, so a client sends no key. The stage-wide throttle (``StageConfig.throttle_rate``) caps all plans together.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.plans.catalog import PLANS

__all__ = ["USAGE_PLANS", "UsagePlanDef"]


@dataclass(frozen=True)
class UsagePlanDef:
    """A plan's API allowance: requests per second, burst size, requests per day (None: no daily quota)."""

    id: str
    name: str
    rate: float
    burst: int
    quota_per_day: int | None


USAGE_PLANS: tuple[UsagePlanDef, ...] = tuple(
    UsagePlanDef(plan.id, plan.name, plan.requests_per_second, plan.request_burst, plan.max_requests_per_day)
    for plan in PLANS
)
