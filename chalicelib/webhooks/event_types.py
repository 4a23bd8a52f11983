"""The event catalog: every event type BTRIX emits, with the one declaration of its ``data`` payload.

This module is the single place an event's payload shape is declared. ``GET /webhook-event-types`` publishes a
JSON Schema per type generated from these models; outgoing webhooks normalise each event's data through its model
(money as strings, no storage artefacts); endpoint filters are validated against the catalog. A unit test scans
``chalicelib`` for ``new_event(...)`` calls and fails on a type that is not registered here, or registered here
and emitted nowhere.

Three origins: ``domain`` events are written through the outbox by the capabilities (``new_event``); ``workflow``
events are the ``emit_webhook`` actions of the built-in status flows (a tenant's own flow may emit other names,
matched by wildcard filters such as ``order.*``); ``webhooks`` events are about the webhooks themselves.

One responsibility: the event catalog (one data model per event type, and the lookups over it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from chalicelib.access.permissions import Role
from chalicelib.core.errors import FieldError, InvalidInput
from chalicelib.core.models import ApiModel
from chalicelib.core.money import Money
from chalicelib.exports.models import ExportKind
from chalicelib.tenants.models import BusinessType
from chalicelib.workflows.models import EntityType

__all__ = [
    "ENDPOINT_DISABLED",
    "MESSAGE_ATTEMPT_EXHAUSTED",
    "WEBHOOK_TEST",
    "EndpointDisabledData",
    "EventData",
    "EventTypeDef",
    "MessageAttemptExhaustedData",
    "Origin",
    "WebhookTestData",
    "WorkflowActionData",
    "event_type",
    "event_types",
    "matches",
    "normalize",
    "validate_filters",
]

Origin = Literal["domain", "workflow", "webhooks"]

ENDPOINT_DISABLED = "endpoint.disabled"
MESSAGE_ATTEMPT_EXHAUSTED = "message.attempt.exhausted"
WEBHOOK_TEST = "webhook.test"


class EventData(ApiModel):
    """Base of every event payload: camelCase, and no field the declaration does not name."""


class NoData(EventData):
    """Nothing beyond the event's subject (the entity id)."""


class ChangedData(EventData):
    """Which fields changed (their API names); read the entity for the new values."""

    changed: list[str]


class NamedData(EventData):
    """The name of the category or brand."""

    name: str


class TenantCreatedData(EventData):
    """A company signed up."""

    business_type: BusinessType


class UserInvitedData(EventData):
    """A user was invited with this role."""

    role: Role


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


class WorkflowUpdatedData(EventData):
    """A tenant's status flow for an entity type got a new version."""

    entity_type: EntityType
    version: int
    customized: bool


class StatusChangedData(EventData):
    """An entity moved from one status to another (by a user, by a timer, by a confirmed payment, or by the carrier's
    tracking of its shipping label)."""

    entity_type: EntityType
    from_: str = Field(alias="from")
    to: str
    actor_id: str = Field(description="The user who made the change, or 'system' for a timer or a payment")
    trigger: Literal["user", "timer", "payment", "shipped", "delivered"]
    note: str | None = None
    version: int = Field(description="The entity's version after the change")
    at: str
    customer_id: str | None = None
    assigned_to: str | None = None
    channel: str | None = Field(default=None, description="Orders: where the order came from (web, ifood, rappi…)")
    outcome: Literal["completed", "cancelled"] | None = Field(
        default=None, description="Orders: how the order ended, when the new status is a terminal one"
    )


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


class ExportData(EventData):
    """An export finished: its kind, its rows and file size, or why it failed."""

    kind: ExportKind
    rows: int
    file_bytes: int
    error: str | None = None


class NotificationRequestedData(EventData):
    """A message was requested (it is sent by the notifications worker)."""

    notification_id: str
    channel: Literal["email", "sms", "whatsapp", "push"]
    template: str | None = Field(description="The template's key; null for a message with its own text")


class NotificationStatusData(EventData):
    """A notification was sent, delivered, read, or failed (the provider's report, or the last failed attempt)."""

    notification_id: str
    channel: Literal["email", "sms", "whatsapp", "push"]
    template: str | None = None
    to: str | None = Field(default=None, description="The recipient as addressed: customer:<id>, user:<id>, role:ADMIN")
    provider: str | None = Field(default=None, description="Who carried it: ses, smtp, twilio, meta, webpush")


class ConversationMessageData(EventData):
    """A WhatsApp message of a conversation was received from the customer, or sent to them."""

    conversation_id: str
    channel_id: str
    message_id: str
    type: str = Field(description="text, image, audio, video, document, sticker, location, contacts, …")


class ChannelData(EventData):
    """A channel of the WhatsApp gateway (a number or a Bitrix24 portal) was connected, changed or removed."""

    kind: Literal["whatsapp", "bitrix24"]
    name: str
    phone_number_id: str | None = None
    domain: str | None = Field(default=None, description="A portal's host name")
    reason: str | None = Field(default=None, description="Why a portal was disconnected")


class IntegrationData(EventData):
    """An integration with a provider was connected, changed or disconnected (never its credentials)."""

    provider: str
    reason: str | None = Field(
        default=None, description="Why the provider disconnected it (a refused refresh token); absent for an ADMIN's"
    )


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


class WorkflowActionData(EventData):
    """An entity entered a status whose flow emits this event (``emit_webhook`` action)."""

    entity_type: str
    entity_id: str
    status: str
    at: str = Field(description="When the entity entered the status")


class EndpointDisabledData(EventData):
    """A webhook endpoint was disabled by BTRIX: it answered 410 Gone, or failed for 5 days in a row."""

    endpoint_id: str
    url: str
    reason: Literal["gone", "failing"]
    failing_since: str | None = None


class MessageAttemptExhaustedData(EventData):
    """A message could not be delivered to an endpoint after its last scheduled attempt."""

    endpoint_id: str
    message_id: str
    event_type: str
    attempts: int
    last_status: int | None = Field(default=None, description="HTTP status of the last answer; null: no answer")


class WebhookTestData(EventData):
    """A test message sent on request to check an endpoint."""

    endpoint_id: str
    message: str


@dataclass(frozen=True)
class EventTypeDef:
    """One event type: its name (``order.created``), what it means, the model of its data, and its origin."""

    name: str
    description: str
    data: type[EventData]
    origin: Origin = "domain"


# Entity types whose status events carry more than the engine's fields (declared with their own model below).
_OWN_STATUS_EVENTS = frozenset({EntityType.SALE, EntityType.LEAD})

_DOMAIN: tuple[EventTypeDef, ...] = (
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
    EventTypeDef("workflow.updated", "A status flow got a new version.", WorkflowUpdatedData),
    *(
        EventTypeDef(f"{entity.value}.status_changed", f"A {entity.value} changed status.", StatusChangedData)
        for entity in EntityType
        if entity not in _OWN_STATUS_EVENTS
    ),
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
    EventTypeDef("export.completed", "An export's file is ready (GET /exports/{id} gives its URL).", ExportData),
    EventTypeDef("export.failed", "An export could not be made.", ExportData),
    EventTypeDef("notification.requested", "A message was requested.", NotificationRequestedData),
    EventTypeDef("notification.sent", "A message left BTRIX through its provider.", NotificationStatusData),
    EventTypeDef("notification.delivered", "The provider reported a message delivered.", NotificationStatusData),
    EventTypeDef("notification.read", "The provider reported a message read.", NotificationStatusData),
    EventTypeDef("notification.failed", "A message could not be delivered.", NotificationStatusData),
    EventTypeDef("message.received", "A customer wrote on WhatsApp (gateway).", ConversationMessageData),
    EventTypeDef("message.sent", "A message left for a customer on WhatsApp (gateway).", ConversationMessageData),
    EventTypeDef("channel.created", "A WhatsApp number or a Bitrix24 portal was added to the gateway.", ChannelData),
    EventTypeDef("channel.updated", "A gateway channel changed (name, portal mapping, template).", ChangedData),
    EventTypeDef("channel.deleted", "A gateway channel was removed.", ChannelData),
    EventTypeDef("channel.connected", "A Bitrix24 portal installed the app and is connected.", ChannelData),
    EventTypeDef(
        "channel.disconnected", "A Bitrix24 portal was disconnected (uninstalled, or it refused the app).", ChannelData
    ),
    EventTypeDef("integration.connected", "An integration was connected.", IntegrationData),
    EventTypeDef("integration.updated", "An integration's settings or credentials changed.", IntegrationData),
    EventTypeDef("integration.disconnected", "An integration was disconnected.", IntegrationData),
    EventTypeDef(
        ENDPOINT_DISABLED, "A webhook endpoint was disabled (410 Gone, or 5 days of failures).", EndpointDisabledData
    ),
    EventTypeDef(
        MESSAGE_ATTEMPT_EXHAUSTED,
        "A message was not delivered to an endpoint after its last attempt.",
        MessageAttemptExhaustedData,
    ),
)

_WEBHOOKS: tuple[EventTypeDef, ...] = (
    EventTypeDef(WEBHOOK_TEST, "A test message (POST /webhook-endpoints/{id}/test).", WebhookTestData, "webhooks"),
)


def _workflow_events() -> Iterable[EventTypeDef]:
    from chalicelib.workflows.defaults import all_defaults

    entered: dict[str, list[str]] = {}
    for _, definition in all_defaults():
        for status in definition.statuses:
            for action in status.on_enter:
                if action.kind == "emit_webhook":
                    entered.setdefault(action.event, [])
                    if status.name not in entered[action.event]:
                        entered[action.event].append(status.name)
    for name, statuses in sorted(entered.items()):
        where = " or ".join(statuses)
        yield EventTypeDef(name, f"Built-in flows: the entity entered {where}.", WorkflowActionData, "workflow")


@cache
def _registry() -> dict[str, EventTypeDef]:
    registry: dict[str, EventTypeDef] = {}
    for definition in (*_DOMAIN, *_WEBHOOKS, *_workflow_events()):
        if definition.name in registry:
            raise ValueError(f"event type {definition.name} is declared twice")
        registry[definition.name] = definition
    return registry


def event_types() -> list[EventTypeDef]:
    """Every event type, sorted by name."""
    return sorted(_registry().values(), key=lambda d: d.name)


def event_type(name: str) -> EventTypeDef | None:
    """The declaration of ``name``, or None for a type the catalog does not know (a tenant's own flow event)."""
    return _registry().get(name)


def matches(filters: Iterable[str], name: str) -> bool:
    """Whether an endpoint with ``filters`` receives events of type ``name`` (no filters: every event).

    A filter is a type (``order.created``) or a prefix ending in ``.*`` (``order.*``: every ``order.`` type).
    """
    listed = list(filters)
    if not listed:
        return True
    return any(f == name or (f.endswith(".*") and name.startswith(f[:-1])) for f in listed)


def validate_filters(filters: Iterable[str], field: str = "body.eventTypes") -> list[str]:
    """``filters`` without duplicates, each a catalog type or a wildcard matching at least one; else 422."""
    known = [d.name for d in event_types()]
    errors: list[FieldError] = []
    unique: list[str] = []
    for i, value in enumerate(filters):
        valid = any(n.startswith(value[:-1]) for n in known) if value.endswith(".*") else value in known
        if not valid:
            errors.append(FieldError(f"{field}[{i}]", "not an event type of GET /webhook-event-types", "unknown-event"))
        elif value not in unique:
            unique.append(value)
    if errors:
        raise InvalidInput(detail=f"{len(errors)} unknown event type(s)", errors=tuple(errors))
    return unique


def normalize(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any] | None:
    """``data`` as its declared model renders it (only the fields present), or None when it does not fit."""
    try:
        parsed = model.model_validate(dict(data))
    except ValidationError:
        return None
    rendered: dict[str, Any] = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return rendered
