"""iFood against ``make run`` over HTTP: an order dropped into the fake iFood (as the banner says) reaches the demo
restaurant by the poll, goes through the restaurant's flow to delivered, and the fake sees iFood's status calls."""

from __future__ import annotations

import time
from typing import Any

import httpx

from localdev.seed import DEMO_PASSWORD
from tests.e2e.conftest import Runner


def _fake_url(runner: Runner, kind: str) -> str:
    line = next(line for line in runner.output if line.strip().startswith(f"fake {kind} "))
    return line.split()[-1]


def _until(what: str, probe: Any, timeout_s: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, what
        time.sleep(1)


def test_an_ifood_order_reaches_the_demo_restaurant_and_goes_to_delivered_with_ifood_told(runner: Runner) -> None:
    banner = "".join(runner.output)
    assert "/integrations/ifood/sync" in banner
    fake = _fake_url(runner, "ifood")
    drop = next(line.strip() for line in runner.output if f"{fake}/_orders -d" in line)
    body = drop.split(" -d ", 1)[1].strip().strip("'")
    placed = httpx.post(f"{fake}/_orders", content=body, timeout=10)
    assert placed.status_code == 201, placed.text
    ifood_order = placed.json()["id"]
    login = httpx.post(
        f"{runner.api}/auth/login",
        json={"identifier": "admin@cantina.example.com", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": "10.79.1.1"},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['accessToken']}", "X-Forwarded-For": "10.79.1.1"}
    synced = httpx.post(f"{runner.api}/integrations/ifood/sync", headers=headers, timeout=30)
    assert synced.status_code == 202, synced.text

    def arrived() -> dict[str, Any] | None:
        orders = httpx.get(f"{runner.api}/orders?limit=100", headers=headers, timeout=30).json()["items"]
        return next((o for o in orders if (o.get("platform") or {}).get("orderId") == ifood_order), None)

    order = _until("the iFood order did not arrive", arrived)
    assert (order["channel"], order["status"], order["needsReview"]) == ("ifood", "PENDING", True)
    assert [line["productId"] is not None for line in order["items"]] == [True, False]
    for status in ("CONFIRMED", "PREPARING", "READY", "DELIVERED"):
        current = httpx.get(f"{runner.api}/orders/{order['id']}", headers=headers, timeout=30).json()
        moved = httpx.post(
            f"{runner.api}/orders/{order['id']}/transitions",
            json={"to": status, "version": current["version"]},
            headers=headers,
            timeout=30,
        )
        assert moved.status_code == 200, moved.text

    def told() -> list[str] | None:
        actions = list(httpx.get(f"{fake}/_orders/{ifood_order}", timeout=10).json()["actions"])
        return actions if len(actions) >= 3 else None

    assert _until("iFood was not told", told) == ["confirm", "startPreparation", "dispatch"]
