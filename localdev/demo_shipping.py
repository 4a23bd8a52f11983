"""Shipping in ``make run``: a fake MelhorEnvio, a fake Correios and a fake JadLog, and the demo shop (the Brazilian
reseller) connected to them with an address, a boxed product, a customer with an address and a confirmed order ready
to ship for each carrier (one label per order).

When the fake providers are on, each carrier not configured for real (``BTRIX_MELHORENVIO_API_URL``,
``BTRIX_CORREIOS_API_URL``, ``BTRIX_JADLOG_API_URL``) gets its fake, and the settings point at it (before the app
reads them); after seeding, the shop is connected and the orders made. The shop's MelhorEnvio account is connected
through BTRIX's (local) MelhorEnvio app, as a consent connects it: its id (``GET /api/v2/me``) routes the app's one
webhook URL, ``/hooks/melhorenvio``, set at the fake, to the shop. The banner then shows how to quote the orders
(every carrier's services), buy a label from each carrier, and let the carrier post and deliver it: MelhorEnvio's
label moves its order through that webhook (no sync), Correios' and JadLog's by a tracking sync.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from decimal import Decimal

from localdev.fake_correios import FakeCorreios
from localdev.fake_jadlog import FakeJadLog
from localdev.fake_melhorenvio import FakeMelhorEnvio

__all__ = ["ShippingDemo", "connect", "lines", "start_fake"]

NAMES = {"melhorenvio": "MelhorEnvio", "correios": "Correios", "jadlog": "JadLog"}

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
    """The fake carriers and, once connected, the demo orders to ship (one per carrier: one label per order)."""

    fake: FakeMelhorEnvio | None
    correios: FakeCorreios | None = None
    jadlog: FakeJadLog | None = None
    orders: dict[str, tuple[str, int]] = field(default_factory=dict)  # carrier → (order id, number)

    def fakes(self) -> list[FakeMelhorEnvio | FakeCorreios | FakeJadLog]:
        """The started fakes."""
        return [fake for fake in (self.fake, self.correios, self.jadlog) if fake is not None]

    def urls(self) -> dict[str, str]:
        """Each started fake's kind and URL."""
        return {fake.kind: fake.url for fake in self.fakes()}

    def stop(self) -> None:
        """Stop the fakes."""
        for fake in self.fakes():
            fake.stop()


def start_fake(
    enabled: bool, port: int, api_url: str, correios_port: int = 0, jadlog_port: int = 0
) -> ShippingDemo | None:
    """Start the fake MelhorEnvio (its app: BTRIX's local one), the fake Correios and the fake JadLog, each unless
    disabled or a real one is configured; point the settings at them, and MelhorEnvio's consent callback at this
    API's."""
    if not enabled:
        return None
    demo = ShippingDemo(None)
    if not os.environ.get("BTRIX_MELHORENVIO_API_URL"):
        from localdev.provision import local_webhook_secrets

        app = json.loads(local_webhook_secrets()["melhorenvio-oauth-app"])
        demo.fake = FakeMelhorEnvio(port, client_id=app["clientId"], client_secret=app["clientSecret"]).start()
        os.environ.setdefault("BTRIX_MELHORENVIO_OAUTH_REDIRECT_URL", f"{api_url}/integrations/melhorenvio/callback")
    if not os.environ.get("BTRIX_CORREIOS_API_URL"):
        demo.correios = FakeCorreios(correios_port).start()
    if not os.environ.get("BTRIX_JADLOG_API_URL"):
        demo.jadlog = FakeJadLog(jadlog_port).start()
    for fake in demo.fakes():
        os.environ.update(fake.settings_env())
    return demo if demo.fakes() else None


def connect(demo: ShippingDemo | None, hooks: str) -> None:
    """Give the demo shop an address, a boxed product and a customer; connect it to the fakes (MelhorEnvio through
    BTRIX's app, whose webhook, ``<hooks>/melhorenvio``, the fake then calls); make a confirmed order for each
    carrier."""
    if demo is None:
        return
    from chalicelib.catalog.models import CreateProductRequest
    from chalicelib.catalog.service import create_product
    from chalicelib.customers.models import CreateCustomerRequest
    from chalicelib.customers.service import create_customer
    from chalicelib.integrations import service
    from chalicelib.integrations.correios.credentials import CorreiosCredentials
    from chalicelib.integrations.credentials import Provider
    from chalicelib.integrations.jadlog.credentials import JadLogCredentials
    from chalicelib.integrations.melhorenvio.client import identify
    from chalicelib.integrations.melhorenvio.credentials import MelhorEnvioCredentials
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
    if demo.fake is not None:
        tokens = demo.fake.add_account("expedicao@avelar.example")
        credentials = MelhorEnvioCredentials.model_validate(
            {
                "accessToken": tokens["accessToken"],
                "refreshToken": tokens["refreshToken"],
                "email": "ti@avelar.example",
                "sandbox": True,
            }
        )
        account_id, shown = identify(credentials, tokens["accessToken"])  # what the consent asks MelhorEnvio
        connected = credentials.model_copy(update={"account": shown})
        service.store_credentials(admin, Provider.MELHORENVIO, connected, shared_account=account_id)
        demo.fake.set_webhook(f"{hooks}/melhorenvio")  # BTRIX's app: one URL for every account
    if demo.correios is not None:
        contract = demo.correios.add_contract("avelar.expedicao")
        service.store_credentials(admin, Provider.CORREIOS, CorreiosCredentials.model_validate(contract))
    if demo.jadlog is not None:
        shipper = demo.jadlog.add_shipper("11222333000181")
        service.store_credentials(admin, Provider.JADLOG, JadLogCredentials.model_validate(shipper))

    def confirmed(quantity: int) -> tuple[str, int]:
        body = {"customerId": customer.id, "items": [{"productId": product.id, "quantity": quantity}]}
        order = create_order(admin, CreateOrderRequest.model_validate(body), None)
        moved = transition_order(
            admin, order.id, TransitionRequest.model_validate({"to": "CONFIRMED", "version": order.version})
        )
        return moved.id, moved.number

    for fake in demo.fakes():
        demo.orders[fake.kind] = confirmed(2 if fake.kind == "melhorenvio" else 1)


def _pick(provider: str, field: str) -> str:
    """A python3 one-liner printing ``field`` of the first quote of ``provider`` read from stdin."""
    found = f'next(q for q in json.load(sys.stdin)["items"] if q["provider"] == "{provider}")["{field}"]'
    return f"python3 -c 'import json,sys; print({found})'"


# How each direct carrier's fake is told the package left the shop (then delivered), and what it calls the label.
_HANDED_OVER = {
    "correios": ("Correios' own contract API", "/_objects/$CODE/post", "posted at the agency (then /deliver)"),
    "jadlog": ("JadLog's Embarcador API", "/_shipments/$CODE/collect", "JadLog collects it (then /deliver)"),
}
# What GET /orders/{id}/shipment/label shows for each carrier.
_LABEL = {
    "correios": "its label PDF (kept by BTRIX): a link valid 15 min",
    "jadlog": "409: JadLog's API has no label PDF, and says where to print it",
}


def lines(api: str, demo: ShippingDemo | None, password: str) -> list[str]:
    """How to quote the demo orders, buy a label from each carrier and let the carrier move it (for the banner)."""
    if demo is None or not demo.orders:
        return []
    from localdev.seed import RESELLER_DEMO

    body = json.dumps({"identifier": f"admin@{RESELLER_DEMO.domain}", "password": password})
    auth = '-H "Authorization: Bearer $SHOP"'
    json_h = "-H 'Content-Type: application/json'"
    first = f"{api}/orders/{next(iter(demo.orders.values()))[0]}"
    names = ", ".join(NAMES[fake.kind] for fake in demo.fakes())
    numbers = ", ".join(f"#{number}" for _, number in demo.orders.values())
    shown = [
        "",
        f"Shipping ({names}): {RESELLER_DEMO.name} is connected to the fake {names}; its orders {numbers} are "
        "confirmed and ready to ship (one label each). Paste into bash:",
        f"    SHOP=$(curl -s -X POST {api}/auth/login {json_h} \\",
        f"      -d '{body}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"accessToken\"])')",
        f"    curl -s -X POST {first}/shipping-quotes {auth} | python3 -m json.tool   # every carrier's price and days",
    ]
    quote_body = '-d "{\\"quoteId\\": \\"$QUOTE\\"}"'
    if demo.fake is not None:
        order = f"{api}/orders/{demo.orders['melhorenvio'][0]}"
        label = 'python3 -c \'import json,sys; s=json.load(sys.stdin)["shipment"]; print(s["labelId"], s["labelUrl"])\''
        shipped = 'python3 -c \'import json,sys; sys.exit(json.load(sys.stdin)["status"] != "SHIPPED")\''
        shown += [
            f"  MelhorEnvio, on order #{demo.orders['melhorenvio'][1]} (its webhook to BTRIX's app moves it, no sync):",
            f"    QUOTE=$(curl -s -X POST {order}/shipping-quotes {auth} | {_pick('melhorenvio', 'id')})",
            f"    read LABEL URL < <(curl -s -X POST {order}/shipments {auth} {json_h} \\",
            f'      {quote_body} | {label}); echo "label $LABEL: $URL"',
            f"    curl -s -X POST {demo.fake.url}/_shipments/$LABEL/post   # the carrier takes it: MelhorEnvio posts "
            "its webhook to /hooks/melhorenvio (then /deliver)",
            f"    for i in $(seq 30); do curl -s {order} {auth} | {shipped} && break; sleep 1; done",
            f"    curl -s {order} {auth} | python3 -m json.tool   # SHIPPED with its tracking code, by the webhook",
        ]
    code = 'python3 -c \'import json,sys; print(json.load(sys.stdin)["shipment"]["trackingCode"])\''
    for fake in (demo.correios, demo.jadlog):
        if fake is None:
            continue
        what, handed_over, comment = _HANDED_OVER[fake.kind]
        order_id, number = demo.orders[fake.kind]
        order = f"{api}/orders/{order_id}"
        shown += [
            f"  {what}, on order #{number} (its tracking code comes with the label):",
            f"    QUOTE=$(curl -s -X POST {order}/shipping-quotes {auth} | {_pick(fake.kind, 'id')})",
            f"    CODE=$(curl -s -X POST {order}/shipments {auth} {json_h} \\",
            f'      {quote_body} | {code}); echo "tracking code $CODE"',
            f"    curl -s {order}/shipment/label {auth}; echo   # {_LABEL[fake.kind]}",
            f"    curl -s -X POST {fake.url}{handed_over}   # {comment}",
            f"    curl -s -X POST {api}/integrations/{fake.kind}/sync {auth}   # tracking now; the order is SHIPPED",
        ]
    return shown
