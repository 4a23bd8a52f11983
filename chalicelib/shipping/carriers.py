"""The shipping providers a tenant can connect, behind one shape: quote, buy a label (cart → checkout → generate →
print), track. Each call runs with the tenant's access token (refreshed single flight, ``integrations.tokens``).

MelhorEnvio sells the labels of several carriers (Correios, Jadlog, …) from one account; Correios' and JadLog's own
contract APIs are separate providers (not built yet: see docs/ARCHITECTURE.md, "Shipping").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from chalicelib.core import clock
from chalicelib.integrations import tokens
from chalicelib.integrations.http import TokenGrant
from chalicelib.integrations.melhorenvio import client as melhorenvio
from chalicelib.integrations.models import MelhorEnvioCredentials, Provider

__all__ = [
    "MELHORENVIO",
    "SHIPPING_PROVIDERS",
    "CartAddress",
    "Package",
    "ServiceQuote",
    "Tracking",
    "add_to_cart",
    "checkout",
    "generate",
    "print_label",
    "quote",
    "track",
    "whoami",
]

T = TypeVar("T")
CartAddress = melhorenvio.CartAddress
Package = melhorenvio.Package
ServiceQuote = melhorenvio.ServiceQuote
Tracking = melhorenvio.Tracking
# An access token that came with the credentials: its real expiry is unknown (MelhorEnvio's live 30 days); it is
# used until it answers 401, then refreshed.
_INITIAL_LIFETIME = timedelta(days=1)


def _initial(credentials: MelhorEnvioCredentials) -> TokenGrant | None:
    if credentials.access_token is None:
        return None
    return TokenGrant(credentials.access_token.get_secret_value(), clock.now() + _INITIAL_LIFETIME)


MELHORENVIO = tokens.TokenSource(
    Provider.MELHORENVIO,
    "MelhorEnvio",
    melhorenvio.refresh_access_token,
    lambda credentials: credentials.refresh_token.get_secret_value(),
    rotates=True,
    initial=_initial,
)
SHIPPING_PROVIDERS: tuple[Provider, ...] = (Provider.MELHORENVIO,)


def _with_token(tenant_id: str, call: Callable[[MelhorEnvioCredentials, str], T]) -> T:
    return tokens.with_access_token(tenant_id, MELHORENVIO, call)


def quote(tenant_id: str, origin: str, destination: str, packages: Sequence[Package]) -> list[ServiceQuote]:
    """Every service's price and days for the packages between two CEPs."""
    return _with_token(
        tenant_id, lambda creds, token: melhorenvio.calculate(creds, token, origin, destination, packages)
    )


def add_to_cart(
    tenant_id: str,
    *,
    service_id: int,
    sender: CartAddress,
    recipient: CartAddress,
    products: Sequence[Mapping[str, Any]],
    volumes: Sequence[Mapping[str, Any]],
    insurance_value: Decimal,
    tag: str,
) -> str:
    """Put the label in the provider's cart; its id."""
    return _with_token(
        tenant_id,
        lambda creds, token: melhorenvio.add_to_cart(
            creds,
            token,
            service_id=service_id,
            sender=sender,
            recipient=recipient,
            products=products,
            volumes=volumes,
            insurance_value=insurance_value,
            tag=tag,
        ),
    )


def checkout(tenant_id: str, label_id: str) -> None:
    """Buy the label."""
    _with_token(tenant_id, lambda creds, token: melhorenvio.checkout(creds, token, [label_id]))


def generate(tenant_id: str, label_id: str) -> None:
    """Generate the bought label."""
    _with_token(tenant_id, lambda creds, token: melhorenvio.generate(creds, token, [label_id]))


def print_label(tenant_id: str, label_id: str) -> str:
    """The label's PDF URL."""
    return _with_token(tenant_id, lambda creds, token: melhorenvio.print_labels(creds, token, [label_id]))


def track(tenant_id: str, label_ids: Sequence[str]) -> list[Tracking]:
    """Where each label stands."""
    return _with_token(tenant_id, lambda creds, token: melhorenvio.track(creds, token, label_ids))


def whoami(tenant_id: str, credentials: MelhorEnvioCredentials) -> str:
    """The connection test: the account of the tenant's current access token (refreshed when refused)."""
    return _with_token(tenant_id, melhorenvio.account)
