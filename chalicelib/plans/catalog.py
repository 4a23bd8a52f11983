"""The plans on offer. They live in code, versioned and reviewed with it: changing a price is a deploy.

A plan's request allowance (``requests_per_second``, ``request_burst``, ``max_requests_per_day``) is enforced per
tenant by API Gateway (infra makes one usage plan of each plan) and, the same rate and burst, by the application
itself (``core/throttle.py``). The burst is sized for a dashboard's first page load, which fires its requests at
once: about 12 on the smallest plan (the shell: me, tenant, billing, workflows, notifications; the home page's lists:
orders, products, categories, inventory, customers, payments, users), so Lojista's 30 lets both its users
open the app at the same moment; the steady rate is what a person clicking around needs (docs/SECURITY.md).
"""

from __future__ import annotations

from chalicelib.access.permissions import Module
from chalicelib.core.errors import NotFound
from chalicelib.core.money import Money
from chalicelib.plans.models import Plan

__all__ = ["DEFAULT_PLAN_ID", "PLANS", "get_plan"]

M = Module
_ESSENTIALS = [M.CATALOG, M.INVENTORY, M.ORDERS, M.NOTIFICATIONS, M.PAYMENTS]

PLANS: tuple[Plan, ...] = (
    Plan(
        id="lojista",
        name="Lojista",
        price=Money.of("49.90", "BRL"),
        cycle="monthly",
        max_users=2,
        max_products=100,
        max_transactions=500,
        max_requests_per_day=10_000,
        requests_per_second=5.0,
        request_burst=30,
        modules=_ESSENTIALS,
        features=["whatsapp"],
    ),
    Plan(
        id="empresa",
        name="Empresa",
        price=Money.of("149.90", "BRL"),
        cycle="monthly",
        max_users=5,
        max_products=500,
        max_transactions=2_000,
        max_requests_per_day=50_000,
        requests_per_second=20.0,
        request_burst=40,
        modules=[
            *_ESSENTIALS,
            M.APPOINTMENTS,
            M.WEBHOOKS,
            M.INTEGRATIONS,
            M.WHATSAPP,
            M.SALES,
            M.ANALYTICS,
            M.FINANCE,
        ],
        features=["whatsapp", "api_access"],
    ),
    Plan(
        id="corporativo",
        name="Corporativo",
        price=Money.of("499.90", "BRL"),
        cycle="monthly",
        max_users=50,
        max_products=10_000,
        max_transactions=50_000,
        max_requests_per_day=500_000,
        requests_per_second=100.0,
        request_burst=200,
        assistant_tokens_per_month=2_000_000,
        modules=list(Module),
        features=["whatsapp", "api_access", "priority_support", "audit_export"],
    ),
)

DEFAULT_PLAN_ID = "lojista"


def get_plan(plan_id: str) -> Plan:
    """The plan ``plan_id``; ``NotFound`` if there is none."""
    for plan in PLANS:
        if plan.id == plan_id:
            return plan
    raise NotFound(detail=f"no plan {plan_id!r}")
