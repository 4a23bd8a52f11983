"""Billing use cases of the API: subscribe to a plan or change it, see the subscription, open the customer
portal; the platform operator's lists. What the providers report afterwards is ``lifecycle``'s.

Upgrades apply at once (the provider prorates); downgrades wait for the end of the paid period and are refused
while the tenant has more users or products than the smaller plan allows, naming the limit.
"""

from __future__ import annotations

from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.billing import lifecycle, providers, store
from chalicelib.billing.models import (
    BillingOverview,
    ParkedEvent,
    PortalLink,
    SubscribeRequest,
    SubscriptionListQuery,
    SubscriptionRecord,
    SubscriptionResult,
    SubscriptionSummary,
)
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import unscoped
from chalicelib.core.errors import Conflict, FieldError, InvalidInput
from chalicelib.core.ids import new_id
from chalicelib.core.pagination import Page, PageParams, paginate
from chalicelib.integrations.http import ProviderError, app_error
from chalicelib.plans.catalog import PLANS, get_plan
from chalicelib.plans.models import Plan
from chalicelib.tenants import service as tenants
from chalicelib.tenants.models import PLATFORM_TENANT_ID, TenantRecord

__all__ = ["cancel", "get_overview", "list_parked", "list_subscriptions", "portal_link", "subscribe"]

_INVOICES_SHOWN = 12


def _return_url() -> str:
    settings = get_settings()
    return settings.billing_return_url or f"{settings.app_base_url.rstrip('/')}/billing"


def _call(call: Any) -> Any:
    try:
        return call()
    except ProviderError as exc:
        raise app_error(exc) from exc


def _plan(plan_id: str) -> Plan:
    if plan_id not in {p.id for p in PLANS}:
        raise InvalidInput(
            detail=f"no plan {plan_id!r}", errors=(FieldError("body.planId", "not a plan of GET /plans"),)
        )
    return get_plan(plan_id)


def _check_limits(tenant: TenantRecord, plan: Plan) -> None:
    """Refuse a plan the tenant has outgrown, naming the limit."""
    for used, allowed, limit, what in (
        (tenant.user_count, plan.max_users, "maxUsers", "active users"),
        (tenant.product_count, plan.max_products, "maxProducts", "active products and services"),
    ):
        if used > allowed:
            message = f"{limit}: the company has {used} {what}, the plan {plan.name} allows {allowed}"
            raise Conflict(
                detail=f"{message}; deactivate some first",
                errors=(FieldError("body.planId", message, "plan-limit"),),
                code="plan-limit",
            )


def _rank(plan: Plan, cycle: str) -> tuple[Any, bool]:
    return plan.price.amount, cycle == "yearly"


def _is_upgrade(current: SubscriptionRecord, plan: Plan, cycle: str) -> bool:
    # A dearer plan, or the same plan paid a year ahead, is an upgrade (paid now); anything else waits.
    return _rank(plan, cycle) > _rank(get_plan(current.plan_id), current.cycle)


def subscribe(principal: Principal, body: SubscribeRequest) -> SubscriptionResult:
    """Subscribe to a plan (a checkout to pay at), or change the plan of the live subscription."""
    require(principal, Permission.BILLING_MANAGE)
    plan = _plan(body.plan_id)
    tenant = tenants.load_tenant(principal.tenant_id)
    current = store.get_subscription(principal.tenant_id, consistent=True)
    if current is not None and current.status in lifecycle.LIVE:
        return _change(tenant, current, plan, body)
    _check_limits(tenant, plan)
    if (
        current is not None
        and current.status == "pending"
        and (current.plan_id, current.cycle, current.provider) == (plan.id, body.cycle, body.provider)
        and current.checkout_url
    ):
        return _result(current, "after_payment")  # the same checkout again: nothing new to pay
    if current is not None and current.status == "pending" and not _call(lambda: providers.close_checkout(current)):
        raise Conflict(detail="the open checkout was just paid: its subscription is being confirmed; retry shortly")
    now = clock.now_iso()
    record = SubscriptionRecord(
        id=new_id(),
        tenant_id=tenant.id,
        plan_id=plan.id,
        cycle=body.cycle,
        provider=body.provider,
        status="pending",
        amount=providers.price_of(plan, body.cycle),
        created_at=now,
        updated_at=now,
        version=(current.version + 1) if current else 1,
    )
    lifecycle.save(record, current)
    checkout = _call(lambda: providers.open_checkout(record, plan, principal.email, _return_url()))
    opened = lifecycle.changed(record, checkout_id=checkout.id, checkout_url=checkout.url)
    lifecycle.save(opened, record)
    return _result(opened, "after_payment")


def _result(record: SubscriptionRecord, effective: str, effective_at: str | None = None) -> SubscriptionResult:
    return SubscriptionResult.model_validate(
        {
            "subscriptionId": record.id,
            "status": record.status,
            "planId": record.pending_plan_id or record.plan_id,
            "cycle": record.pending_cycle or record.cycle,
            "provider": record.provider,
            "checkoutUrl": record.checkout_url if record.status == "pending" else None,
            "effective": effective,
            "effectiveAt": effective_at,
        }
    )


def _change(
    tenant: TenantRecord, current: SubscriptionRecord, plan: Plan, body: SubscribeRequest
) -> SubscriptionResult:
    if current.cancel_at is not None:
        raise Conflict(detail=f"the subscription is cancelled and ends {current.cancel_at}; subscribe again after")
    if body.provider != current.provider:
        raise Conflict(
            detail=f"the subscription is paid through {current.provider}; change the plan there (or cancel first)",
            errors=(FieldError("body.provider", f"the subscription's provider is {current.provider}"),),
        )
    if (plan.id, body.cycle) == (current.plan_id, current.cycle):
        if current.pending_plan_id is None:
            raise Conflict(detail=f"already subscribed to {plan.name} ({body.cycle})")
        # Back to the current plan: the downgrade waiting for the period's end is called off.
        _call(lambda: providers.change_price(current, plan, body.cycle, at_once=False))
        kept = lifecycle.changed(current, pending_plan_id=None, pending_cycle=None, pending_effective_at=None)
        lifecycle.save(kept, current)
        return _result(kept, "now")
    if _is_upgrade(current, plan, body.cycle):
        _call(lambda: providers.change_price(current, plan, body.cycle, at_once=True))
        upgraded = lifecycle.changed(
            current,
            plan_id=plan.id,
            cycle=body.cycle,
            amount=providers.price_of(plan, body.cycle),
            pending_plan_id=None,
            pending_cycle=None,
            pending_effective_at=None,
        )
        lifecycle.save(upgraded, current, [lifecycle.status_event(upgraded)])
        lifecycle.reconcile(upgraded)
        return _result(upgraded, "now")
    _check_limits(tenant, plan)
    _call(lambda: providers.change_price(current, plan, body.cycle, at_once=False))
    scheduled = lifecycle.changed(
        current, pending_plan_id=plan.id, pending_cycle=body.cycle, pending_effective_at=current.current_period_end
    )
    lifecycle.save(scheduled, current)
    return _result(scheduled, "period_end", current.current_period_end)


def get_overview(principal: Principal) -> BillingOverview:
    """The caller's plan, subscription, next charge and latest invoices."""
    require(principal, Permission.BILLING_MANAGE)
    tenant = tenants.load_tenant(principal.tenant_id)
    current = store.get_subscription(principal.tenant_id)
    live = current is not None and current.status in lifecycle.LIVE
    next_plan = get_plan(current.pending_plan_id) if current and current.pending_plan_id else None
    next_charge = None
    if current is not None and live:
        next_charge = (
            providers.price_of(next_plan, current.pending_cycle or current.cycle) if next_plan else current.amount
        )
    return BillingOverview.model_validate(
        {
            "planId": tenant.plan_id,
            "tenantStatus": tenant.status,
            "status": current.status if current else "none",
            "subscription": SubscriptionSummary.of(current) if current else None,
            "nextChargeAt": current.current_period_end if current and live else None,
            "nextCharge": next_charge,
            "graceUntil": current.grace_until if current and current.status == "past_due" else None,
            "invoices": store.list_transactions(principal.tenant_id, _INVOICES_SHOWN),
        }
    )


def portal_link(principal: Principal) -> PortalLink:
    """A Stripe customer portal session for the caller's subscription."""
    require(principal, Permission.BILLING_MANAGE)
    current = store.get_subscription(principal.tenant_id)
    if current is None or current.provider != "stripe" or current.provider_customer_id is None:
        raise Conflict(detail="the customer portal is Stripe's: subscribe through Stripe first")
    customer = current.provider_customer_id
    return PortalLink(url=_call(lambda: providers.portal_url(customer, _return_url())))


def cancel(principal: Principal) -> SubscriptionSummary:
    """Cancel the caller's subscription: an open checkout at once; a paid one at the end of its period (Stripe),
    or at once (MercadoPago, whose preapprovals end when cancelled). The provider's event then ends it here and the
    tenant goes back to the default plan."""
    require(principal, Permission.BILLING_MANAGE)
    current = store.get_subscription(principal.tenant_id, consistent=True)
    if current is None or current.status == "canceled":
        raise Conflict(detail="there is no subscription to cancel")
    if current.status == "pending":
        if not _call(lambda: providers.close_checkout(current)):
            raise Conflict(detail="the open checkout was just paid: its subscription is being confirmed; retry shortly")
        ended = lifecycle.changed(current, status="canceled")
        lifecycle.save(ended, current, [lifecycle.status_event(ended)])
        return SubscriptionSummary.of(ended)
    if current.cancel_at is None:
        _call(lambda: providers.cancel(current))
        at = current.current_period_end if current.provider == "stripe" else clock.now_iso()
        ending = lifecycle.changed(current, cancel_at=at or clock.now_iso(), pending_plan_id=None, pending_cycle=None)
        lifecycle.save(ending, current)
        current = ending
    return SubscriptionSummary.of(current)


def list_subscriptions(principal: Principal, query: SubscriptionListQuery) -> Page[SubscriptionSummary]:
    """Every tenant's subscription, newest first, optionally in one status (``past_due``: the tenants behind on
    payment). Platform operators only."""
    require(principal, Permission.PLATFORM_TENANTS)
    with unscoped():  # the platform's list spans every tenant
        return paginate(
            Page[SubscriptionSummary],
            query,
            tenant_id=PLATFORM_TENANT_ID,
            scope=f"platform-subscriptions:{query.status or 'all'}",
            fetch=lambda start: store.list_subscriptions(query.status, query.limit, start),
            convert=SubscriptionSummary.of,
        )


def list_parked(principal: Principal, query: PageParams) -> Page[ParkedEvent]:
    """Billing events that matched no subscription (retried, then parked), newest first. Platform operators."""
    require(principal, Permission.PLATFORM_TENANTS)
    with unscoped():
        return paginate(
            Page[ParkedEvent],
            query,
            tenant_id=PLATFORM_TENANT_ID,
            scope="platform-billing-events",
            fetch=lambda start: store.list_parked(query.limit, start),
            convert=lambda event: event,
        )
