"""iFood and Rappi against ``make run`` over HTTP: an order dropped into the fake platform (as the banner says)
reaches the demo restaurant (iFood's by the poll, Rappi's by its signed webhook), goes through the restaurant's flow
to delivered, and the fake sees the platform's status calls."""

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


def _drop(runner: Runner, fake: str) -> str:
    """Drop an order into the fake as the banner's line does; its platform id."""
    drop = next(line.strip() for line in runner.output if f"{fake}/_orders -d" in line)
    body = drop.split(" -d ", 1)[1].strip().strip("'")
    placed = httpx.post(f"{fake}/_orders", content=body, timeout=10)
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


def _restaurant_admin(runner: Runner) -> dict[str, str]:
    login = httpx.post(
        f"{runner.api}/auth/login",
        json={"identifier": "admin@cantina.example.com", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": "10.79.1.1"},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['accessToken']}", "X-Forwarded-For": "10.79.1.1"}


def _arrived(runner: Runner, headers: dict[str, str], platform_order: str) -> dict[str, Any]:
    def arrived() -> dict[str, Any] | None:
        orders = httpx.get(f"{runner.api}/orders?limit=100", headers=headers, timeout=30).json()["items"]
        return next((o for o in orders if (o.get("platform") or {}).get("orderId") == platform_order), None)

    found: dict[str, Any] = _until(f"the platform order {platform_order} did not arrive", arrived)
    return found


def _to_delivered(runner: Runner, headers: dict[str, str], order: dict[str, Any]) -> None:
    for status in ("CONFIRMED", "PREPARING", "READY", "DELIVERED"):
        current = httpx.get(f"{runner.api}/orders/{order['id']}", headers=headers, timeout=30).json()
        moved = httpx.post(
            f"{runner.api}/orders/{order['id']}/transitions",
            json={"to": status, "version": current["version"]},
            headers=headers,
            timeout=30,
        )
        assert moved.status_code == 200, moved.text


def _told(fake: str, platform_order: str, calls: int) -> list[str]:
    def told() -> list[str] | None:
        actions = list(httpx.get(f"{fake}/_orders/{platform_order}", timeout=10).json()["actions"])
        return actions if len(actions) >= calls else None

    found: list[str] = _until("the platform was not told", told)
    return found


def test_an_ifood_order_reaches_the_demo_restaurant_and_goes_to_delivered_with_ifood_told(runner: Runner) -> None:
    banner = "".join(runner.output)
    assert "/integrations/ifood/sync" in banner
    fake = _fake_url(runner, "ifood")
    ifood_order = _drop(runner, fake)
    headers = _restaurant_admin(runner)
    synced = httpx.post(f"{runner.api}/integrations/ifood/sync", headers=headers, timeout=30)
    assert synced.status_code == 202, synced.text
    order = _arrived(runner, headers, ifood_order)
    assert (order["channel"], order["status"], order["needsReview"]) == ("ifood", "PENDING", True)
    assert [line["productId"] is not None for line in order["items"]] == [True, False]
    _to_delivered(runner, headers, order)
    assert _told(fake, ifood_order, 3) == ["confirm", "startPreparation", "dispatch"]


def test_a_rappi_order_reaches_the_demo_restaurant_by_webhook_and_goes_to_delivered_with_rappi_told(
    runner: Runner,
) -> None:
    fake = _fake_url(runner, "rappi")
    rappi_order = _drop(runner, fake)
    webhooks = httpx.get(f"{fake}/_received", timeout=10).json()["webhooks"]
    assert {"event": "NEW_ORDER", "status": 200} in webhooks  # the signed webhook was taken
    headers = _restaurant_admin(runner)
    order = _arrived(runner, headers, rappi_order)
    assert (order["channel"], order["status"], order["needsReview"]) == ("rappi", "PENDING", True)
    assert [line["productId"] is not None for line in order["items"]] == [True, False]
    _to_delivered(runner, headers, order)
    assert _told(fake, rappi_order, 2) == ["take", "ready-for-pickup"]


def test_a_rappi_order_whose_webhook_is_lost_arrives_by_the_recovery_poll_as_the_banner_says(runner: Runner) -> None:
    fake = _fake_url(runner, "rappi")
    lose = next(line.strip() for line in runner.output if f"{fake}/_config -d" in line)
    config = lose.split(" -d ", 1)[1].split("'")[1]
    assert httpx.post(f"{fake}/_config", content=config, timeout=10).status_code == 200
    rappi_order = _drop(runner, fake)
    webhooks = httpx.get(f"{fake}/_received", timeout=10).json()["webhooks"]
    assert webhooks[-1] == {"event": "NEW_ORDER", "status": 0}  # lost: BTRIX never heard of it
    headers = _restaurant_admin(runner)
    assert "/integrations/rappi/sync" in "".join(runner.output)
    synced = httpx.post(f"{runner.api}/integrations/rappi/sync", headers=headers, timeout=30)
    assert synced.status_code == 202, synced.text
    order = _arrived(runner, headers, rappi_order)
    assert (order["channel"], order["status"]) == ("rappi", "PENDING")
