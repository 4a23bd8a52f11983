"""The port every payment provider adapter implements, and what they share: the link reference each names a link by
at its provider, the tenant's credentials (a 409 when the integration is missing), the providers' timestamps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib.core import clock
from chalicelib.core.errors import Conflict
from chalicelib.core.money import Money
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.service import IntegrationNotConnected, load_credentials
from chalicelib.payments.models import (
    Checkout,
    CheckoutRequest,
    Notice,
    PayableKind,
    PaymentProvider,
    ProviderRefund,
)

__all__ = [
    "IntegrationMissing",
    "LinkReference",
    "PaymentGateway",
    "credentials",
    "link_reference",
    "parse_reference",
    "provider_time",
]


class IntegrationMissing(Conflict):
    """Raised when a tenant asks for a payment through a provider it has not connected (409 naming it)."""


def link_reference(tenant_id: str, payable: tuple[PayableKind, str], link_id: str) -> str:
    """How a link is named at the provider: ``<tenant>:<order>:<link>`` for an order's (as before sales could be
    paid), ``<tenant>:sale:<sale>:<link>`` for a sale's."""
    kind, payable_id = payable
    return f"{tenant_id}:{payable_id}:{link_id}" if kind == "order" else f"{tenant_id}:{kind}:{payable_id}:{link_id}"


@dataclass(frozen=True)
class LinkReference:
    """What a provider's reference names: the tenant, what the link pays, the link."""

    tenant_id: str
    payable: tuple[PayableKind, str]
    link_id: str


def parse_reference(reference: str | None) -> LinkReference | None:
    """What a reference names, or None when it is not one of ours."""
    parts = (reference or "").split(":")
    if not all(part and part.replace("-", "").replace("_", "").isalnum() for part in parts):
        return None
    if len(parts) == 3:
        return LinkReference(parts[0], ("order", parts[1]), parts[2])
    if len(parts) == 4 and parts[1] == "sale":
        return LinkReference(parts[0], ("sale", parts[2]), parts[3])
    return None


class PaymentGateway(Protocol):
    """What the payments service needs from a provider."""

    provider: PaymentProvider

    def open_checkout(self, request: CheckoutRequest, *, idempotency_key: str) -> Checkout:
        """Open a checkout page for ``request`` (the same key again returns the same checkout)."""
        ...

    def close_checkout(self, tenant_id: str, checkout_id: str) -> bool:
        """Stop a checkout from being paid; False when it cannot be closed because it was paid already."""
        ...

    def refund(self, tenant_id: str, provider_payment_id: str, amount: Money, *, refund_id: str) -> ProviderRefund:
        """Give ``amount`` of a payment back; ``refund_id`` is the idempotency key (the same refund is made once)."""
        ...

    def interpret(self, tenant_id: str, message: Mapping[str, Any]) -> list[Notice]:
        """What a webhook message (as the inbound function queued it) tells about our payments."""
        ...


def credentials(tenant_id: str, provider: Provider) -> Any:
    """The tenant's credentials of ``provider``; ``IntegrationMissing`` (409 naming it) when it is not connected."""
    try:
        return load_credentials(tenant_id, provider)
    except IntegrationNotConnected as exc:
        raise IntegrationMissing(
            detail=f"the {provider.value} integration is not connected: connect it (PUT /integrations/"
            f"{provider.value}) to take payments through it",
            title="Integration missing",
            code="integration-missing",
        ) from exc


def provider_time(value: Any) -> str | None:
    """A provider's timestamp (epoch seconds or ISO 8601 with an offset) as our UTC ISO 8601; None for none."""
    if not value:
        return None
    moment = datetime.fromtimestamp(value, UTC) if isinstance(value, int) else datetime.fromisoformat(str(value))
    return clock.isoformat(moment.astimezone(UTC))
