"""The ERPs through ``make run``: the demo starts with both ERPs in step (no conflict in their sync logs), and the
banner's lines, pasted into bash, push a stock count to the fake Bling and the fake Tiny, count differently there and
pull: the difference is logged as a conflict and BTRIX's count is kept."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx
import pytest

from localdev.seed import DEMO_PASSWORD, DEMO_TENANTS, RESELLER_DEMO
from tests.e2e.conftest import Runner

_SECTIONS = {"bling": ("Bling (ERP):", RESELLER_DEMO.domain), "tiny": ("Tiny ERP:", DEMO_TENANTS[0].domain)}


def _section(banner: str, title: str) -> list[str]:
    start = banner.index(title)
    lines = banner[start:].splitlines()
    body = lines[next(i for i, line in enumerate(lines) if line.startswith("    ")) :]
    return [line.strip() for line in body[: next(i for i, line in enumerate(body) if not line.strip())]]


def _bash(script: str) -> str:
    ran = subprocess.run(["bash", "-c", "set -e\n" + script], capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def _headers(runner: Runner, domain: str) -> dict[str, str]:
    login = {"identifier": f"admin@{domain}", "password": DEMO_PASSWORD}
    token = httpx.post(f"{runner.api}/auth/login", json=login, timeout=30).json()["accessToken"]
    return {"Authorization": f"Bearer {token}"}


def _logs(runner: Runner, provider: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = httpx.get(f"{runner.api}/integrations/{provider}/logs?limit=100", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def _until(what: str, probe: Any, timeout_s: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := probe()):
        if time.monotonic() > deadline:
            pytest.fail(what)
        time.sleep(1)
    return found


def test_the_demo_starts_with_both_erps_in_step(runner: Runner) -> None:
    for provider, (_, domain) in _SECTIONS.items():
        headers = _headers(runner, domain)
        listed = httpx.get(f"{runner.api}/integrations", headers=headers, timeout=30).json()["items"]
        integration = next(i for i in listed if i["provider"] == provider)
        assert integration["status"] == "connected", integration
        assert integration["summary"]["sourceOfTruth"] == "btrix"
        assert [entry for entry in _logs(runner, provider, headers) if not entry["ok"]] == []


@pytest.mark.parametrize("provider", ["bling", "tiny"])
def test_the_banners_lines_push_a_count_to_the_erp_and_a_pull_logs_its_different_count(
    runner: Runner, provider: str
) -> None:
    title = _SECTIONS[provider][0]
    banner = "".join(runner.output)
    assert title in banner, banner[-3000:]
    lines = _section(banner, title)
    counted = next(i for i, line in enumerate(lines) if "/_stock" in line)
    pushed, pull = lines[:counted], lines[counted:]
    fake = pull[0].split()[4].removesuffix("/_stock")
    httpx.delete(f"{fake}/_received", timeout=10)  # the demo's own pushes are done (ready): what follows is ours
    token, product_id, code = _bash("\n".join(pushed) + '\necho; echo "$token $id $code"').splitlines()[-1].split()
    stock_calls = ("/Api/v3/estoques", "produto.atualizar.estoque")

    def pushed_to_the_fake() -> bool:
        received = httpx.get(f"{fake}/_received", timeout=10).json()["received"]
        return any(call.get("path") in stock_calls or call.get("method") in stock_calls for call in received)

    _until(f"the stock push never reached the fake {provider}", pushed_to_the_fake)
    headers = {"Authorization": f"Bearer {token}"}
    before = httpx.get(f"{runner.api}/inventory/{product_id}", headers=headers, timeout=30).json()["onHand"]
    assert before != 7
    _bash(f"token='{token}'; id='{product_id}'; code='{code}'\n" + "\n".join(pull))

    def conflict() -> list[dict[str, Any]]:
        return [e for e in _logs(runner, provider, headers) if e["operation"] == "conflict" and code in e["error"]]

    logged = _until(f"the pull logged no conflict for {code}", conflict)
    assert f"BTRIX {before}" in logged[0]["error"]
    assert " 7" in logged[0]["error"]
    after = httpx.get(f"{runner.api}/inventory/{product_id}", headers=headers, timeout=30).json()["onHand"]
    assert after == before  # logged, not overwritten
