"""iFood and Rappi in ``make run``: a fake of each, and the demo restaurant's stores connected to them, so that an
order dropped in on fake iFood becomes a BTRIX order at once by its application's signed webhook (and the poll, every
30 s or "sync now", finds it there), one dropped in on fake Rappi arrives at once by Rappi's signed webhook, and the
restaurant's status changes reach the fakes as the platforms' order calls.

When the fake providers are on and no real platform (``BTRIX_IFOOD_API_URL``, ``BTRIX_RAPPI_API_URL``) is
configured, the runner starts the fake and points the settings at it (before the app reads its settings). After
seeding, the restaurant (the first demo tenant) is connected with a store of its name on each fake (their webhooks
pointed at the local webhook URLs ``/hooks/ifood?tenant=<id>`` and ``/hooks/rappi?tenant=<id>``); the fakes' menu
items carry the restaurant's product codes as their external codes, so its pizza matches the catalog and anything
else is kept as text for review.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from localdev.fake_ifood import FakeIFood
from localdev.fake_rappi import FakeRappi

__all__ = ["DeliveryDemo", "connect", "lines", "start_fake"]
_AUTH = '-H "Authorization: Bearer $token"'  # the restaurant ADMIN's token, kept by the banner's login lines


@dataclass
class DeliveryDemo:
    """The fakes (None: a real platform is configured, or fakes are off) and the connected stores."""

    ifood: FakeIFood | None
    rappi: FakeRappi | None = None
    merchant_id: str | None = None
    rappi_store_id: str | None = None
    pizza_code: str | None = None
    client: dict[str, str] = field(default_factory=dict, repr=False)

    def stop(self) -> None:
        """Stop what was started."""
        for fake in (self.ifood, self.rappi):
            if fake is not None:
                fake.stop()


def start_fake(enabled: bool, port: int, rappi_port: int) -> DeliveryDemo:
    """Start the fake iFood and the fake Rappi unless disabled or configured, and point the settings at them."""
    ifood = rappi = None
    if enabled and not os.environ.get("BTRIX_IFOOD_API_URL"):
        ifood = FakeIFood(port).start()
        os.environ["BTRIX_IFOOD_API_URL"] = ifood.url
    if enabled and not os.environ.get("BTRIX_RAPPI_API_URL"):
        rappi = FakeRappi(rappi_port).start()
        os.environ["BTRIX_RAPPI_API_URL"] = rappi.url
    return DeliveryDemo(ifood, rappi)


def connect(demo: DeliveryDemo, hooks_url: str) -> None:
    """Connect the demo restaurant's iFood and Rappi stores to the fakes (new stores each run); Rappi's webhooks go to
    ``hooks_url``'s ``/rappi`` for the restaurant."""
    from pydantic import SecretStr

    from chalicelib.integrations import service
    from chalicelib.integrations.credentials import Provider
    from chalicelib.integrations.ifood.credentials import IFoodCredentials
    from chalicelib.integrations.rappi.credentials import RappiCredentials
    from localdev.demo_assistant import demo_product_code
    from localdev.seed import DEMO_TENANTS, demo_admin

    if demo.ifood is None and demo.rappi is None:
        return
    restaurant = DEMO_TENANTS[0]
    admin = demo_admin(restaurant)
    demo.pizza_code = demo_product_code(admin)
    if demo.ifood is not None:
        merchant = demo.ifood.add_merchant(f"{restaurant.name} - iFood")
        credentials = IFoodCredentials(
            client_id=merchant["clientId"],
            client_secret=SecretStr(merchant["clientSecret"]),
            merchant_id=merchant["merchantId"],
        )
        service.store_credentials(admin, Provider.IFOOD, credentials)
        # Its application's webhook too: each event comes at once, and the 30-second poll runs as well.
        demo.ifood.set_webhook(merchant["clientId"], f"{hooks_url}/ifood?tenant={admin.tenant_id}")
        demo.merchant_id = merchant["merchantId"]
    if demo.rappi is not None:
        store = demo.rappi.add_store(f"{restaurant.name} - Rappi", f"{hooks_url}/rappi?tenant={admin.tenant_id}")
        rappi = RappiCredentials(
            client_id=store["clientId"],
            client_secret=SecretStr(store["clientSecret"]),
            store_id=store["storeId"],
            webhook_secret=SecretStr(store["webhookSecret"]),
        )
        service.store_credentials(admin, Provider.RAPPI, rappi)
        demo.rappi_store_id = store["storeId"]


def lines(api: str, demo: DeliveryDemo, login: list[str]) -> list[str]:
    """How to drop an iFood or a Rappi order in (for the banner); ``login`` keeps the restaurant ADMIN's token in
    ``$token``."""
    return _ifood_lines(api, demo, login) + _rappi_lines(api, demo, login)


def _ifood_lines(api: str, demo: DeliveryDemo, login: list[str]) -> list[str]:
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
    return [
        "",
        "iFood (the restaurant's store is connected to the fake iFood: its webhook brings each event at once, the poll"
        " runs every 30 s too):",
        *[f"    {line}" for line in login],
        f"    curl -s -X POST {url}/_orders -d '{json.dumps(order, ensure_ascii=False)}'",
        f"    curl -s -X POST {api}/integrations/ifood/sync {_AUTH}   # poll now (the webhook already brought it)",
        "    # the pizza matches the catalog by its code; the unknown 'Borda recheada' is kept as text (needsReview)",
        f"    curl -s {url}/_orders/<id>          # move the order (CONFIRMED, PREPARING, READY, DELIVERED): 'actions'",
        f"    curl -s -X POST {url}/_orders/<id>/cancel   # iFood cancels it: the BTRIX order is cancelled",
    ]


def _rappi_lines(api: str, demo: DeliveryDemo, login: list[str]) -> list[str]:
    if demo.rappi is None or demo.rappi_store_id is None:
        return []
    order = {
        "storeId": demo.rappi_store_id,
        "customerName": "João Pereira",
        "items": [
            {"sku": demo.pizza_code or "", "name": "Pizza Margherita", "quantity": 1, "price": 39.9},
            {"sku": "RAPPI-REFRI", "name": "Refrigerante lata", "quantity": 2, "price": 6.5},
        ],
    }
    url = demo.rappi.url
    return [
        "",
        "Rappi (the restaurant's store is connected to the fake Rappi; its orders arrive by Rappi's signed webhook):",
        *([] if demo.ifood is not None else [f"    {line}" for line in login]),
        f"    curl -s -X POST {url}/_orders -d '{json.dumps(order, ensure_ascii=False)}'",
        "    # at once in GET /orders (channel rappi); the unknown 'Refrigerante lata' is kept as text (needsReview)",
        f"    curl -s {url}/_orders/<id>          # move the order (CONFIRMED, READY, DELIVERED): 'actions' take, ...",
        f"    curl -s -X POST {url}/_orders/<id>/cancel   # Rappi cancels it: the BTRIX order is cancelled",
        f"    curl -s -X POST {url}/_config -d '{{\"loseWebhooks\": 1}}'   # Rappi loses the next order's webhook:",
        f"    curl -s -X POST {api}/integrations/rappi/sync {_AUTH}   # the recovery poll (every minute) brings it",
    ]
