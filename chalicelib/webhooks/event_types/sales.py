"""The events of sales tracking: sales (with their snapshot before and after) and leads."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.core.money import Money
from chalicelib.webhooks.event_types.base import EventData, EventTypeDef
from chalicelib.webhooks.event_types.workflows import StatusChangedData

__all__ = [
    "EVENTS",
    "LeadConvertedData",
    "LeadData",
    "LeadSnapshot",
    "LeadStatusChangedData",
    "LeadUpdatedData",
    "SaleData",
    "SaleInvoiceData",
    "SaleSnapshot",
    "SaleStatusChangedData",
    "SaleUpdatedData",
]


class SaleSnapshot(EventData):
    """A sale as its events describe it: who, what, how much (the final amount), from where."""

    number: str
    status: str
    assigned_to: str
    customer_id: str
    service_id: str
    source: str
    amount: Money = Field(description="The final amount (after discount, with tax)")
    created_at: str
    closed_at: str | None = None
    outcome: Literal["completed", "cancelled"] | None = None
    lead_id: str | None = None
    conversation_id: str | None = None


class SaleData(EventData):
    """A sale was created or deleted."""

    sale: SaleSnapshot


class SaleUpdatedData(EventData):
    """A sale changed: which fields (API names), the sale before and after."""

    changed: list[str]
    before: SaleSnapshot
    sale: SaleSnapshot


class SaleStatusChangedData(StatusChangedData):
    """A sale moved from one status to another; ``outcome`` when it reached a final status."""

    sale: SaleSnapshot
    outcome: Literal["completed", "cancelled"] | None = None


class SaleInvoiceData(EventData):
    """A sale was invoiced (Billy.dk), or it was paid: its invoice, or through a payment link (``paymentId``: that
    payment's own ``payment.succeeded`` carries the money)."""

    sale: SaleSnapshot
    billy_invoice_id: str | None = None
    payment_id: str | None = None


class LeadSnapshot(EventData):
    """A lead as its events describe it: status, owner, source, interest and estimate, origin."""

    status: str
    source: str
    created_at: str
    owner_id: str | None = None
    interest_service_id: str | None = None
    estimated_value: Money | None = None
    closed_at: str | None = None
    outcome: Literal["completed", "cancelled"] | None = None
    converted_sale_id: str | None = None
    customer_id: str | None = None
    conversation_id: str | None = None


class LeadData(EventData):
    """A lead was created."""

    lead: LeadSnapshot


class LeadUpdatedData(EventData):
    """A lead changed (or another lead with its contact was merged into it): which fields, before and after."""

    changed: list[str]
    before: LeadSnapshot
    lead: LeadSnapshot


class LeadStatusChangedData(StatusChangedData):
    """A lead moved from one status to another; ``outcome`` when it reached a final status."""

    owner_id: str | None = None
    lead: LeadSnapshot
    outcome: Literal["completed", "cancelled"] | None = None


class LeadConvertedData(EventData):
    """A lead became a sale: the sale, its customer, and whether the conversion created that customer."""

    lead: LeadSnapshot
    sale_id: str
    customer_id: str
    customer_created: bool


EVENTS: tuple[EventTypeDef, ...] = (
    EventTypeDef("sale.created", "A sale was created.", SaleData),
    EventTypeDef("sale.updated", "A sale changed (customer, service, rep, date, amounts, notes).", SaleUpdatedData),
    EventTypeDef("sale.deleted", "A sale was deleted.", SaleData),
    EventTypeDef("sale.status_changed", "A sale changed status.", SaleStatusChangedData),
    EventTypeDef("sale.invoiced", "A sale's invoice was created (Billy.dk); its payment is pending.", SaleInvoiceData),
    EventTypeDef("sale.paid", "A sale's invoice was paid.", SaleInvoiceData),
    EventTypeDef("lead.created", "A lead was created.", LeadData),
    EventTypeDef("lead.updated", "A lead changed, or a lead with its contact was merged into it.", LeadUpdatedData),
    EventTypeDef("lead.status_changed", "A lead changed status.", LeadStatusChangedData),
    EventTypeDef("lead.converted", "A lead became a sale.", LeadConvertedData),
)
