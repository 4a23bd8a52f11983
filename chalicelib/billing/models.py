"""Billing models: a tenant's subscription to its plan, the charges it made, and what the API shows of them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from chalicelib.core.models import ApiModel
from chalicelib.core.money import Money
from chalicelib.core.pagination import PageParams
from chalicelib.core.references import NotAReference

__all__ = [
    "BillingOverview",
    "BillingProvider",
    "BillingTransaction",
    "Cycle",
    "ParkedEvent",
    "PortalLink",
    "SubscribeRequest",
    "SubscriptionListQuery",
    "SubscriptionRecord",
    "SubscriptionResult",
    "SubscriptionStatus",
    "SubscriptionSummary",
    "TransactionStatus",
]

BillingProvider = Literal["mercadopago", "stripe"]
Cycle = Literal["monthly", "yearly"]
SubscriptionStatus = Literal["pending", "active", "past_due", "canceled"]
TransactionStatus = Literal["pending", "paid", "failed"]


class SubscribeRequest(ApiModel):
    """Subscribe to a plan, or change the plan of the subscription (an upgrade at once, a downgrade at the end of
    the paid period)."""

    plan_id: Annotated[str, NotAReference("a plan of the platform's catalog (GET /plans), not a record of a tenant")]
    cycle: Cycle = "monthly"
    provider: BillingProvider


class SubscriptionSummary(ApiModel):
    """A subscription as the tenant's ADMIN and the platform operator see it."""

    id: str
    tenant_id: str
    plan_id: str
    cycle: Cycle
    provider: BillingProvider
    status: SubscriptionStatus
    amount: Money
    provider_subscription_id: str | None = Field(
        default=None, description="The provider's subscription (Stripe sub_…) or preapproval id, once it exists"
    )
    current_period_end: str | None = None
    pending_plan_id: str | None = Field(default=None, description="A downgrade waiting for the period's end")
    pending_effective_at: str | None = None
    past_due_since: str | None = None
    grace_until: str | None = None
    suspended_at: str | None = Field(default=None, description="When the grace ended and the tenant was suspended")
    cancel_at: str | None = Field(default=None, description="Cancelled by the ADMIN: the subscription ends then")
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, record: SubscriptionSummary) -> SubscriptionSummary:
        """The API view of a stored subscription."""
        return cls.model_validate(record.model_dump(include=set(SubscriptionSummary.model_fields)))


class SubscriptionRecord(SubscriptionSummary):
    """A tenant's subscription as stored (one per tenant: the current one): what the API shows, and the checkout,
    the provider's customer, the downgrade's cycle, the last status event applied and where the newest charge
    applied stands (``last_charge_at``: an older invoice's charge is recorded but moves nothing)."""

    checkout_id: str | None = None
    checkout_url: str | None = None
    provider_customer_id: str | None = None
    pending_cycle: Cycle | None = None
    last_event_at: int = 0
    last_charge_at: str | None = None
    version: int = 1


class SubscriptionResult(ApiModel):
    """What ``POST /billing/subscription`` did: a checkout to pay at (a new subscription), or the plan changed."""

    subscription_id: str
    status: SubscriptionStatus
    plan_id: str
    cycle: Cycle
    provider: BillingProvider
    checkout_url: str | None = Field(
        default=None, description="Where the ADMIN pays (the provider's checkout); null when nothing is to pay now"
    )
    effective: Literal["after_payment", "now", "period_end"] = Field(
        description="When the plan applies: after the first payment, at once (upgrade), at the period's end (downgrade)"
    )
    effective_at: str | None = Field(default=None, description="For a downgrade: the end of the paid period")


class BillingTransaction(ApiModel):
    """One charge of the subscription (an invoice): what was asked, and whether it was paid."""

    id: str
    plan_id: str
    amount: Money
    provider: BillingProvider
    provider_id: str = Field(description="The provider's invoice (Stripe) or authorized payment (MercadoPago)")
    status: TransactionStatus
    paid_at: str | None = None
    failed_at: str | None = None
    created_at: str
    updated_at: str


class BillingOverview(ApiModel):
    """``GET /billing``: the plan, the subscription's state, the next charge and the latest invoices."""

    plan_id: str
    tenant_status: Literal["active", "suspended"]
    status: Literal["none", "pending", "active", "past_due", "canceled"] = Field(
        description="none: on the plan a signup starts with, nothing subscribed"
    )
    subscription: SubscriptionSummary | None = None
    next_charge_at: str | None = None
    next_charge: Money | None = None
    grace_until: str | None = Field(default=None, description="While past due: the day the account is suspended")
    invoices: list[BillingTransaction]


class PortalLink(ApiModel):
    """A Stripe customer portal session: where the ADMIN changes the card, sees invoices or cancels."""

    url: str


class SubscriptionListQuery(PageParams):
    """Filters of the platform's subscription list."""

    status: SubscriptionStatus | None = None


class ParkedEvent(ApiModel):
    """A billing event that matched no subscription: retried, then parked here for the platform operator (the
    integrations DLQ holds it too; a redrive runs it again)."""

    key: str
    provider: str
    event_type: str
    event_id: str
    reason: str
    attempts: int
    parked: bool = Field(description="False while it is still being retried")
    received_at: str
    updated_at: str


BillingOverview.model_rebuild()
