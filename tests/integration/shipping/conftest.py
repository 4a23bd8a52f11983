"""Fixtures of the shipping tests: the fake carriers (MelhorEnvio, Correios, JadLog) with BTRIX pointed at them,
and a shop ready to ship (its address, a customer with hers, a product with weight and box, an order of it)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from localdev.fake_correios import FakeCorreios
from localdev.fake_jadlog import FakeJadLog
from localdev.fake_melhorenvio import FakeMelhorEnvio
from localdev.provision import local_webhook_secrets
from tests.support.commerce import create_customer, stocked_product
from tests.support.consent import allow, callback
from tests.support.environment import settings_from
from tests.support.identity import Account, call, signup

SHOP_ADDRESS = {
    "street": "Rua Augusta",
    "number": "1500",
    "district": "Consolação",
    "city": "São Paulo",
    "state": "SP",
    "postalCode": "01304-001",
    "country": "BR",
}
CUSTOMER_ADDRESS = {
    "street": "Avenida Atlântica",
    "number": "200",
    "district": "Copacabana",
    "city": "Rio de Janeiro",
    "state": "RJ",
    "postalCode": "22010-000",
    "country": "BR",
}


@dataclass(frozen=True)
class Shop:
    """A retail tenant ready to ship: its ADMIN, a customer and a product, and the fake account it connected."""

    admin: Account
    customer: dict[str, Any]
    product: dict[str, Any]
    tokens: dict[str, str]


CALLBACK = "http://127.0.0.1:8000/integrations/melhorenvio/callback"


def consent(api: Any, admin: Account, body: dict[str, Any]) -> dict[str, str]:
    """Start MelhorEnvio's consent as the ADMIN, let the fake's signed-in user allow it; the callback's query."""
    return allow(api, admin, "melhorenvio", body)


def consent_callback(api: Any, query: dict[str, str]) -> Any:
    """MelhorEnvio's redirect back to BTRIX after consent."""
    return callback(api, "melhorenvio", query)


@pytest.fixture
def melhorenvio(stack: Any) -> Iterator[FakeMelhorEnvio]:
    """The fake MelhorEnvio, whose app is BTRIX's local one, with BTRIX's MelhorEnvio URLs pointed at it."""
    yield from running_melhorenvio()


def running_melhorenvio() -> Iterator[FakeMelhorEnvio]:
    """The fake MelhorEnvio started with BTRIX's local app, the settings pointing at it (for another package's
    fixture too)."""
    app = json.loads(local_webhook_secrets()["melhorenvio-oauth-app"])
    fake = FakeMelhorEnvio(client_id=app["clientId"], client_secret=app["clientSecret"], seed=5).start()
    try:
        with settings_from({**fake.settings_env(), "BTRIX_MELHORENVIO_OAUTH_REDIRECT_URL": CALLBACK}):
            yield fake
    finally:
        fake.stop()


@pytest.fixture
def correios(stack: Any) -> Iterator[FakeCorreios]:
    """The fake Correios (CWS), with BTRIX's Correios URLs pointed at it."""
    fake = FakeCorreios(seed=7).start()
    try:
        with settings_from(fake.settings_env()):
            yield fake
    finally:
        fake.stop()


@pytest.fixture
def jadlog(stack: Any) -> Iterator[FakeJadLog]:
    """The fake JadLog Embarcador API, with BTRIX's JadLog URL pointed at it."""
    fake = FakeJadLog(seed=11).start()
    try:
        with settings_from(fake.settings_env()):
            yield fake
    finally:
        fake.stop()


def connect_jadlog(api: Any, admin: Account, shipper: dict[str, str], **fields: Any) -> Any:
    """PUT the JadLog credentials of ``shipper`` (from ``FakeJadLog.add_shipper``)."""
    return call(api, "PUT", "/integrations/jadlog", {"credentials": {**shipper, **fields}}, admin.headers())


def connect_correios(api: Any, admin: Account, contract: dict[str, str], **fields: Any) -> Any:
    """PUT the Correios credentials of ``contract`` (from ``FakeCorreios.add_contract``)."""
    return call(api, "PUT", "/integrations/correios", {"credentials": {**contract, **fields}}, admin.headers())


@pytest.fixture(params=["correios", "jadlog"])
def carrier(request: pytest.FixtureRequest) -> FakeCorreios | FakeJadLog:
    """Each carrier BTRIX reaches directly (not through MelhorEnvio): the fake Correios, then the fake JadLog."""
    fake: FakeCorreios | FakeJadLog = request.getfixturevalue(request.param)
    return fake


def carrier_shop(
    api: Any,
    fake: FakeCorreios | FakeJadLog,
    melhorenvio: FakeMelhorEnvio | None = None,
    account: dict[str, str] | None = None,
) -> Shop:
    """A shop ready to ship connected to the fake Correios or JadLog (a new contract or shipper, or ``account``: one
    the fake made before), and to the fake MelhorEnvio when given."""
    shop = ready_shop(api, melhorenvio)
    if isinstance(fake, FakeCorreios):
        connected = connect_correios(api, shop.admin, account or fake.add_contract())
    else:
        connected = connect_jadlog(api, shop.admin, account or fake.add_shipper())
    assert connected.status_code == 200, connected.body
    return shop


def carrier_labels(fake: FakeCorreios | FakeJadLog) -> list[tuple[str, str]]:
    """(label id, tracking code) of every label the fake carrier made: Correios' pre-postings (id, object code),
    JadLog's shipment orders (codigo, shipmentId)."""
    if isinstance(fake, FakeCorreios):
        return [(o["id"], o["codigoObjeto"]) for o in fake.objects()]
    return [(s["codigo"], s["shipmentId"]) for s in fake.shipments()]


def seen_order(api: Any, shop: Shop, order_id: str) -> dict[str, Any]:
    """The order as the shop's ADMIN reads it."""
    return dict(call(api, "GET", f"/orders/{order_id}", headers=shop.admin.headers()).json_body)


def connect(api: Any, admin: Account, fake: FakeMelhorEnvio, tokens: dict[str, str]) -> Any:
    """PUT the MelhorEnvio credentials of ``tokens`` (the fake's app, a sandbox account)."""
    credentials = {
        "clientId": fake.client_id,
        "clientSecret": fake.client_secret,
        "accessToken": tokens["accessToken"],
        "refreshToken": tokens["refreshToken"],
        "email": "tech@loja.example",
        "sandbox": True,
    }
    return call(api, "PUT", "/integrations/melhorenvio", {"credentials": credentials}, admin.headers())


def ready_shop(api: Any, fake: FakeMelhorEnvio | None, *, connected: bool = True) -> Shop:
    """A new retail tenant with its address, a customer with hers and a boxed product; connected to the fake
    MelhorEnvio unless told (or without one)."""
    admin, answer = signup(api, businessType="retail")
    tenant = answer["tenant"]
    patched = call(api, "PATCH", "/tenant", {"version": tenant["version"], "address": SHOP_ADDRESS}, admin.headers())
    assert patched.status_code == 200, patched.body
    customer = create_customer(api, admin, email="maria@example.com", address=CUSTOMER_ADDRESS)
    product = stocked_product(
        api,
        admin,
        50,
        name="Cafeteira",
        price={"amount": "120.00", "currency": "BRL"},
        weightGrams=1500,
        dimensions={"lengthCm": 30, "widthCm": 20, "heightCm": 25},
    )
    if fake is None:
        return Shop(admin, customer, product, {})
    tokens = fake.add_account("loja@example.com")
    if connected:
        assert connect(api, admin, fake, tokens).status_code == 200
    return Shop(admin, customer, product, tokens)


def new_order(api: Any, shop: Shop, quantity: int = 2, **fields: Any) -> dict[str, Any]:
    """An order of the shop's product for its customer, confirmed (ready to ship)."""
    body = {"customerId": shop.customer["id"], "items": [{"productId": shop.product["id"], "quantity": quantity}]}
    order = call(api, "POST", "/orders", {**body, **fields}, shop.admin.headers())
    assert order.status_code == 201, order.body
    moved = call(
        api,
        "POST",
        f"/orders/{order.json_body['id']}/transitions",
        {"to": "CONFIRMED", "version": order.json_body["version"]},
        shop.admin.headers(),
    )
    assert moved.status_code == 200, moved.body
    return dict(moved.json_body)


def quote(api: Any, shop: Shop, order_id: str) -> Any:
    """POST /orders/{id}/shipping-quotes as the shop's ADMIN."""
    return call(api, "POST", f"/orders/{order_id}/shipping-quotes", None, shop.admin.headers())


def buy(api: Any, shop: Shop, order_id: str, quote_id: str, **headers: str) -> Any:
    """POST /orders/{id}/shipments as the shop's ADMIN."""
    return call(api, "POST", f"/orders/{order_id}/shipments", {"quoteId": quote_id}, shop.admin.headers(**headers))


def concurrent_quotes(api: Any, shop: Shop, order_id: str, count: int = 4) -> list[int]:
    """The statuses of ``count`` quotes of the order asked at the same time."""
    answers: list[int] = []

    def ask() -> None:
        answers.append(quote(api, shop, order_id).status_code)

    threads = [threading.Thread(target=ask) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def customer_told_shipped_and_delivered(tenant_id: str) -> bool:
    """The customer got the order's ``order.shipped`` and ``order.delivered`` messages."""
    from chalicelib.notifications.outbox import list_messages

    templates = {m.template for m in list_messages(tenant_id, limit=50)}
    return {"order.shipped", "order.delivered"} <= templates


def sync_logs(api: Any, shop: Shop, provider: str) -> list[dict[str, Any]]:
    """The shop's sync log of ``provider``, newest first."""
    return list(call(api, "GET", f"/integrations/{provider}/logs", headers=shop.admin.headers()).json_body["items"])
