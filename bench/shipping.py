"""Shipping quotes: what ``POST /orders/{id}/shipping-quotes`` adds to the carrier's own answer.

Set-up: a fake MelhorEnvio on loopback and the bench tenant (``Target.user``) connected to it (a sandbox account's
tokens), with an address, a customer with hers, a boxed product and an order of two, as ``make run``'s shop demo.

- Full: the quote through the app (the order, the tenant, the customer and the products read; the access token read
  and decrypted; MelhorEnvio's ``POST /api/v2/me/shipment/calculate``; four quotes written in one transaction).
- Bare: the same ``calculate`` request sent straight to the fake with a plain httpx client (same body, same token):
  the carrier's own time plus one HTTP round trip, which the full path also pays. ``bench.overhead.compare``,
  alternating. The fake's own handling time (``elapsedMs`` of what it received) is reported beside them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from bench.overhead import OverheadResult, RoundTripTimer, compare
from bench.stats import Summary, summarise
from bench.target import Target, send, shared_clients
from tests.support.environment import settings_from

if TYPE_CHECKING:
    from localdev.fake_melhorenvio import FakeMelhorEnvio

__all__ = ["ShippingReport", "measure_shipping", "render_shipping"]

_ADDRESS = {"street": "Rua Augusta", "number": "1500", "city": "São Paulo", "postalCode": "01304-001", "country": "BR"}
_CUSTOMER = {
    "street": "Av. Atlântica",
    "number": "200",
    "city": "Rio de Janeiro",
    "postalCode": "22010-000",
    "country": "BR",
}


class ShippingReport:
    """The comparison, and the fake's own time per quote."""

    def __init__(self, quote: OverheadResult, fake_ms: Summary) -> None:
        self.quote = quote
        self.fake_ms = fake_ms


def _prepare(target: Target, fake: FakeMelhorEnvio) -> tuple[str, dict[str, object], str]:
    """Connect the bench tenant and make an order to quote; its id, the calculate body and the access token."""
    token = target.user.access_token
    api = target.api
    tenant = json.loads(send(api, "GET", "/tenant", None, token=token, expect=200).body)
    send(api, "PATCH", "/tenant", {"version": tenant["version"], "address": _ADDRESS}, token=token, expect=200)
    customer = json.loads(
        send(api, "POST", "/customers", {"name": "Bench Buyer", "address": _CUSTOMER}, token=token, expect=201).body
    )
    product = json.loads(
        send(
            api,
            "POST",
            "/products",
            {
                "kind": "product",
                "name": "Bench Box",
                "price": {"amount": "80.00", "currency": "BRL"},
                "weightGrams": 1200,
                "dimensions": {"lengthCm": 30, "widthCm": 20, "heightCm": 10},
            },
            token=token,
            expect=201,
        ).body
    )
    send(api, "POST", f"/inventory/{product['id']}/movements", {"type": "in", "quantity": 100}, token=token, expect=201)
    order = json.loads(
        send(
            api,
            "POST",
            "/orders",
            {"customerId": customer["id"], "items": [{"productId": product["id"], "quantity": 2}]},
            token=token,
            expect=201,
        ).body
    )
    account = fake.add_account("bench@example.com")
    credentials = {
        "clientId": fake.client_id,
        "clientSecret": fake.client_secret,
        "accessToken": account["accessToken"],
        "refreshToken": account["refreshToken"],
        "email": "bench@example.com",
        "sandbox": True,
    }
    send(api, "PUT", "/integrations/melhorenvio", {"credentials": credentials}, token=token, expect=200)
    body: dict[str, object] = {
        "from": {"postal_code": "01304001"},
        "to": {"postal_code": "22010000"},
        "products": [
            {
                "id": product["id"],
                "width": 20,
                "height": 10,
                "length": 30,
                "weight": 1.2,
                "insurance_value": 80.0,
                "quantity": 2,
            }
        ],
    }
    return str(order["id"]), body, account["accessToken"]


def measure_shipping(target: Target, *, iterations: int, progress: Callable[[str], None]) -> ShippingReport:
    """Quote through the app against the bare calculate call, alternating."""
    import httpx

    from localdev.fake_melhorenvio import FakeMelhorEnvio

    fake = FakeMelhorEnvio().start()
    fake.per_minute = 1_000_000  # the overhead of a quote is measured, not MelhorEnvio's 250 requests a minute
    try:
        with settings_from(fake.settings_env()):
            order_id, body, access = _prepare(target, fake)
            progress(f"shipping: {iterations} quotes through the app and as many straight to the fake")
            url = f"{fake.url}/api/v2/me/shipment/calculate"
            headers = {
                "Authorization": f"Bearer {access}",
                "Accept": "application/json",
                "User-Agent": "BTRIX (bench@example.com)",
            }
            bare_client = httpx.Client(timeout=10)

            def full() -> None:
                send(
                    target.api,
                    "POST",
                    f"/orders/{order_id}/shipping-quotes",
                    None,
                    token=target.user.access_token,
                    expect=200,
                )

            def bare() -> None:
                bare_client.post(url, json=body, headers=headers).raise_for_status()

            try:
                # The AWS round trips (DynamoDB, KMS) are timed apart: the last column is what BTRIX's own code adds.
                with RoundTripTimer(*shared_clients()) as timer:
                    result = compare(
                        "POST /orders/{id}/shipping-quotes vs calculate at the fake",
                        full,
                        bare,
                        timer=timer,
                        iterations=iterations,
                    )
            finally:
                bare_client.close()
            own = [float(r["elapsedMs"]) for r in fake.received if r["path"].endswith("/shipment/calculate")]
            return ShippingReport(result, summarise(own))
    finally:
        fake.stop()


def render_shipping(report: ShippingReport) -> str:
    """The comparison table and the fake's own time."""
    from bench.report import render_overhead

    fake = report.fake_ms
    return (
        render_overhead([report.quote])
        + f"\n\nThe fake's own handling of one calculate: median {fake.median:.2f} ms, p95 {fake.p95:.2f} ms"
        + f" ({fake.runs} requests). The bare path is that plus one loopback HTTP round trip; what the full path adds"
        + " beyond it is BTRIX's: the order, tenant, customer and products read, the token read and decrypted, the"
        + " quotes written."
    )
