"""What the shipping providers' clients share: the package lines of an order, the parcel they are packed in, a
sender or recipient, a service's quote and where a label stands, in BTRIX's terms (each client turns them into its
provider's wire format).

One responsibility: the shipping clients' common vocabulary (MelhorEnvio, Correios, JadLog).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

__all__ = [
    "LabelOrder",
    "Package",
    "Parcel",
    "ServiceQuote",
    "ShippingAddress",
    "Tracking",
    "carrier_reference",
    "parcel",
]


def carrier_reference(tenant_id: str, number: int) -> str:
    """How a tenant's order is named at a carrier, ``BTRIX <tenant tag> #<number>`` (27 characters up to order
    10^11): what a retry searches for a label whose answer was lost. Order numbers are per tenant and tenants of a
    franchise may share one carrier contract, so the reference carries a tag of the tenant (8 base32 characters of a
    hash of its id: 40 bits) and one tenant never adopts another's label."""
    tag = base64.b32encode(hashlib.blake2b(tenant_id.encode(), digest_size=5).digest()).decode()
    return f"BTRIX {tag} #{number}"


@dataclass(frozen=True)
class Package:
    """One product line to ship: centimetres, kilograms, the declared (insured) unit value."""

    id: str
    width_cm: int
    height_cm: int
    length_cm: int
    weight_kg: Decimal
    unit_value: Decimal
    quantity: int


@dataclass(frozen=True)
class Parcel:
    """The one box an order's lines travel in (what a carrier that quotes one object is asked about): the widest
    and tallest line side by side, their lengths stacked; the weight and declared value of them all."""

    width_cm: int
    height_cm: int
    length_cm: int
    weight_kg: Decimal
    declared_value: Decimal

    @property
    def weight_grams(self) -> int:
        """The weight in whole grams (at least 1)."""
        return max(int((self.weight_kg * 1000).to_integral_value()), 1)


def parcel(packages: Sequence[Package]) -> Parcel:
    """The box ``packages`` are packed in."""
    return Parcel(
        width_cm=max(p.width_cm for p in packages),
        height_cm=max(p.height_cm for p in packages),
        length_cm=sum(p.length_cm * p.quantity for p in packages),
        weight_kg=sum((p.weight_kg * p.quantity for p in packages), Decimal(0)),
        declared_value=sum((p.unit_value * p.quantity for p in packages), Decimal(0)),
    )


@dataclass(frozen=True)
class ServiceQuote:
    """One service's answer to a quote: its price and days, or why it cannot carry the package."""

    service_id: str
    name: str
    company: str
    price: Decimal | None
    delivery_days: int | None
    error: str | None


@dataclass(frozen=True)
class ShippingAddress:
    """A label's sender or recipient."""

    name: str
    postal_code: str
    address: str
    city: str
    number: str | None = None
    complement: str | None = None
    district: str | None = None
    state_abbr: str | None = None
    phone: str | None = None
    email: str | None = None
    document: str | None = None
    company_document: str | None = None


@dataclass(frozen=True)
class Tracking:
    """Where a label stands, in MelhorEnvio's words (``pending``, ``released``: bought, not posted; ``posted``;
    ``delivered``; ``canceled``; ``undelivered``) and the carrier's tracking code once known; ``label_id`` is the
    provider's id of the label."""

    label_id: str
    status: str
    tracking_code: str | None


@dataclass(frozen=True)
class LabelOrder:
    """What a carrier needs to register an order's label: the quoted service, who sends and who receives, the
    order's package lines (``names``: product id → the line's name); ``started_at``: when the purchase began (a
    search for a label made for it looks no earlier)."""

    tenant_id: str
    order_id: str
    number: int
    service_id: str
    sender: ShippingAddress
    recipient: ShippingAddress
    packages: Sequence[Package]
    names: Mapping[str, str]
    started_at: datetime

    @property
    def reference(self) -> str:
        """How the order is named at the carrier (``carrier_reference``)."""
        return carrier_reference(self.tenant_id, self.number)

    def contents(self) -> list[tuple[str, int, Decimal]]:
        """(name, quantity, unit value) of each line: the content declaration."""
        return [(self.names.get(p.id, p.id), p.quantity, p.unit_value) for p in self.packages]
