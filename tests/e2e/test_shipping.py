"""Shipping through ``make run``: the banner's lines, pasted into bash, quote the demo shop's order with the fake
MelhorEnvio, buy its label, let the carrier post it and sync the tracking; the order ends SHIPPED with the carrier's
tracking code."""

from __future__ import annotations

import re
import subprocess
import time

import httpx
import pytest

from localdev.seed import DEMO_PASSWORD, RESELLER_DEMO
from tests.e2e.conftest import Runner


def _section(banner: str) -> list[str]:
    start = banner.index("Shipping (MelhorEnvio)")
    lines = banner[start:].splitlines()[1:]
    return [line.strip() for line in lines[: next(i for i, line in enumerate(lines) if not line.strip())]]


def test_the_banners_lines_quote_buy_a_label_and_track_the_demo_order(runner: Runner) -> None:
    banner = "".join(runner.output)
    assert "Shipping (MelhorEnvio)" in banner, banner[-3000:]
    number = int(re.search(r"its order #(\d+)", banner).group(1))  # type: ignore[union-attr]
    script = "set -e\n" + "\n".join(_section(banner)) + "\n"
    ran = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert re.search(r"label [0-9a-f-]{36}: http://127\.0\.0\.1:\d+/imprimir/", ran.stdout), ran.stdout
    assert '"provider": "melhorenvio"' in ran.stdout  # the quotes
    login = {"identifier": f"admin@{RESELLER_DEMO.domain}", "password": DEMO_PASSWORD}
    token = httpx.post(f"{runner.api}/auth/login", json=login, timeout=20).json()["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        orders = httpx.get(f"{runner.api}/orders?status=SHIPPED", headers=headers, timeout=20).json()["items"]
        shipped = next((o for o in orders if o["number"] == number), None)
        if shipped is not None:
            assert re.fullmatch(r"BR\d{9}BR", shipped["shipment"]["trackingCode"])
            return
        time.sleep(0.5)
    pytest.fail("the demo order was not SHIPPED within 90 s of the tracking sync")
