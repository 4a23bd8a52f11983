"""Commerce against ``make run`` over HTTP and websockets: an order from creation to delivery with stock, live
updates and its state machine; a timer's cancellation; races for a transition, a slot and the last units."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from localdev.seed import DEMO_PASSWORD
from tests.e2e.conftest import Runner


class Api:
    """A logged-in user of the running server."""

    def __init__(self, runner: Runner, token: str, ip: str) -> None:
        self.base = runner.api
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": ip}

    def __call__(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, f"{self.base}{path}", json=body, headers=self.headers, timeout=30)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = self(method, path, body)
        assert response.status_code == status, response.text
        return response.json()


def _login(runner: Runner, email: str, password: str = DEMO_PASSWORD) -> Api:
    ip = f"10.77.{int(time.time() * 1000) % 250}.{len(email)}"
    response = httpx.post(
        f"{runner.api}/auth/login",
        json={"identifier": email, "password": password},
        headers={"X-Forwarded-For": ip},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return Api(runner, response.json()["accessToken"], ip)


def _fresh_restaurant(runner: Runner, name: str) -> Api:
    email = f"{name}-{time.time_ns()}@example.com"
    body = {
        "companyName": f"E2E {name}",
        "businessType": "restaurant",
        "admin": {"name": "E2E Owner", "email": email, "password": "e2e-long-password-1"},
    }
    ip = f"10.78.{time.time_ns() % 250}.{time.time_ns() % 250}"
    response = httpx.post(f"{runner.api}/auth/signup", json=body, headers={"X-Forwarded-For": ip}, timeout=30)
    assert response.status_code == 201, response.text
    runner.change_plan(response.json()["tenant"]["id"])
    return Api(runner, response.json()["tokens"]["accessToken"], ip)


def _until(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.3)


def _product(api: Api, units: int, **fields: Any) -> dict[str, Any]:
    body = {"kind": "product", "name": "Pizza E2E", "price": {"amount": "30.00", "currency": "BRL"}, **fields}
    product = api.ok("POST", "/products", body, status=201)
    if units:
        api.ok("POST", f"/inventory/{product['id']}/movements", {"type": "in", "quantity": units}, status=201)
    return dict(product)


def _execution(runner: Runner, order_id: str) -> str | None:
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=runner.urls["moto server"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if json.loads(described.get("input") or "{}").get("entityId") == order_id:
                return str(described["status"])
    return None


@pytest.fixture
def live(runner: Runner) -> Iterator[tuple[Api, ClientConnection]]:
    api = _login(runner, "admin@cantina.example.com")
    with connect(f"{runner.websocket}/?token={api.token}", open_timeout=10) as socket:
        yield api, socket


def _frames(socket: ClientConnection, about: str, wanted: int, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """The frames about entity ``about`` (others, such as the demo data's, are skipped), in arrival order."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(frames) < wanted and time.monotonic() < deadline:
        try:
            frame = json.loads(socket.recv(timeout=1))
        except TimeoutError:
            continue
        if frame["data"].get("id") == about:
            frames.append(frame)
    return frames


def test_an_order_from_creation_to_delivery(runner: Runner, live: tuple[Api, ClientConnection]) -> None:
    api, socket = live
    product = _product(api, 5, name="Lasanha")
    customer = api.ok("POST", "/customers", {"name": "Cliente E2E", "email": f"e2e{time.time_ns()}@example.com"}, 201)
    order = api.ok(
        "POST", "/orders", {"items": [{"productId": product["id"], "quantity": 2}], "customerId": customer["id"]}, 201
    )
    assert order["status"] == "PENDING"
    for to in ("CONFIRMED", "PREPARING", "READY", "DELIVERED"):
        order = api.ok("POST", f"/orders/{order['id']}/transitions", {"to": to, "version": order["version"]})
        if to == "CONFIRMED":
            stock = api.ok("GET", f"/inventory/{product['id']}")
            assert (stock["reserved"], stock["available"]) == (2, 3)
    stock = api.ok("GET", f"/inventory/{product['id']}")
    assert (stock["onHand"], stock["reserved"]) == (3, 0)
    history = api.ok("GET", f"/orders/{order['id']}/history")["items"]
    assert [h["to"] for h in history] == ["CONFIRMED", "PREPARING", "READY", "DELIVERED"]
    frames = _frames(socket, order["id"], 5)
    assert all(f["event"] == "order:update" for f in frames)
    assert [f["data"]["type"] for f in frames][:1] == ["order.created"]
    assert [f["data"].get("to") for f in frames[1:]] == ["CONFIRMED", "PREPARING", "READY", "DELIVERED"]
    _until(lambda: _execution(runner, order["id"]) == "SUCCEEDED")


def test_an_unconfirmed_order_is_cancelled_by_its_timer(runner: Runner) -> None:
    api = _fresh_restaurant(runner, "timer")
    flow = api.ok("GET", "/workflows/order")
    next(s for s in flow["statuses"] if s["name"] == "PENDING")["timers"] = [
        {"afterSeconds": 2, "transitionTo": "CANCELLED"}
    ]
    api.ok("PUT", "/workflows/order", {k: flow[k] for k in ("initial", "statuses", "transitions")})
    product = _product(api, 1)
    order = api.ok("POST", "/orders", {"items": [{"productId": product["id"], "quantity": 1}]}, 201)
    _until(lambda: api.ok("GET", f"/orders/{order['id']}")["status"] == "CANCELLED")
    assert api.ok("GET", f"/orders/{order['id']}/history")["items"][0]["trigger"] == "timer"


def _race(calls: list[Callable[[], int]]) -> list[int]:
    barrier = threading.Barrier(len(calls))
    results: list[int] = []

    def run(call: Callable[[], int]) -> None:
        barrier.wait()
        results.append(call())

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)


def test_races_have_exactly_one_winner_and_stock_never_goes_negative(runner: Runner) -> None:
    api = _fresh_restaurant(runner, "races")
    product = _product(api, 3)
    order = api.ok("POST", "/orders", {"items": [{"productId": product["id"], "quantity": 1}]}, 201)
    transitions = _race(
        [
            lambda: api("POST", f"/orders/{order['id']}/transitions", {"to": "CONFIRMED", "version": 1}).status_code,
            lambda: api("POST", f"/orders/{order['id']}/transitions", {"to": "CANCELLED", "version": 1}).status_code,
        ]
    )
    assert transitions == [200, 409]

    first_reserved = 1 if api.ok("GET", f"/orders/{order['id']}")["status"] == "CONFIRMED" else 0
    orders = [
        api.ok("POST", "/orders", {"items": [{"productId": product["id"], "quantity": 1}]}, 201) for _ in range(5)
    ]

    def confirm(order_id: str) -> int:
        return api("POST", f"/orders/{order_id}/transitions", {"to": "CONFIRMED", "version": 1}).status_code

    confirms = _race([functools.partial(confirm, o["id"]) for o in orders])
    stock = api.ok("GET", f"/inventory/{product['id']}")
    # Exactly the units left were reserved, never more: 3 on hand, one maybe held by the first order.
    assert confirms.count(200) == 3 - first_reserved
    assert (stock["available"], stock["reserved"]) == (0, 3)

    resource = api.ok(
        "POST",
        "/resources",
        {
            "name": "Mesa 1",
            "kind": "room",
            "workingHours": {
                d: [{"start": "00:00", "end": "23:55"}] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            },
        },
        201,
    )
    service = api.ok(
        "POST",
        "/products",
        {"kind": "service", "name": "Reserva", "price": {"amount": "0", "currency": "BRL"}, "durationMinutes": 60},
        201,
    )
    start = (datetime.now(UTC) + timedelta(days=2)).replace(hour=20, minute=0, second=0, microsecond=0).isoformat()
    booking = {"resourceId": resource["id"], "serviceId": service["id"], "startsAt": start}
    assert _race([lambda: api("POST", "/appointments", booking).status_code for _ in range(2)]) == [201, 409]
