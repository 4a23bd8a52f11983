"""Fixtures of the ERP tests: the fake Bling (accepting BTRIX's local Bling app), BTRIX's settings pointed at it, the
integrations queue retried without waiting, and the local event path pumped until a condition holds."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.core import clock
from chalicelib.core.money import Money
from chalicelib.payments import payables
from localdev.fake_bling import FakeBling
from localdev.provision import local_webhook_secrets
from tests.support.commerce import create_customer
from tests.support.consent import allow, callback
from tests.support.environment import settings_from
from tests.support.identity import Account, call, signup
from tests.support.webhooks import Pump

CALLBACK = "http://127.0.0.1:8000/integrations/bling/callback"
Deliver = Callable[[Callable[[], bool]], None]


@pytest.fixture
def bling(stack: Any) -> Iterator[FakeBling]:
    """The fake Bling, with the Bling settings pointed at it and integration jobs retried at once."""
    app = json.loads(local_webhook_secrets()["bling-oauth-app"])
    fake = FakeBling(client_id=app["clientId"], client_secret=app["clientSecret"], redirect_uri=CALLBACK, seed=5)
    fake.start()
    try:
        plain_http = {"BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true"}  # the fake speaks plain http on 127.0.0.1
        with settings_from({**fake.settings_env(), **plain_http, "BTRIX_INTEGRATION_RETRY_BASE_S": "0"}):
            yield fake
    finally:
        fake.stop()


@pytest.fixture
def admin(api: Any) -> Account:
    """The ADMIN of a fresh tenant with every module."""
    account, _ = signup(api, plan="corporativo")
    return account


@pytest.fixture
def deliver(stack: Any) -> Iterator[Deliver]:
    """What Lambda's event sources do (the table stream → bus → queues → the app's consumers), until
    ``condition()``; afterwards the queues are pumped until quiet, so no job of the test is left behind."""
    pump = Pump()

    def until(condition: Callable[[], bool], timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "the ERP sync did not get there in time"
            if not pump():
                time.sleep(0.2)

    yield until
    quiet = 0
    deadline = time.monotonic() + 30
    while quiet < 3 and time.monotonic() < deadline:
        quiet = 0 if pump() else quiet + 1


def order_for(api: Any, admin: Account, product_id: str, quantity: int, **customer: Any) -> dict[str, Any]:
    """An order of ``quantity`` units of the product, for a new customer (``customer``: its fields)."""
    buyer = create_customer(api, admin, **customer)
    body = {"items": [{"productId": product_id, "quantity": quantity}], "customerId": buyer["id"], "channel": "web"}
    response = call(api, "POST", "/orders", body, admin.headers())
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def pay(tenant_id: str, order: dict[str, Any]) -> None:
    """The order's payment confirmed, as the payments capability records it."""
    total = Money.model_validate(order["totals"]["total"])
    nothing = Money(amount=Decimal(0), currency=total.currency)
    state = payables.PaymentState("paid", f"pay-{order['id']}", total, nothing, clock.now_iso())
    payables.owner("order").record_payment(tenant_id, order["id"], state)


def get_json(api: Any, admin: Account, path: str) -> dict[str, Any]:
    """``GET path`` as the ADMIN: its JSON body (asserting a 200)."""
    answer = call(api, "GET", path, headers=admin.headers())
    assert answer.status_code == 200, answer.body
    return dict(answer.json_body)


PERSON = {"name": "Joana Prado", "document": "52998224725", "email": "joana@example.com", "phone": "+5511987650000"}


def erase(api: Any, admin: Account, deliver: Deliver, customer_id: str, processor: str) -> str:
    """Erase the customer (``POST /privacy/erasures``) until ``processor``'s outcome is done; the pseudonym."""
    erasure = call(api, "POST", "/privacy/erasures", {"subject": "customer", "id": customer_id}, admin.headers())
    assert erasure.status_code == 202, erasure.body
    path = f"/privacy/erasures/{erasure.json_body['id']}"

    def outcomes() -> dict[str, str]:
        return {p["processor"]: p["status"] for p in get_json(api, admin, path)["processors"]}

    deliver(lambda: outcomes() == {processor: "done"})
    result = get_json(api, admin, path)
    assert result["status"] == "completed", result
    return str(result["pseudonym"])


CALLBACK_PATH = "/integrations/bling/callback"


def connect_bling(api: Any, admin: Account, **settings: Any) -> dict[str, Any]:
    """Connect Bling by consent (the fake's user authorizes); returns the integration."""
    connected = callback(api, "bling", allow(api, admin, "bling", settings))
    assert connected.status_code == 200, connected.body
    return dict(connected.json_body)


def sync_logs(api: Any, admin: Account, provider: str = "bling") -> list[dict[str, Any]]:
    """The newest 100 entries of the tenant's sync log of ``provider``."""
    answer = call(api, "GET", f"/integrations/{provider}/logs?limit=100", headers=admin.headers())
    assert answer.status_code == 200, answer.body
    return list(answer.json_body["items"])
