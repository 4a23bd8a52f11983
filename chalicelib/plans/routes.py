"""Plan routes (public)."""

from __future__ import annotations

from chalicelib.core.api import ApiBlueprint
from chalicelib.plans.catalog import PLANS
from chalicelib.plans.models import PlanList

blueprint = ApiBlueprint(__name__, tag="plans")


@blueprint.operation("/plans", response=PlanList)
def list_plans() -> PlanList:
    """List plans

    The plans on offer with their price, limits and modules (public).
    """
    return PlanList(items=list(PLANS))
