"""The events of the company itself: its account and plan, its BTRIX subscription, its users, its exports."""

from __future__ import annotations

from typing import Literal

from chalicelib.access.permissions import Role
from chalicelib.core.money import Money
from chalicelib.exports.models import ExportKind
from chalicelib.tenants.models import BusinessType
from chalicelib.webhooks.event_types.base import ChangedData, EventData, EventTypeDef, NoData

__all__ = [
    "EVENTS",
    "ExportData",
    "SubscriptionPaymentData",
    "SubscriptionStatusData",
    "TenantCreatedData",
    "UserInvitedData",
]


class TenantCreatedData(EventData):
    """A company signed up."""

    business_type: BusinessType


class UserInvitedData(EventData):
    """A user was invited with this role."""

    role: Role


class SubscriptionStatusData(EventData):
    """The company's BTRIX subscription changed status (pending, active, past_due, canceled) or plan."""

    subscription_id: str
    status: Literal["pending", "active", "past_due", "canceled"]
    plan_id: str
    provider: Literal["stripe", "mercadopago"]


class SubscriptionPaymentData(EventData):
    """A charge of the company's BTRIX subscription (an invoice) was paid, or failed."""

    transaction_id: str
    amount: Money
    provider_id: str


class ExportData(EventData):
    """An export finished: its kind, its rows and file size, or why it failed."""

    kind: ExportKind
    rows: int
    file_bytes: int
    error: str | None = None


EVENTS: tuple[EventTypeDef, ...] = (
    EventTypeDef("tenant.created", "A company signed up.", TenantCreatedData),
    EventTypeDef("tenant.updated", "The company's settings changed.", ChangedData),
    EventTypeDef(
        "tenant.suspended",
        "The platform (or billing, after an unpaid grace period) suspended the company.",
        ChangedData,
    ),
    EventTypeDef("tenant.reactivated", "The platform (or a payment) reactivated the company.", ChangedData),
    EventTypeDef("tenant.plan_changed", "The company moved to another plan.", ChangedData),
    EventTypeDef(
        "subscription.status_changed",
        "The company's BTRIX subscription changed status or plan.",
        SubscriptionStatusData,
    ),
    EventTypeDef(
        "subscription.payment_succeeded", "A charge of the BTRIX subscription was paid.", SubscriptionPaymentData
    ),
    EventTypeDef("subscription.payment_failed", "A charge of the BTRIX subscription failed.", SubscriptionPaymentData),
    EventTypeDef("user.invited", "A user was invited.", UserInvitedData),
    EventTypeDef("user.deactivated", "A user was deactivated.", NoData),
    EventTypeDef("export.completed", "An export's file is ready (GET /exports/{id} gives its URL).", ExportData),
    EventTypeDef("export.failed", "An export could not be made.", ExportData),
)
