"""The events of selling: the catalog and its stock, customers, orders and their payments, appointments, the
marketplace and the company's finance.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.core.money import Money
from chalicelib.webhooks.event_types.base import ChangedData, EventData, EventTypeDef, NamedData, NoData

__all__ = [
    "EVENTS",
    "AppointmentBookedData",
    "AppointmentRescheduledData",
    "ListingPublishedData",
    "LowStockData",
    "MarketOrderData",
    "MovementRecordedData",
    "OrderCreatedData",
    "OrderUpdatedData",
    "PaymentFailedData",
    "PaymentRefundedData",
    "PaymentSucceededData",
    "ProductCreatedData",
    "ProductDeactivatedData",
    "ThresholdSetData",
    "TransactionRecordedData",
]


class ProductCreatedData(EventData):
    """A product or service was added to the catalog."""

    code: str
    kind: Literal["product", "service"]
    name: str
    active: bool


class ProductDeactivatedData(EventData):
    """A product or service left the catalog (it keeps its code)."""

    code: str


class LowStockData(EventData):
    """A product's available stock fell under its threshold."""

    product_id: str
    code: str
    name: str
    available: int
    threshold: int


class ThresholdSetData(EventData):
    """A product's low-stock threshold changed."""

    product_id: str
    threshold: int


class MovementRecordedData(EventData):
    """Units moved in or out of a product's stock."""

    product_id: str
    movement_id: str
    type: Literal["in", "out", "adjust"]
    quantity: int


class OrderCreatedData(EventData):
    """An order was placed."""

    number: int
    total: Money
    channel: str
    customer_id: str | None = None
    assigned_to: str | None = None


class OrderUpdatedData(EventData):
    """An order was reassigned, its notes changed or its payment status moved (only what changed is present)."""

    assigned_to: str | None = None
    notes: str | None = None
    payment_status: Literal["unpaid", "paid", "partially_refunded", "refunded"] | None = None
    shipment_status: str | None = Field(default=None, description="Its label's status at the carrier")
    tracking_code: str | None = None


class AppointmentBookedData(EventData):
    """An appointment was booked."""

    resource_id: str
    starts_at: str
    status: str


class AppointmentRescheduledData(EventData):
    """An appointment moved to another time or resource."""

    resource_id: str
    starts_at: str


class _PaidThing(EventData):
    """What a payment pays: ``orderId`` or ``saleId`` (the other is absent)."""

    order_id: str | None = Field(default=None, description="The order paid (absent when a sale is)")
    sale_id: str | None = Field(default=None, description="The sale paid (absent when an order is)")


class PaymentSucceededData(_PaidThing):
    """A customer paid an order or a sale (what finance records as income). ``duplicateOf``: it was paid already
    by that payment, and BTRIX refunds this one (a ``payment.refunded`` follows)."""

    provider: Literal["stripe", "mercadopago", "pagarme"]
    provider_payment_id: str
    amount: Money
    paid_at: str | None = None
    fee: Money | None = Field(default=None, description="What the provider kept, when it reports it")
    net: Money | None = None
    link_id: str | None = None
    customer_id: str | None = None
    duplicate_of: str | None = None


class PaymentFailedData(_PaidThing):
    """A payment of an order or a sale failed: declined, or not its amount (``amount_mismatch``: it stays unpaid
    and the tenant's admins are told)."""

    provider: Literal["stripe", "mercadopago", "pagarme"]
    provider_payment_id: str
    amount: Money
    reason: str


class PaymentRefundedData(_PaidThing):
    """Money of a payment went back to the customer (asked through the API, made by BTRIX for a second payment,
    or made in the provider's dashboard); ``full`` when nothing of the payment is left."""

    provider: Literal["stripe", "mercadopago", "pagarme"]
    refund_id: str
    amount: Money
    amount_refunded: Money = Field(description="Everything refunded of the payment so far")
    full: bool
    requested_by: str = Field(description="A user id, 'system' (BTRIX by itself) or 'provider' (its dashboard)")
    reason: str | None = None


class ListingPublishedData(EventData):
    """A seller published a product of its catalog on the marketplace."""

    listing_id: str
    product_id: str
    price: Money
    min_quantity: int
    visible: bool


class MarketOrderData(EventData):
    """A marketplace order: the listing, the units, the total, and the other company's name (the seller for the
    buyer's event, the buyer for the seller's)."""

    listing_id: str
    quantity: int
    total: Money
    counterpart: str


class TransactionRecordedData(EventData):
    """An income or expense was recorded (by hand, a transfer, a payout, or from a payment or a paid sale)."""

    code: str
    type: Literal["income", "expense"]
    amount: Money
    category: str
    account_id: str
    source: Literal["manual", "transfer", "payment", "sale", "payout"]


EVENTS: tuple[EventTypeDef, ...] = (
    EventTypeDef("product.created", "A product or service was added to the catalog.", ProductCreatedData),
    EventTypeDef("product.updated", "A product or service changed.", ChangedData),
    EventTypeDef("product.deactivated", "A product or service left the catalog.", ProductDeactivatedData),
    EventTypeDef("category.created", "A category was created.", NamedData),
    EventTypeDef("category.updated", "A category changed.", ChangedData),
    EventTypeDef("category.deleted", "A category was deleted.", NamedData),
    EventTypeDef("brand.created", "A brand was created.", NamedData),
    EventTypeDef("brand.updated", "A brand changed.", ChangedData),
    EventTypeDef("brand.deleted", "A brand was deleted.", NamedData),
    EventTypeDef("inventory.movement_recorded", "Units moved in or out of stock.", MovementRecordedData),
    EventTypeDef("inventory.threshold_set", "A low-stock threshold changed.", ThresholdSetData),
    EventTypeDef("inventory.low_stock", "Available stock fell under its threshold.", LowStockData),
    EventTypeDef("customer.created", "A customer was added.", NoData),
    EventTypeDef("customer.updated", "A customer changed.", ChangedData),
    EventTypeDef("customer.deleted", "A customer was deleted.", NoData),
    EventTypeDef("order.created", "An order was placed.", OrderCreatedData),
    EventTypeDef(
        "order.updated",
        "An order was reassigned, or its notes, payment status or shipment changed.",
        OrderUpdatedData,
    ),
    EventTypeDef("payment.succeeded", "A customer paid an order through a payment link.", PaymentSucceededData),
    EventTypeDef(
        "payment.failed", "A payment of an order failed (declined, or not the order's amount).", PaymentFailedData
    ),
    EventTypeDef("payment.refunded", "Money of a payment went back to the customer.", PaymentRefundedData),
    EventTypeDef("appointment.booked", "An appointment was booked.", AppointmentBookedData),
    EventTypeDef("appointment.rescheduled", "An appointment moved.", AppointmentRescheduledData),
    EventTypeDef("marketplace.listing_published", "A product was published on the marketplace.", ListingPublishedData),
    EventTypeDef("marketplace.listing_updated", "A marketplace listing changed (price, visibility…).", ChangedData),
    EventTypeDef(
        "marketplace.purchase_created",
        "The company bought on the marketplace (stock reserved at the seller).",
        MarketOrderData,
    ),
    EventTypeDef("marketplace.sale_received", "A buyer ordered from one of the company's listings.", MarketOrderData),
    EventTypeDef("finance.account_created", "A bank account was added (finance).", NoData),
    EventTypeDef(
        "finance.transaction_recorded",
        "An income or expense was recorded; its account's balance changed.",
        TransactionRecordedData,
    ),
)
