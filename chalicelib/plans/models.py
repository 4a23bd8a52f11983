"""Plan models."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.access.permissions import Module
from chalicelib.core.models import ApiModel
from chalicelib.core.money import Money

__all__ = ["Plan", "PlanList"]


class Plan(ApiModel):
    """A subscription plan: what it costs, what it allows."""

    id: str
    name: str
    price: Money
    cycle: Literal["monthly", "yearly"]
    max_users: int
    max_products: int
    max_transactions: int
    max_requests_per_day: int
    requests_per_second: float = Field(
        gt=0, description="The steady request rate the API allows the tenant (a token bucket's refill, per second)"
    )
    request_burst: int = Field(gt=0, description="Requests the API allows the tenant at once above its steady rate")
    assistant_tokens_per_month: int = Field(
        default=0, description="LLM tokens the WhatsApp shop assistant may use a month (then it runs without LLM)"
    )
    modules: list[Module]
    features: list[str]


class PlanList(ApiModel):
    """Every plan on offer."""

    items: list[Plan]
