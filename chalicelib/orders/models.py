"""Order models: what a client sends, what is stored and shown."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.money import MAX_INTEGER_DIGITS, Money, MoneyBelow
from chalicelib.core.pagination import PageParams
from chalicelib.core.patch import Clearable, PatchRequest
from chalicelib.core.personal_data import PERSONAL
from chalicelib.core.references import CheckedInService, Ref
from chalicelib.core.validation import Instant

__all__ = [
    "PLATFORMS",
    "Channel",
    "CreateOrderRequest",
    "FiscalDocument",
    "Order",
    "OrderLine",
    "OrderLineRequest",
    "OrderListQuery",
    "OrderPaymentStatus",
    "OrderRecord",
    "OrderShipment",
    "OrderTotals",
    "Platform",
    "PlatformFee",
    "PlatformLine",
    "PlatformOrder",
    "PlatformOrderDraft",
    "StockState",
    "TransitionRequest",
    "UpdateOrderRequest",
]

Channel = Literal["web", "whatsapp", "pos"]
# The delivery platforms whose orders arrive by themselves (chalicelib/delivery): an order's channel names one.
Platform = Literal["ifood", "rappi"]
PLATFORMS: tuple[Platform, ...] = ("ifood", "rappi")
OrderPaymentStatus = Literal["unpaid", "paid", "partially_refunded", "refunded"]


class OrderLineRequest(ApiModel):
    """One line: a product or service of the catalog and how many."""

    product_id: Annotated[
        EntityId,
        CheckedInService(
            "product", "the order reads each line's product for its price (load_products): 422 naming the line"
        ),
    ]
    quantity: int = Field(ge=1, le=10_000)
    discount: Annotated[Money, MoneyBelow(MAX_INTEGER_DIGITS)] | None = Field(
        default=None, description="Off this line, in the tenant's currency (at most the line's subtotal)"
    )


class CreateOrderRequest(ApiModel):
    """A new order. Prices come from the catalog (a snapshot); send ``Idempotency-Key`` to retry safely."""

    customer_id: Annotated[EntityId | None, Ref("customer")] = None
    channel: Channel = "web"
    items: list[OrderLineRequest] = Field(min_length=1, max_length=50)
    assigned_to: Annotated[EntityId | None, Ref("user")] = Field(
        default=None, description="User id of the staff member"
    )
    notes: str | None = Field(default=None, max_length=2000)


class OrderLine(ApiModel):
    """A line as ordered: the price, name and tax rate of the product at that moment. A delivery platform's line
    that matches no product of the catalog (by its external code) has no ``productId``: its text is kept and the
    order is flagged ``needsReview``."""

    product_id: str | None = None
    external_code: str | None = Field(default=None, description="The platform's code of the item (platform orders)")
    note: str | None = Field(default=None, description="The customer's note on the item (platform orders)")
    code: str
    name: str
    kind: str
    quantity: int
    unit_price: Money
    tax_rate: Decimal
    subtotal: Money
    discount: Money
    tax: Money
    total: Money


class OrderTotals(ApiModel):
    """Sums of the lines."""

    subtotal: Money
    discounts: Money
    tax: Money
    total: Money


class OrderShipment(ApiModel):
    """The label bought for the order (``POST /orders/{id}/shipments``) and where the carrier says it is."""

    provider: str = Field(description="Who sold the label: melhorenvio, correios, jadlog")
    carrier: str = Field(description="The carrier, e.g. Correios, Jadlog")
    service: str = Field(description="The carrier's service, e.g. SEDEX")
    price: Money
    delivery_days: int | None = Field(default=None, description="Working days the carrier quoted")
    quote_id: str
    label_id: str = Field(description="The provider's id of the label")
    label_url: Annotated[str | None, PERSONAL] = Field(
        default=None,
        description="The label's PDF, to print (a kept one's link expires: GET /orders/{id}/shipment/label renews it)",
    )
    label_note: str | None = Field(default=None, description="Why there is no labelUrl (JadLog: print it in its panel)")
    tracking_code: str | None = Field(
        default=None,
        description="The carrier's tracking code (Correios, JadLog: from the label on; MelhorEnvio: once posted)",
    )
    status: str = Field(description="purchased, posted, delivered, undelivered, cancelled")
    purchased_at: str
    updated_at: str
    delivered_at: str | None = None


class PlatformFee(ApiModel):
    """A fee the platform charged on the order (service fee, small-order fee…)."""

    kind: str
    amount: Money


class PlatformOrder(ApiModel):
    """What a delivery platform said of an order placed there: its ids, the customer and address, its totals and
    fees as the platform computed them (BTRIX's ``totals`` are the lines at the platform's prices)."""

    platform: Platform
    order_id: str = Field(description="The platform's id of the order")
    display_id: str | None = Field(default=None, description="The short id the platform shows the store")
    order_type: str | None = Field(default=None, description="DELIVERY, TAKEOUT…")
    delivered_by: str | None = Field(default=None, description="Who delivers: the platform or the merchant")
    customer_id: Annotated[str | None, PERSONAL] = Field(
        default=None, description="The platform's id of its customer (the order's customerId is BTRIX's)"
    )
    customer_name: Annotated[str | None, PERSONAL] = None
    customer_phone: Annotated[str | None, PERSONAL] = Field(
        default=None, description="As the platform gives it (iFood: its own line and a localizer, not the customer's)"
    )
    address: Annotated[str | None, PERSONAL] = None
    total: Money = Field(description="What the customer pays on the platform (items, delivery, fees, less benefits)")
    delivery_fee: Money
    discounts: Money
    fees: list[PlatformFee] = Field(default_factory=empty_list)
    placed_at: str
    cancel_reason: str | None = Field(default=None, description="Why the platform cancelled it")


class FiscalDocument(ApiModel):
    """The NF-e an ERP issued for the order (once SEFAZ authorized it)."""

    provider: str = Field(description="The ERP that issued it, e.g. bling")
    number: str = Field(description="The NF-e number")
    key: str = Field(description="The 44-digit access key (chave de acesso)")
    pdf_url: str | None = Field(default=None, description="The DANFE (PDF) at the ERP")
    issued_at: str


class Order(ApiModel):
    """An order and where it stands in its status flow."""

    id: str
    tenant_id: str
    number: int = Field(description="Sequential per tenant, for people")
    customer_id: Annotated[str | None, PERSONAL] = None
    channel: Channel | Platform
    items: list[OrderLine]
    totals: OrderTotals
    status: str
    workflow_version: int
    assigned_to: str | None = None
    notes: Annotated[str | None, PERSONAL] = None
    created_by: str
    created_at: str
    updated_at: str
    status_changed_at: str | None = None
    payment_status: OrderPaymentStatus = Field(
        default="unpaid", description="Set by the payments capability as the order's payment goes through"
    )
    payment_id: str | None = Field(default=None, description="The payment that paid the order (GET /payments/{id})")
    paid_at: str | None = None
    amount_refunded: Money | None = None
    shipment: OrderShipment | None = Field(default=None, description="The shipping label bought for the order")
    platform: PlatformOrder | None = Field(default=None, description="Orders placed on a delivery platform")
    needs_review: bool = Field(
        default=False, description="Some lines match no product of the catalog (kept as text): check them"
    )
    fiscal_document: FiscalDocument | None = Field(
        default=None, description="The NF-e of the paid order, when the tenant's ERP issues it"
    )
    version: int = 1


StockState = Literal["none", "reserved", "released", "consumed"]
_ORDER_FIELDS = frozenset(Order.model_fields)


class OrderRecord(Order):
    """An order as stored: what the API shows, plus where its stock stands and when it closed (a terminal
    status)."""

    stock_state: StockState = "none"
    closed_at: str | None = None

    def view(self) -> Order:
        """The API view of the stored order: its fields as they are (the lines and amounts, already validated,
        are taken as they are rather than dumped and parsed again, which a page of 25 orders felt)."""
        return Order.model_validate({name: value for name, value in self.__dict__.items() if name in _ORDER_FIELDS})


class OrderListQuery(PageParams):
    """Filters of the order list: one of status or customer, and a creation time range."""

    status: str | None = Field(default=None, max_length=40)
    customer_id: EntityId | None = None
    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None


class UpdateOrderRequest(PatchRequest):
    """Reassign an order or change its notes; ``version`` is the one the client read; null unassigns it or clears
    the notes."""

    version: int = Field(ge=1)
    assigned_to: Annotated[EntityId | None, Clearable(), Ref("user")] = None
    notes: Annotated[str | None, Clearable()] = Field(default=None, max_length=2000)


class TransitionRequest(ApiModel):
    """Move the order to ``to``; ``version`` is the one the client read (a stale one is a 409)."""

    to: str = Field(min_length=1, max_length=40)
    note: str | None = Field(default=None, max_length=1000)
    version: int = Field(ge=1)


class PlatformLine(ApiModel):
    """One line of a platform order as the platform sent it."""

    external_code: str | None = None
    name: str
    quantity: int = Field(ge=1)
    unit_price: Money
    note: str | None = None


class PlatformOrderDraft(ApiModel):
    """A platform order, read from the platform, to become a BTRIX order (``orders.service.create_platform_order``)."""

    platform: PlatformOrder
    lines: list[PlatformLine] = Field(min_length=1)
    notes: str | None = None
