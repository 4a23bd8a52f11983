"""API Gateway usage plans, one per commercial plan: a steady rate, a burst and a daily request quota.

A tenant's API key is attached to its plan's usage plan (by the billing capability, from the stack output
``UsagePlanId<Plan>``); methods that set ``api_key_required`` are then throttled per tenant. Add a plan with one
line here. The stage-wide throttle (``StageConfig.throttle_rate``) caps all plans together.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["USAGE_PLANS", "UsagePlanDef"]


@dataclass(frozen=True)
class UsagePlanDef:
    """A plan's API allowance: requests per second, burst size, requests per day."""

    id: str
    name: str
    rate: float
    burst: int
    quota_per_day: int


USAGE_PLANS: tuple[UsagePlanDef, ...] = (
    UsagePlanDef("lojista", "Lojista", rate=5.0, burst=10, quota_per_day=10_000),
    UsagePlanDef("empresa", "Empresa", rate=20.0, burst=40, quota_per_day=50_000),
    UsagePlanDef("corporativo", "Corporativo", rate=100.0, burst=200, quota_per_day=500_000),
)
