"""Fixtures of the delivery platforms' tests: the fakes with BTRIX's settings pointed at them, a restaurant, its
catalog, and the local stack's event sources pumped by the test."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from chalicelib.delivery import service as delivery
from chalicelib.integrations.credentials import Provider
from localdev.fake_ifood import FakeIFood
from localdev.fake_rappi import FakeRappi
from localdev.stack import free_port
from tests.support.commerce import stocked_product
from tests.support.environment import settings_from
from tests.support.identity import Account, call, signup
from tests.support.webhooks import Pump


class Deliver:
    """What Lambda's event sources do: stream → bus → queues → the app's consumers, until a condition holds
    (``deliver(condition)``) or nothing moves any more (``settle()``)."""

    def __init__(self) -> None:
        self.pump = Pump()

    def __call__(self, condition: Callable[[], bool], timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "the platform's orders did not get there in time"
            if not self.pump():
                time.sleep(0.1)

    def settle(self, quiet_rounds: int = 5) -> None:
        """Pump until ``quiet_rounds`` rounds in a row moved nothing (what was on its way has arrived)."""
        quiet = 0
        deadline = time.monotonic() + 90.0
        while quiet < quiet_rounds:
            assert time.monotonic() < deadline, "the queues did not settle"
            if self.pump():
                quiet = 0
            else:
                quiet += 1
                time.sleep(0.2)


F = TypeVar("F", FakeIFood, FakeRappi)


def platform_order(api: Any, admin: Account, provider: Provider, platform_order_id: str) -> dict[str, Any] | None:
    """The BTRIX order (as ``GET /orders/{id}`` shows it) of the platform's order, None until it arrived."""
    order_id = delivery.order_of(admin.tenant_id, provider, platform_order_id)
    if order_id is None:
        return None
    response = call(api, "GET", f"/orders/{order_id}", headers=admin.headers())
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def hook_url(hooks: Any, provider: str, admin: Account) -> str:
    """BTRIX's webhook URL of ``provider`` for the tenant (what the restaurant sets at the platform)."""
    return f"{str(hooks.base_url).rstrip('/')}/{provider}?tenant={admin.tenant_id}"


def pointed_at(fake: F, variable: str) -> Iterator[F]:
    """``fake`` started, the setting ``variable`` pointed at it and retries without backoff; stopped after."""
    fake.start()
    env = {variable: fake.url, "BTRIX_INTEGRATION_RETRY_BASE_S": "0", "BTRIX_INTEGRATION_RETRY_MAX_S": "0"}
    try:
        with settings_from(env):
            yield fake
    finally:
        fake.stop()


@pytest.fixture
def ifood(stack: Any) -> Iterator[FakeIFood]:
    """The fake iFood, with ``ifood_api_url`` pointed at it, and retries without backoff."""
    yield from pointed_at(FakeIFood(port=free_port(), seed=11), "BTRIX_IFOOD_API_URL")


@pytest.fixture
def rappi(stack: Any) -> Iterator[FakeRappi]:
    """The fake Rappi, with ``rappi_api_url`` pointed at it, and retries without backoff."""
    yield from pointed_at(FakeRappi(port=free_port(), seed=5), "BTRIX_RAPPI_API_URL")


@pytest.fixture
def deliver(stack: Any) -> Deliver:
    """The event sources of the local stack, pumped by the test."""
    return Deliver()


@pytest.fixture
def admin(api: Any) -> Account:
    """The ADMIN of a fresh restaurant (the seed's restaurant flow)."""
    account, _ = signup(api, plan="corporativo", companyName="Cantina da Nona")
    return account


@pytest.fixture
def store(api: Any, admin: Account, ifood: FakeIFood) -> dict[str, str]:
    """The restaurant's iFood store, connected."""
    merchant = ifood.add_merchant("Cantina da Nona - Centro")
    body = {"credentials": {k: merchant[k] for k in ("clientId", "clientSecret", "merchantId")}}
    response = call(api, "PUT", "/integrations/ifood", body, admin.headers())
    assert response.status_code == 200, response.body
    return merchant


@pytest.fixture
def pizza(api: Any, admin: Account) -> dict[str, Any]:
    """A pizza of the catalog, 20 on hand; its code is the external code of the iFood menu item."""
    return stocked_product(api, admin, 20, name="Pizza margherita", price={"amount": "45.00", "currency": "BRL"})


@pytest.fixture
def rappi_store(api: Any, admin: Account, rappi: FakeRappi, hooks: Any) -> dict[str, str]:
    """The restaurant's Rappi store, connected, its webhooks pointed at BTRIX's function for the tenant."""
    found = rappi.add_store("Cantina da Nona")
    fields = ("clientId", "clientSecret", "storeId", "webhookSecret")
    response = call(api, "PUT", "/integrations/rappi", {"credentials": {k: found[k] for k in fields}}, admin.headers())
    assert response.status_code == 200, response.body
    rappi.set_webhook(found["storeId"], hook_url(hooks, "rappi", admin))
    return found
