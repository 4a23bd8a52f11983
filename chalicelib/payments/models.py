"""Payment models: the ledger (payments and their refunds), payment links, what clients send, and the
provider-neutral shapes the provider adapters (``payments/providers/``) exchange with the service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.money import Money
from chalicelib.core.pagination import PageParams
from chalicelib.core.references import CheckedInService
from chalicelib.core.validation import Instant

__all__ = [
    "LINK_MINUTES_DEFAULT",
    "LINK_MINUTES_MAX",
    "LINK_MINUTES_MIN",
    "Checkout",
    "CheckoutClosed",
    "CheckoutRequest",
    "CreatePaymentLinkRequest",
    "LinkStatus",
    "Notice",
    "PayableKind",
    "Payment",
    "PaymentLink",
    "PaymentLinkQuery",
    "PaymentListQuery",
    "PaymentNotice",
    "PaymentProvider",
    "PaymentStatus",
    "ProviderPayment",
    "ProviderRefund",
    "Refund",
    "RefundNotice",
    "RefundRequest",
    "RefundStatus",
    "paid_ids",
    "payable_of",
]

# Providers behind the one interface of ``payments/providers/``.
PaymentProvider = Literal["stripe", "mercadopago", "pagarme"]
PaymentStatus = Literal["pending", "succeeded", "failed", "refunded", "partially_refunded"]
RefundStatus = Literal["pending", "succeeded", "failed"]
LinkStatus = Literal["open", "used", "expired"]
# What a payment or a link pays: an order, or a sale (``payments/payables.py``); exactly one of the two ids is set.
PayableKind = Literal["order", "sale"]

# Stripe Checkout accepts 30 minutes to 24 hours; MercadoPago any expiry: the API keeps to Stripe's window.
LINK_MINUTES_MIN = 30
LINK_MINUTES_MAX = 24 * 60
LINK_MINUTES_DEFAULT = 60


class Refund(ApiModel):
    """Money given back from a payment: asked through the API, made automatically, or in the provider's dashboard."""

    id: str = Field(description="BTRIX's id of the refund (also its idempotency key at the provider)")
    provider_refund_id: str | None = None
    amount: Money
    status: RefundStatus
    reason: str | None = None
    requested_by: str = Field(
        description="The user who asked for it; 'system' when BTRIX refunded by itself (a second payment of an "
        "order), 'provider' when it was made in the provider's dashboard"
    )
    error: str | None = None
    created_at: str
    updated_at: str


class _Pays(ApiModel):
    """What a payment or a link pays: ``order_id`` or ``sale_id``."""

    order_id: str | None = Field(default=None, description="The order it pays (null when it pays a sale)")
    sale_id: str | None = Field(default=None, description="The sale it pays (null when it pays an order)")

    @property
    def payable(self) -> tuple[PayableKind, str]:
        """(kind, id) of what it pays."""
        return payable_of(self.order_id, self.sale_id)


def payable_of(order_id: str | None, sale_id: str | None) -> tuple[PayableKind, str]:
    """(kind, id) of what ``order_id`` or ``sale_id`` (one is set) names."""
    return ("order", order_id) if order_id is not None else ("sale", str(sale_id))


def paid_ids(payable: tuple[PayableKind, str]) -> tuple[str | None, str | None]:
    """(order id, sale id) of what a payment or a link pays: one of the two is None."""
    kind, payable_id = payable
    return (payable_id, None) if kind == "order" else (None, payable_id)


class Payment(_Pays):
    """One payment of an order or a sale at a provider, and what happened to it since."""

    id: str
    tenant_id: str
    link_id: str | None = None
    provider: PaymentProvider
    provider_payment_id: str = Field(
        description="Stripe payment intent (pi_…), MercadoPago payment id or Pagar.me charge (ch_…)"
    )
    provider_checkout_id: str | None = Field(
        default=None, description="Checkout Session (cs_…), preference id or Pagar.me order (or_…)"
    )
    status: PaymentStatus
    amount: Money
    amount_refunded: Money
    fee: Money | None = Field(default=None, description="What the provider kept, when it reports it")
    net: Money | None = None
    failure_reason: str | None = None
    captured: bool = Field(
        default=False, description="Whether the provider holds the money (a failed payment may: amount mismatch)"
    )
    duplicate_of: str | None = Field(
        default=None, description="The payment that had already paid the order (this one was refunded by BTRIX)"
    )
    refunds: list[Refund] = Field(default_factory=empty_list)
    paid_at: str | None = None
    created_at: str
    updated_at: str
    version: int = 1

    def refundable(self) -> Money:
        """What can still be given back (refunds pending or done count as given)."""
        given = sum((r.amount for r in self.refunds if r.status != "failed"), Money.zero(self.amount.currency))
        return self.amount - given if self.captured else Money.zero(self.amount.currency)


class PaymentLink(_Pays):
    """A single-use link a customer opens to pay an order or a sale (``/pay/<token>`` → the provider's checkout)."""

    id: str
    tenant_id: str
    provider: PaymentProvider
    status: LinkStatus
    amount: Money
    locale: str = Field(description="The customer's language: of the checkout and of BTRIX's own pages")
    valid_until: str = Field(description="When the link stops working")
    provider_checkout_id: str
    checkout_url: str | None = Field(default=None, exclude=True, description="Kept, never shown: /pay sends there")
    created_by: str
    created_at: str
    updated_at: str
    used_at: str | None = None
    payment_id: str | None = None
    expired_reason: Literal["replaced", "timeout", "order_closed", "provider"] | None = None
    url: str | None = Field(
        default=None,
        description="The link to send the customer: in the answer of the create only (BTRIX keeps only a hash of "
        "its token)",
    )


class _OnePayable(ApiModel):
    """A request naming one order or one sale (one of ``orderId``, ``saleId``)."""

    order_id: EntityId | None = None
    sale_id: EntityId | None = None

    @model_validator(mode="after")
    def _one_payable(self) -> Self:
        if (self.order_id is None) == (self.sale_id is None):
            raise ValueError("give one of orderId and saleId")
        return self

    @property
    def payable(self) -> tuple[PayableKind, str]:
        """(kind, id) of the order or sale named."""
        return payable_of(self.order_id, self.sale_id)


class CreatePaymentLinkRequest(_OnePayable):
    """A payment link for an order or a sale (one of ``orderId``, ``saleId``); it replaces (expires) the previous
    link of the same order or sale."""

    order_id: Annotated[
        EntityId | None,
        CheckedInService(
            "order", "the link reads the order for its total through its owner (payables): 422 naming body.orderId"
        ),
    ] = None
    sale_id: Annotated[
        EntityId | None,
        CheckedInService(
            "sale", "the link reads the sale for its total through its owner (payables): 422 naming body.saleId"
        ),
    ] = None
    provider: PaymentProvider | None = Field(
        default=None,
        description="Default: the tenant's connected provider (Stripe first, then MercadoPago, then Pagar.me)",
    )
    expires_in_minutes: int = Field(default=LINK_MINUTES_DEFAULT, ge=LINK_MINUTES_MIN, le=LINK_MINUTES_MAX)


class PaymentLinkQuery(PageParams, _OnePayable):
    """The links of one order or one sale (one of ``orderId``, ``saleId``), newest first."""


class PaymentListQuery(PageParams):
    """Payments newest first; narrow by ONE of status, provider, order or sale, and by creation time."""

    status: PaymentStatus | None = None
    provider: PaymentProvider | None = None
    order_id: EntityId | None = None
    sale_id: EntityId | None = None
    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None

    @model_validator(mode="after")
    def _one_narrowing(self) -> Self:
        names = {"status": "status", "provider": "provider", "order_id": "orderId", "sale_id": "saleId"}
        narrowing = [shown for name, shown in names.items() if getattr(self, name) is not None]
        if len(narrowing) > 1:
            raise ValueError(f"narrow by one of status, provider, orderId, saleId (got {', '.join(narrowing)})")
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise ValueError("to is before from")
        return self

    @property
    def payable(self) -> tuple[PayableKind, str] | None:
        """(kind, id) when the list is of one order's or one sale's payments."""
        if self.order_id is not None:
            return "order", self.order_id
        return None if self.sale_id is None else ("sale", self.sale_id)


class RefundRequest(ApiModel):
    """Give money back: ``amount`` (in the payment's currency) for a partial refund, none for all that is left."""

    amount: Money | None = None
    reason: str = Field(min_length=1, max_length=500)


# --- what the service and the provider adapters exchange ------------------------------------------------------


@dataclass(frozen=True)
class CheckoutRequest:
    """A checkout to open at a provider for a link. ``reference`` names the link in the provider's records
    (metadata / external reference) so that its payments find their way back."""

    tenant_id: str
    link_id: str
    payable_kind: PayableKind
    payable_id: str
    title: str
    amount: Money
    locale: str
    expires_at: datetime
    reference: str
    success_url: str
    cancel_url: str
    customer_email: str | None = None


@dataclass(frozen=True)
class Checkout:
    """A checkout the provider opened: its id and the page the customer pays on."""

    id: str
    url: str


@dataclass(frozen=True)
class ProviderRefund:
    """A refund as the provider reports it."""

    provider_refund_id: str
    amount: Money
    status: RefundStatus
    reference: str | None = None


@dataclass(frozen=True)
class ProviderPayment:
    """A payment as the provider reports it, in BTRIX's terms. ``reference`` is the link reference given at
    checkout (None: not a payment of a BTRIX link); ``refunds`` all the provider knows of."""

    provider: PaymentProvider
    provider_payment_id: str
    status: Literal["pending", "succeeded", "failed"]
    amount: Money
    reference: str | None
    checkout_id: str | None = None
    fee: Money | None = None
    detail: str | None = None
    paid_at: str | None = None
    refunds: tuple[ProviderRefund, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PaymentNotice:
    """A provider says a payment of one of our links exists or changed (its state as the provider has it now)."""

    payment: ProviderPayment


@dataclass(frozen=True)
class RefundNotice:
    """A provider says a refund of one of its payments exists or changed (ours, or made in its dashboard)."""

    provider_payment_id: str
    refund: ProviderRefund


@dataclass(frozen=True)
class CheckoutClosed:
    """A provider closed a checkout nobody paid (it expired)."""

    checkout_id: str
    reference: str | None


Notice = PaymentNotice | RefundNotice | CheckoutClosed
