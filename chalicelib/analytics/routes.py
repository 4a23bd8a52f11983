"""Analytics routes."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.analytics import service
from chalicelib.analytics.models import Dashboard, DashboardQuery
from chalicelib.auth.guard import protected_blueprint

blueprint = protected_blueprint(__name__, tag="analytics")


@blueprint.operation(
    "/analytics/dashboard",
    query=DashboardQuery,
    response=Dashboard,
    permission=Permission.ANALYTICS_READ,
    module=Module.ANALYTICS,
)
def get_dashboard(query: DashboardQuery, principal: Principal) -> Dashboard:
    """The sales dashboard

    Revenue, sales count, average ticket, the pipeline by status, the conversion rate of leads into sales, and the
    numbers by source (the WhatsApp conversation channel included), by rep and by service, for a period grouped by
    day, week or month (widened to whole weeks or months). A sales rep sees its own numbers only.
    """
    return service.dashboard(principal, query)
