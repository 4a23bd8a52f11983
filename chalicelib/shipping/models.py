"""Shipping models: quotes, the purchase of a label, and what is kept between the two."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chalicelib.core.ids import EntityId
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.money import Money
from chalicelib.core.personal_data import PERSONAL
from chalicelib.core.references import CheckedInService

__all__ = [
    "CarrierFailure",
    "CreateShipmentRequest",
    "LabelRecord",
    "ShipmentLabel",
    "ShippingQuote",
    "ShippingQuoteList",
    "UnavailableService",
]


class ShippingQuote(ApiModel):
    """One carrier service's price and time for the order's package, bookable with ``POST
    /orders/{id}/shipments {quoteId}`` until it expires."""

    id: str
    order_id: str
    provider: str = Field(description="Who sells the label: melhorenvio, correios, jadlog")
    carrier: str = Field(description="e.g. Correios, Jadlog")
    service: str = Field(description="e.g. PAC, SEDEX, .Package")
    service_id: str = Field(description="The provider's id of the service")
    price: Money
    delivery_days: int | None = Field(default=None, description="Working days the carrier promises")
    created_at: str
    valid_until: str = Field(description="After this the quote cannot be booked: ask for new quotes")


class UnavailableService(ApiModel):
    """A service that cannot carry this package (too heavy, too big, no coverage), and why."""

    provider: str
    carrier: str
    service: str
    reason: str


class CarrierFailure(ApiModel):
    """A connected provider that could not quote now (an outage, throttling, credentials refused)."""

    provider: str
    detail: str


class ShippingQuoteList(ApiModel):
    """Every connected carrier's quotes for the order, cheapest first."""

    items: list[ShippingQuote]
    unavailable: list[UnavailableService] = Field(default_factory=empty_list)
    failures: list[CarrierFailure] = Field(default_factory=empty_list)
    origin_postal_code: str
    destination_postal_code: str
    weight_grams: int = Field(description="The package's weight: the sum of the lines' products")


class CreateShipmentRequest(ApiModel):
    """Buy the label of a quote of this order (send ``Idempotency-Key`` to retry safely)."""

    quote_id: Annotated[
        EntityId,
        CheckedInService(
            "shipping quote",
            "the purchase reads the quote in the order's partition (the caller's tenant): 422 naming body.quoteId",
        ),
    ] = Field(description="A quote of this order (POST /orders/{id}/shipping-quotes), not expired")


class LabelRecord(ApiModel):
    """The purchase of an order's label as it goes (one per order): claimed, in the provider's cart, bought,
    printed; then travelling (on the open list the tracking schedule reads) until delivered or cancelled."""

    tenant_id: str
    order_id: str
    provider: str
    quote_id: str
    state: str = Field(description="claimed, the carrier's steps (carted, bought; sent, registered), printed, done")
    label_id: str | None = None
    # The label's PDF prints the recipient (name, address, phone): its URL is theirs too.
    label_url: Annotated[str | None, PERSONAL] = None
    label_receipt: str | None = Field(default=None, description="Correios: the receipt its label PDF is fetched with")
    label_file: str | None = Field(default=None, description="The object key of the label PDF BTRIX keeps")
    label_note: str | None = None
    tracking_code: str | None = None
    carrier_status: str | None = None
    lease_id: str | None = None
    lease_until: int | None = None
    claimed_at: str
    updated_at: str
    open: bool = False


class ShipmentLabel(ApiModel):
    """Where to download the order's label PDF now."""

    provider: str
    # The PDF prints the recipient (name, address, phone).
    url: Annotated[str, PERSONAL] = Field(description="The label's PDF: a presigned GET when BTRIX keeps the file")
    expires_at: str | None = Field(default=None, description="When url stops working (none: the provider's link)")
