"""Conversions against ``make run`` over HTTP: the banner's order for the customer who consented reaches the fake GA4
stream and the fake Meta Pixel, where the banner says to look."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx

from localdev.seed import DEMO_PASSWORD
from tests.e2e.conftest import Runner


def _until(what: str, probe: Any, timeout_s: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, what
        time.sleep(1)


def test_the_banners_order_shows_up_at_the_fake_ga4_and_meta(runner: Runner) -> None:
    lines = [line.strip() for line in runner.output]
    order_line = next(line for line in lines if "/orders " in line and "customerId" in line)
    hits_url = next(line.split()[2] for line in lines if line.endswith("user_id = the customer"))
    pixel_url = next(line.split()[2] for line in lines if "/_pixels/" in line)
    body = json.loads(order_line.split(" -d ", 1)[1].strip().strip("'"))
    login = httpx.post(
        f"{runner.api}/auth/login",
        json={"identifier": "admin@cantina.example.com", "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": "10.79.1.2"},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['accessToken']}", "X-Forwarded-For": "10.79.1.2"}
    placed = httpx.post(f"{runner.api}/orders", json=body, headers=headers, timeout=30)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]

    def ga4_hit() -> dict[str, Any] | None:
        hits = httpx.get(hits_url, timeout=10).json()["hits"]
        return next((h for h in hits if h["params"].get("transaction_id") == order_id), None)

    def meta_event() -> dict[str, Any] | None:
        events = httpx.get(pixel_url, timeout=10).json()["events"]
        return next((e for e in events if e.get("custom_data", {}).get("order_id") == order_id), None)

    hit = _until("no GA4 hit", ga4_hit)
    event = _until("no Meta event", meta_event)
    assert (hit["name"], hit["userId"]) == ("begin_checkout", body["customerId"])
    assert event["event_name"] == "InitiateCheckout"
    assert event["event_id"] == hit["params"]["btrix_event_id"]
    assert event["user_data"]["em"] == hashlib.sha256(b"joana.souza@example.com").hexdigest()
