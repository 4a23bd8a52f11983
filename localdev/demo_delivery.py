"""iFood in ``make run``: a fake iFood, and the demo restaurant's store connected to it, so that an order dropped in
on the fake becomes a BTRIX order at the next poll (every 30 s, or "sync now") and the restaurant's status changes
reach the fake as iFood's order actions.

When the fake providers are on and no real iFood (``BTRIX_IFOOD_API_URL``) is configured, the runner starts the fake
and points the settings at it (before the app reads its settings). After seeding, the restaurant (the first demo
tenant) is connected with a merchant of its name on the fake; the fake's menu items carry the restaurant's product
codes as their external codes, so its pizza matches the catalog and anything else is kept as text for review.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from localdev.fake_ifood import FakeIFood

__all__ = ["DeliveryDemo", "connect", "lines", "start_fake"]


@dataclass
class DeliveryDemo:
    """The fake iFood (None: a real one is configured, or fakes are off) and the connected store."""

    ifood: FakeIFood | None
    merchant_id: str | None = None
    pizza_code: str | None = None
    client: dict[str, str] = field(default_factory=dict, repr=False)

    def stop(self) -> None:
        """Stop what was started."""
        if self.ifood is not None:
            self.ifood.stop()


def start_fake(enabled: bool, port: int) -> DeliveryDemo:
    """Start the fake iFood unless disabled or configured, and point the settings at it."""
    if not enabled or os.environ.get("BTRIX_IFOOD_API_URL"):
        return DeliveryDemo(None)
    fake = FakeIFood(port).start()
    os.environ["BTRIX_IFOOD_API_URL"] = fake.url
    return DeliveryDemo(fake)


def connect(demo: DeliveryDemo) -> None:
    """Connect the demo restaurant's iFood store to the fake (a new merchant each run)."""
    from pydantic import SecretStr

    from chalicelib.integrations import service
    from chalicelib.integrations.models import IFoodCredentials, Provider
    from localdev.demo_assistant import demo_product_code
    from localdev.seed import DEMO_TENANTS, demo_admin

    if demo.ifood is None:
        return
    restaurant = DEMO_TENANTS[0]
    admin = demo_admin(restaurant)
    merchant = demo.ifood.add_merchant(f"{restaurant.name} - iFood")
    credentials = IFoodCredentials(
        client_id=merchant["clientId"],
        client_secret=SecretStr(merchant["clientSecret"]),
        merchant_id=merchant["merchantId"],
    )
    service.store_credentials(admin, Provider.IFOOD, credentials)
    demo.merchant_id = merchant["merchantId"]
    demo.pizza_code = demo_product_code(admin)


def lines(api: str, demo: DeliveryDemo, login: list[str]) -> list[str]:
    """How to drop an iFood order in (for the banner); ``login`` keeps the restaurant ADMIN's token in ``$token``."""
    if demo.ifood is None or demo.merchant_id is None:
        return []
    order = {
        "merchantId": demo.merchant_id,
        "deliveredBy": "MERCHANT",
        "customerName": "Maria Oliveira",
        "items": [
            {"name": "Pizza Margherita", "externalCode": demo.pizza_code or "", "quantity": 1, "unitPrice": 39.9},
            {"name": "Borda recheada", "externalCode": "BORDA01", "quantity": 1, "unitPrice": 8.0},
        ],
    }
    url = demo.ifood.url
    auth = '-H "Authorization: Bearer $token"'
    return [
        "",
        "iFood (the restaurant's store is connected to the fake iFood; polled every 30 s):",
        *[f"    {line}" for line in login],
        f"    curl -s -X POST {url}/_orders -d '{json.dumps(order, ensure_ascii=False)}'",
        f"    curl -s -X POST {api}/integrations/ifood/sync {auth}   # poll now: the order is in GET /orders",
        "    # the pizza matches the catalog by its code; the unknown 'Borda recheada' is kept as text (needsReview)",
        f"    curl -s {url}/_orders/<id>          # move the order (CONFIRMED, PREPARING, READY, DELIVERED): 'actions'",
        f"    curl -s -X POST {url}/_orders/<id>/cancel   # iFood cancels it: the BTRIX order is cancelled",
    ]
