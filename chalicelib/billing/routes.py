"""Billing routes: the tenant's subscription to its plan (ADMIN; open while the tenant is suspended, so it can pay),
and the platform operator's lists."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.billing import service
from chalicelib.billing.models import (
    BillingOverview,
    ParkedEvent,
    PortalLink,
    SubscribeRequest,
    SubscriptionListQuery,
    SubscriptionResult,
    SubscriptionSummary,
)
from chalicelib.core.pagination import Page, PageParams

blueprint = protected_blueprint(__name__, tag="billing")


@blueprint.operation("/billing", response=BillingOverview, permission=Permission.BILLING_MANAGE, allow_suspended=True)
def get_billing(principal: Principal) -> BillingOverview:
    """Get billing

    The plan, the subscription's status, the next charge and the latest invoices (billing transactions).
    """
    return service.get_overview(principal)


@blueprint.operation(
    "/billing/subscription",
    "POST",
    body=SubscribeRequest,
    response=SubscriptionResult,
    permission=Permission.BILLING_MANAGE,
    allow_suspended=True,
    problems=(409, 502, 503),
)
def subscribe(body: SubscribeRequest, principal: Principal) -> SubscriptionResult:
    """Subscribe or change plan

    Without a live subscription: a checkout at the provider (Stripe Checkout, MercadoPago preapproval) whose URL
    the ADMIN opens to pay; the plan applies once the first payment arrives. With one: a dearer plan (or a yearly
    cycle) applies at once, prorated; a cheaper one at the end of the paid period, refused (409 naming maxUsers or
    maxProducts) while the company has more users or products than it allows.
    """
    return service.subscribe(principal, body)


@blueprint.operation(
    "/billing/subscription",
    "DELETE",
    response=SubscriptionSummary,
    permission=Permission.BILLING_MANAGE,
    allow_suspended=True,
    problems=(409, 502, 503),
)
def cancel_subscription(principal: Principal) -> SubscriptionSummary:
    """Cancel the subscription

    An open checkout is closed at once; a paid Stripe subscription ends at the end of its paid period (``cancelAt``),
    a MercadoPago one at once. Then the company goes back to the plan a signup starts with.
    """
    return service.cancel(principal)


@blueprint.operation(
    "/billing/portal",
    "POST",
    response=PortalLink,
    permission=Permission.BILLING_MANAGE,
    allow_suspended=True,
    problems=(409, 502, 503),
)
def billing_portal(principal: Principal) -> PortalLink:
    """Open the customer portal

    A Stripe customer portal session (change the card, see invoices, cancel); 409 for a subscription that is not
    paid through Stripe.
    """
    return service.portal_link(principal)


@blueprint.operation(
    "/platform/subscriptions",
    query=SubscriptionListQuery,
    response=Page[SubscriptionSummary],
    permission=Permission.PLATFORM_TENANTS,
)
def list_subscriptions(query: SubscriptionListQuery, principal: Principal) -> Page[SubscriptionSummary]:
    """List subscriptions (platform)

    Every tenant's subscription, newest first; ``status=past_due`` lists the tenants behind on payment (with the
    end of their grace period, and when they were suspended). Platform operators only.
    """
    return service.list_subscriptions(principal, query)


@blueprint.operation(
    "/platform/billing/events", query=PageParams, response=Page[ParkedEvent], permission=Permission.PLATFORM_TENANTS
)
def list_billing_events(query: PageParams, principal: Principal) -> Page[ParkedEvent]:
    """List unmatched billing events (platform)

    Provider events that named no subscription: retried, then parked (also in the integrations DLQ, from where a
    redrive runs them again). Platform operators only.
    """
    return service.list_parked(principal, query)
