"""The payment providers behind one interface: what the payments service asks of Stripe, MercadoPago and Pagar.me.

A ``PaymentGateway`` opens a checkout for a link, closes one, gives money back, and reads what a provider's
webhook says (``interpret``: Stripe's signed event is authoritative; a MercadoPago notification only says that
something changed, so its payment is fetched). Each adapter maps BTRIX's terms to the provider's wire format through
the provider's one client (``integrations/stripe/client.py``, ``integrations/mercadopago/client.py``) with the
tenant's credentials from the integrations registry. A further provider is a further module here, registered in
``GATEWAYS``; the service does not change.

Links are named at the provider by a reference ``<tenantId>:<orderId>:<linkId>`` (a sale's:
``<tenantId>:sale:<saleId>:<linkId>``; Stripe metadata ``btrixRef`` on the session and its payment intent,
MercadoPago ``external_reference``, Pagar.me order ``metadata.btrixRef``), so every payment finds its link and what it
pays.

This package: the port and what adapters share (``port.py``), one module per provider (``stripe.py``,
``mercadopago.py``, ``pagarme.py``), and here the registry of the adapters.
"""

from __future__ import annotations

from chalicelib.payments.models import PaymentProvider
from chalicelib.payments.providers.mercadopago import MercadoPagoGateway
from chalicelib.payments.providers.pagarme import PagarmeGateway
from chalicelib.payments.providers.port import (
    IntegrationMissing,
    LinkReference,
    PaymentGateway,
    link_reference,
    parse_reference,
)
from chalicelib.payments.providers.stripe import StripeGateway, stripe_locale

__all__ = [
    "GATEWAYS",
    "IntegrationMissing",
    "LinkReference",
    "MercadoPagoGateway",
    "PagarmeGateway",
    "PaymentGateway",
    "StripeGateway",
    "gateway",
    "link_reference",
    "parse_reference",
    "stripe_locale",
]

GATEWAYS: dict[PaymentProvider, PaymentGateway] = {
    "stripe": StripeGateway(),
    "mercadopago": MercadoPagoGateway(),
    "pagarme": PagarmeGateway(),
}


def gateway(provider: PaymentProvider) -> PaymentGateway:
    """The adapter of ``provider``."""
    return GATEWAYS[provider]
