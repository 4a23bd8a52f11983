"""Server-side conversions in ``make run``: a fake GA4 Measurement Protocol, and the demo restaurant connected to it
and to a Pixel on the fake Meta Graph API (Conversions API), with a customer who consented to marketing.

When the fake providers are on and no real GA4 (``BTRIX_GA4_API_URL``) is configured, the runner starts the fake and
points the settings at it (before the app reads them). After seeding, the restaurant gets a GA4 stream and a Meta
Pixel (on the fake Meta, which the WhatsApp demo uses too) and a customer with a marketing consent; the banner shows
how to place that customer's order and see the hit at both fakes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from localdev.fake_ga4 import FakeGa4
from localdev.fakes import FakeProvider

__all__ = ["ConversionsDemo", "connect", "lines", "start_fake"]

MEASUREMENT_ID = "G-BTRIXDEMO1"
PIXEL_ID = "1234567890123"
_API_SECRET = "demo-mp-api-secret"  # the fake stream's made-up secret
_PIXEL_TOKEN = "EAAB-demo-pixel-token-0123456789"  # the fake pixel's made-up token


@dataclass
class ConversionsDemo:
    """The fake GA4 (None: a real one is configured, or fakes are off), the fake Meta, and the consenting customer."""

    ga4: FakeGa4 | None
    meta: FakeProvider | None = None
    customer_id: str | None = None
    product_id: str | None = None

    def stop(self) -> None:
        """Stop what was started (the fake Meta is the runner's)."""
        if self.ga4 is not None:
            self.ga4.stop()


def start_fake(enabled: bool, port: int) -> ConversionsDemo:
    """Start the fake GA4 unless disabled or configured, and point the settings at it."""
    if not enabled or os.environ.get("BTRIX_GA4_API_URL"):
        return ConversionsDemo(None)
    fake = FakeGa4(port).start()
    os.environ.update(fake.settings_env())
    return ConversionsDemo(fake)


def connect(demo: ConversionsDemo, meta: FakeProvider | None) -> None:
    """Connect the demo restaurant to the fake GA4 stream and to a Pixel on the fake Meta; add a customer who
    consented to marketing."""
    from pydantic import SecretStr

    from chalicelib.catalog import service as catalog
    from chalicelib.catalog.models import ProductListQuery
    from chalicelib.core.db.store import tenant_scope
    from chalicelib.customers.models import CreateCustomerRequest
    from chalicelib.customers.service import create_customer
    from chalicelib.integrations import service
    from chalicelib.integrations.credentials import Provider
    from chalicelib.integrations.ga4.credentials import Ga4Credentials
    from chalicelib.integrations.meta.credentials import MetaCapiCredentials
    from localdev.demo_assistant import DEMO_PRODUCT
    from localdev.seed import DEMO_TENANTS, demo_admin

    if demo.ga4 is None and meta is None:
        return
    admin = demo_admin(DEMO_TENANTS[0])
    if demo.ga4 is not None:
        demo.ga4.add_stream(MEASUREMENT_ID, _API_SECRET)
        service.store_credentials(
            admin, Provider.GA4, Ga4Credentials(measurement_id=MEASUREMENT_ID, api_secret=SecretStr(_API_SECRET))
        )
    if meta is not None:
        demo.meta = meta
        meta.capi.add_pixel(PIXEL_ID, _PIXEL_TOKEN, f"{DEMO_TENANTS[0].name} Pixel")
        service.store_credentials(
            admin, Provider.META_CAPI, MetaCapiCredentials(pixel_id=PIXEL_ID, access_token=SecretStr(_PIXEL_TOKEN))
        )
    customer = create_customer(
        admin,
        CreateCustomerRequest.model_validate(
            {
                "name": "Joana Souza",
                "email": " Joana.Souza@Example.com ",
                "phone": "+5511987650202",
                "address": {
                    "street": "Rua Augusta",
                    "number": "900",
                    "city": "São Paulo",
                    "state": "SP",
                    "postalCode": "01304-001",
                    "country": "BR",
                },
                "consents": {"marketing": True},
            }
        ),
        None,
    )
    demo.customer_id = customer.id
    with tenant_scope(admin.tenant_id):
        query = ProductListQuery.model_validate({"q": DEMO_PRODUCT, "active": True})
        products = catalog.list_products(admin, query)
    demo.product_id = products.items[0].id if products.items else None


def lines(api: str, demo: ConversionsDemo, login: list[str]) -> list[str]:
    """How to see a conversion reach GA4 and Meta (for the banner); ``login`` keeps the restaurant ADMIN's token in
    ``$token``."""
    if demo.customer_id is None or demo.product_id is None:
        return []
    order = {
        "customerId": demo.customer_id,
        "channel": "whatsapp",
        "items": [{"productId": demo.product_id, "quantity": 1}],
    }
    auth = '-H "Authorization: Bearer $token"'
    found = [
        "",
        "Analytics (the restaurant sends conversions to a fake GA4 stream and a fake Meta Pixel; Joana consented):",
        *[f"    {line}" for line in login],
        f"    curl -s -X POST {api}/orders {auth} -H 'Content-Type: application/json' -d '{json.dumps(order)}'",
    ]
    if demo.ga4 is not None:
        found.append(f"    curl -s {demo.ga4.url}/_hits          # GA4: begin_checkout, user_id = the customer")
        found.append(f"    curl -s -X POST {api}/integrations/ga4/test {auth}   # validate through /debug/mp/collect")
    if demo.meta is not None:
        found.append(f"    curl -s {demo.meta.url}/_pixels/{PIXEL_ID}/events   # Meta: InitiateCheckout, em/ph hashed")
    found.append(f"    curl -s {api}/integrations/meta_capi/logs {auth}   # each event: sent, or why not (consent)")
    return found
