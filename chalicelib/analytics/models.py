"""Dashboard models: the query and what the sales dashboard shows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.core.money import Money

__all__ = [
    "Dashboard",
    "DashboardQuery",
    "DashboardTotals",
    "GroupBy",
    "PeriodRow",
    "PipelineRow",
    "RepRow",
    "ServiceRow",
    "SourceRow",
]

GroupBy = Literal["day", "week", "month"]


class DashboardQuery(ApiModel):
    """The period (calendar days in the tenant's time zone, widened to whole weeks or months when grouped so) and
    how to group it. Default: the last 30 days, by day."""

    from_: date | None = Field(default=None, alias="from", description="First day, e.g. 2026-05-01")
    to: date | None = Field(default=None, description="Last day (included)")
    group_by: GroupBy = "day"


class DashboardTotals(ApiModel):
    """The period's numbers."""

    sales_count: int = Field(description="Sales created in the period")
    sales_value: Money = Field(description="What they are worth (final amounts)")
    completed_sales: int = Field(description="Sales completed in the period")
    revenue: Money = Field(description="Final amounts of the sales completed in the period")
    average_ticket: Money = Field(description="revenue / completedSales")
    cancelled_sales: int
    leads_created: int
    leads_converted: int = Field(description="Leads converted into sales in the period")
    leads_lost: int
    conversion_rate: Decimal = Field(description="leadsConverted / leadsCreated (0-1, 4 decimals)")


class PeriodRow(ApiModel):
    """One day, week or month of the period."""

    period: date = Field(description="The period's first day")
    sales_count: int
    completed_sales: int
    revenue: Money
    leads_created: int
    leads_converted: int


class PipelineRow(ApiModel):
    """Open sales or leads in one status, now (not bounded by the period)."""

    status: str
    count: int
    value: Money = Field(description="Sales: final amounts; leads: estimated values")


class SourceRow(ApiModel):
    """Sales and leads of one source (web, email, whatsapp — the WhatsApp conversation channel —, phone, referral)."""

    source: str
    sales_count: int
    revenue: Money
    leads_created: int
    leads_converted: int


class RepRow(ApiModel):
    """One rep's numbers (a rep's own dashboard has only itself)."""

    user_id: str
    sales_count: int
    completed_sales: int
    revenue: Money
    leads_created: int
    leads_converted: int


class ServiceRow(ApiModel):
    """A service by revenue in the period."""

    service_id: str
    sales_count: int
    revenue: Money


class Dashboard(ApiModel):
    """The sales dashboard of a period: every number of the caller's scope (all, or a rep's own)."""

    scope: Literal["all", "own"]
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    group_by: GroupBy
    currency: str
    totals: DashboardTotals
    series: list[PeriodRow]
    sales_pipeline: list[PipelineRow]
    leads_pipeline: list[PipelineRow]
    by_source: list[SourceRow]
    by_rep: list[RepRow]
    top_services: list[ServiceRow] = Field(description="The ten services with the most revenue, then sales")
