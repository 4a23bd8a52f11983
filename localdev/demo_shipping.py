"""MelhorEnvio in ``make run``: a fake MelhorEnvio, and the demo shop (the Brazilian reseller) connected to it with an
address, a boxed product, a customer with an address and a confirmed order ready to ship.

When the fake providers are on and no real MelhorEnvio (``BTRIX_MELHORENVIO_API_URL``) is configured, the runner
starts the fake and points the settings at it (before the app reads them); after seeding, the shop is connected and
the order made. The banner then shows how to quote it, buy its label, and let the carrier post and deliver it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal

from localdev.fake_melhorenvio import FakeMelhorEnvio

__all__ = ["ShippingDemo", "connect", "lines", "start_fake"]

_ADDRESS = {
    "street": "Rua Vergueiro",
    "number": "3185",
    "district": "Vila Mariana",
    "city": "São Paulo",
    "state": "SP",
    "postalCode": "04101-300",
    "country": "BR",
}
_CUSTOMER_ADDRESS = {
    "street": "Avenida Afonso Pena",
    "number": "1212",
    "district": "Centro",
    "city": "Belo Horizonte",
    "state": "MG",
    "postalCode": "30130-005",
    "country": "BR",
}


@dataclass
class ShippingDemo:
    """The fake MelhorEnvio and, once connected, the demo order to ship."""

    fake: FakeMelhorEnvio
    order_id: str | None = None
    order_number: int | None = None


def start_fake(enabled: bool, port: int, api_url: str) -> ShippingDemo | None:
    """Start the fake MelhorEnvio (its app: BTRIX's local one) unless disabled or a real one is configured; point the
    settings at it, and the consent's callback at this API's."""
    if not enabled or os.environ.get("BTRIX_MELHORENVIO_API_URL"):
        return None
    from localdev.provision import local_webhook_secrets

    app = json.loads(local_webhook_secrets()["melhorenvio-oauth-app"])
    fake = FakeMelhorEnvio(port, client_id=app["clientId"], client_secret=app["clientSecret"]).start()
    os.environ.update(fake.settings_env())
    os.environ.setdefault("BTRIX_MELHORENVIO_OAUTH_REDIRECT_URL", f"{api_url}/integrations/melhorenvio/callback")
    return ShippingDemo(fake)


def connect(demo: ShippingDemo | None) -> None:
    """Give the demo shop an address, a boxed product and a customer; connect it to the fake; make a confirmed order."""
    if demo is None:
        return
    from chalicelib.catalog.models import CreateProductRequest
    from chalicelib.catalog.service import create_product
    from chalicelib.customers.models import CreateCustomerRequest
    from chalicelib.customers.service import create_customer
    from chalicelib.integrations import service
    from chalicelib.integrations.models import MelhorEnvioCredentials, Provider
    from chalicelib.inventory.models import MovementRequest
    from chalicelib.inventory.service import record_movement
    from chalicelib.orders.models import CreateOrderRequest, TransitionRequest
    from chalicelib.orders.service import create_order, transition_order
    from chalicelib.tenants.models import UpdateTenantRequest
    from chalicelib.tenants.service import get_tenant, update_tenant
    from localdev.seed import RESELLER_DEMO, demo_admin

    admin = demo_admin(RESELLER_DEMO)
    tenant = get_tenant(admin)
    update_tenant(admin, UpdateTenantRequest.model_validate({"version": tenant.version, "address": _ADDRESS}))
    product = create_product(
        admin,
        CreateProductRequest.model_validate(
            {
                "kind": "product",
                "name": "Kit de pastilhas de freio",
                "price": {"amount": str(Decimal("189.90")), "currency": "BRL"},
                "weightGrams": 2300,
                "dimensions": {"lengthCm": 32, "widthCm": 22, "heightCm": 12},
            }
        ),
        None,
    )
    record_movement(admin, product.id, MovementRequest(type="in", quantity=40, reason="demo"), None)
    customer = create_customer(
        admin,
        CreateCustomerRequest.model_validate(
            {
                "name": "Oficina Mineira",
                "email": "compras@oficina.example",
                "phone": "+5531987650101",
                "address": _CUSTOMER_ADDRESS,
            }
        ),
        None,
    )
    tokens = demo.fake.add_account("expedicao@avelar.example")
    credentials = MelhorEnvioCredentials.model_validate(
        {
            "clientId": demo.fake.client_id,
            "clientSecret": demo.fake.client_secret,
            "accessToken": tokens["accessToken"],
            "refreshToken": tokens["refreshToken"],
            "email": "ti@avelar.example",
            "sandbox": True,
        }
    )
    service.store_credentials(admin, Provider.MELHORENVIO, credentials)
    order = create_order(
        admin,
        CreateOrderRequest.model_validate(
            {"customerId": customer.id, "items": [{"productId": product.id, "quantity": 2}]}
        ),
        None,
    )
    moved = transition_order(
        admin, order.id, TransitionRequest.model_validate({"to": "CONFIRMED", "version": order.version})
    )
    demo.order_id, demo.order_number = moved.id, moved.number


def lines(api: str, demo: ShippingDemo | None, password: str) -> list[str]:
    """How to quote the demo order, buy its label and let the carrier move it (for the banner)."""
    if demo is None or demo.order_id is None:
        return []
    from localdev.seed import RESELLER_DEMO

    body = json.dumps({"identifier": f"admin@{RESELLER_DEMO.domain}", "password": password})
    auth = '-H "Authorization: Bearer $SHOP"'
    json_h = "-H 'Content-Type: application/json'"
    order = f"{api}/orders/{demo.order_id}"
    pick = 'python3 -c \'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])\''
    label = 'python3 -c \'import json,sys; s=json.load(sys.stdin)["shipment"]; print(s["labelId"], s["labelUrl"])\''
    return [
        "",
        f"Shipping (MelhorEnvio): {RESELLER_DEMO.name} is connected to the fake MelhorEnvio; its order "
        f"#{demo.order_number} is confirmed and ready to ship. Paste into bash:",
        f"    SHOP=$(curl -s -X POST {api}/auth/login {json_h} \\",
        f"      -d '{body}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"accessToken\"])')",
        f"    curl -s -X POST {order}/shipping-quotes {auth} | python3 -m json.tool   # every service's price and days",
        f"    QUOTE=$(curl -s -X POST {order}/shipping-quotes {auth} | {pick})",
        f"    read LABEL URL < <(curl -s -X POST {order}/shipments {auth} {json_h} \\",
        f'      -d "{{\\"quoteId\\": \\"$QUOTE\\"}}" | {label}); echo "label $LABEL: $URL"',
        f"    curl -s -X POST {demo.fake.url}/_shipments/$LABEL/post      # the carrier takes it (then /deliver)",
        f"    curl -s -X POST {api}/integrations/melhorenvio/sync {auth}   # tracking now (by itself: every 30 min)",
        f"    curl -s {order} {auth} | python3 -m json.tool                 # SHIPPED, with its tracking code",
    ]
