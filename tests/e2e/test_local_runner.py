"""``make run``'s server driven over HTTP: health, docs (also rendered in headless Chromium), errors, Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

from chalicelib.core.resources import QUEUES
from localdev.seed import DEMO_PASSWORD
from localdev.stack import free_port
from tests.e2e.conftest import Runner, alive, start_runner
from tests.support.browser import NO_CHROMIUM, chromium, rendered_dom


def test_health_is_ok_over_http(runner: Runner) -> None:
    response = httpx.get(f"{runner.api}/health", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["table"]["ok"] is True
    assert len(body["queues"]) == len(QUEUES)


def test_openapi_document_is_valid(runner: Runner) -> None:
    document = httpx.get(f"{runner.api}/api-docs.json", timeout=10).json()
    validate(document, cls=OpenAPIV31SpecValidator)
    assert "/health" in document["paths"]


def test_unknown_paths_are_404_problems_on_both_servers(runner: Runner) -> None:
    for url in (f"{runner.api}/definitely/not/here", f"{runner.hooks}/hooks/no-such-provider"):
        response = httpx.post(url, json={}, timeout=10)
        assert response.status_code == 404, url
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404


@pytest.mark.skipif(chromium() is None, reason=NO_CHROMIUM)
def test_swagger_ui_renders_the_operations_in_headless_chromium(runner: Runner) -> None:
    result = rendered_dom(f"{runner.api}/api-docs")
    dom = result.stdout
    assert "swagger-ui" in dom, result.stderr[-2000:]
    rendered = set(re.findall(r'data-path="([^"]+)"', dom))
    assert {"/health", "/api-docs.json"} <= rendered, sorted(rendered)
    assert "opblock-summary-method" in dom


def test_banner_lists_the_urls_and_the_demo_logins(runner: Runner) -> None:
    banner = "".join(runner.output)
    assert runner.api in banner
    assert f"{runner.hooks}/hooks/<provider>" in banner
    assert "admin@cantina.example.com" in banner
    assert "operator@btrix.example.com" in banner


def test_once_ready_the_demo_is_clean_and_the_terminal_quiet(runner: Runner) -> None:
    # Ready (the ready file written) means seeded, connected and every event of the demo handled.
    health = httpx.get(f"{runner.api}/health", timeout=10).json()
    assert [
        (q["name"], q["messages"], q["deadLetters"]) for q in health["queues"] if q["messages"] or q["deadLetters"]
    ] == []
    terminal = "".join(runner.output)
    assert "WARNING" not in terminal
    assert "ERROR" not in terminal
    assert [line for line in terminal.splitlines() if line.startswith("{")] == []  # JSON lines are in the log file

    refused = httpx.get(f"{runner.api}/auth/me", timeout=10)
    assert refused.status_code == 401
    deadline = time.monotonic() + 10
    while " GET /auth/me 401 " not in "".join(runner.output):
        assert time.monotonic() < deadline, "".join(runner.output)[-2000:]
        time.sleep(0.1)
    lines = [
        json.loads(line)
        for line in Path(runner.ready["logFile"]).read_text().splitlines()
        if line.startswith('{"level"')
    ]
    refusals = [line for line in lines if line["message"] == "request refused" and line.get("status") == 401]
    assert refusals
    assert {line["function_name"] for line in refusals} == {"api"}


def _post(runner: Runner, path: str, body: dict[str, object], **headers: str) -> httpx.Response:
    return httpx.post(f"{runner.api}{path}", json=body, headers=headers, timeout=20)


def test_demo_users_of_every_role_can_log_in(runner: Runner) -> None:
    for role in ("admin", "manager", "staff", "kitchen", "agent", "sales-rep", "viewer"):
        answer = _post(
            runner, "/auth/login", {"identifier": f"{role}@spokechain.example.com", "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 200, (role, answer.text)
    me = httpx.get(
        f"{runner.api}/auth/me", headers={"Authorization": f"Bearer {answer.json()['accessToken']}"}, timeout=20
    ).json()
    assert (me["user"]["role"], me["tenant"]["locale"], me["tenant"]["currency"]) == ("VIEWER", "en-US", "USD")


def test_the_demo_sales_company_has_its_sales_leads_and_dashboard(runner: Runner) -> None:
    tokens = {
        role: _post(
            runner, "/auth/login", {"identifier": f"{role}@nordisksalg.example.com", "password": DEMO_PASSWORD}
        ).json()["accessToken"]
        for role in ("manager", "sales-rep")
    }

    def get(role: str, path: str) -> dict[str, Any]:
        response = httpx.get(f"{runner.api}{path}", headers={"Authorization": f"Bearer {tokens[role]}"}, timeout=20)
        assert response.status_code == 200, response.text
        return dict(response.json())

    everything = get("manager", "/sales?limit=100")["items"]
    assert len(everything) == 7  # six sold, one converted from a lead
    assert {s["status"] for s in everything} >= {"PENDING", "ACCEPTED", "SCHEDULED", "IN_PROGRESS", "COMPLETED"}
    assert all(s["amounts"]["final"]["currency"] == "DKK" and s["number"].startswith("S-") for s in everything)
    mine = get("sales-rep", "/sales?limit=100")["items"]
    assert 0 < len(mine) < len(everything)
    assert len({s["assignedTo"] for s in mine}) == 1
    assert [lead["contactName"] for lead in get("manager", "/leads?status=QUALIFIED")["items"]] == ["Camilla Holm"]
    deadline = time.monotonic() + 90
    while (board := get("manager", "/analytics/dashboard"))["totals"]["salesCount"] < 7:
        assert time.monotonic() < deadline, board["totals"]  # the worker delivers the events to the aggregates
        time.sleep(1)
    assert board["totals"]["completedSales"] == 1
    assert board["totals"]["leadsConverted"] == 1
    assert "nordisksalg.example.com" in "".join(runner.output)


def _fake_url(runner: Runner, kind: str) -> str:
    line = next(line for line in runner.output if line.strip().startswith(f"fake {kind} "))
    return line.split()[-1]


def test_the_demo_sales_company_invoices_in_billy_and_schedules_in_google_calendar(runner: Runner) -> None:
    billy, google = _fake_url(runner, "billy"), _fake_url(runner, "google")
    token = _post(
        runner, "/auth/login", {"identifier": "manager@nordisksalg.example.com", "password": DEMO_PASSWORD}
    ).json()["accessToken"]
    sales = httpx.get(f"{runner.api}/sales?limit=100", headers={"Authorization": f"Bearer {token}"}, timeout=20).json()[
        "items"
    ]
    completed = next(s for s in sales if s["status"] == "COMPLETED")
    deadline = time.monotonic() + 120
    while True:
        invoices = httpx.get(f"{billy}/_invoices", timeout=10).json()["invoices"]
        calendars = httpx.get(f"{google}/_events", timeout=10).json()["calendars"]
        events = [event for calendar in calendars.values() for event in calendar.values()]
        if invoices and events:
            break
        assert time.monotonic() < deadline, (invoices, events)  # the worker runs the seeded sales' actions
        time.sleep(1)
    assert [completed["number"] in (invoice["contactMessage"] or "") for invoice in invoices] == [True]
    assert [event["start"]["timeZone"] for event in events] == ["Europe/Copenhagen"]
    assert "/integrations/billy/sync" in "".join(runner.output)


def test_signup_login_me_refresh_reuse_and_lockout_over_http(runner: Runner) -> None:
    ip = {"X-Forwarded-For": "203.0.113.7"}
    email = "e2e-owner@example.com"
    signup = _post(
        runner,
        "/auth/signup",
        {
            "companyName": "E2E Pet Store",
            "businessType": "pet_store",
            "admin": {"name": "Eve Owner", "email": email, "password": "e2e-long-password-1"},
        },
        **ip,
    )
    assert signup.status_code == 201, signup.text
    login = _post(runner, "/auth/login", {"identifier": email, "password": "e2e-long-password-1"}, **ip).json()
    me = httpx.get(f"{runner.api}/auth/me", headers={"Authorization": f"Bearer {login['accessToken']}"}, timeout=20)
    assert me.json()["tenant"]["businessType"] == "pet_store"
    renewed = _post(runner, "/auth/refresh", {"refreshToken": login["refreshToken"]}, **ip).json()
    replay = _post(runner, "/auth/refresh", {"refreshToken": login["refreshToken"]}, **ip)
    assert replay.status_code == 401
    assert _post(runner, "/auth/refresh", {"refreshToken": renewed["refreshToken"]}, **ip).status_code == 401
    other_ip = {"X-Forwarded-For": "203.0.113.8"}
    statuses = [
        _post(runner, "/auth/login", {"identifier": email, "password": "wrong-password-xx"}, **other_ip).status_code
        for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429]


def test_ctrl_c_stops_everything_it_started(runner: Runner) -> None:
    assert runner.service_pids, "the banner lists the PIDs of DynamoDB Local and moto"
    assert all(alive(pid) for pid in runner.service_pids)
    assert runner.stop() == 0
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in runner.service_pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in runner.service_pids if alive(pid)]
    assert runner.drain is not None
    runner.drain.join(timeout=10)
    assert "Stopped." in "".join(runner.output)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{runner.api}/health", timeout=2)


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


@pytest.mark.parametrize("moment", ["Starting DynamoDB Local", "Seeding the demo"])
def test_ctrl_c_during_start_up_stops_everything_at_once(tmp_path: Path, moment: str) -> None:
    names = ("API", "HOOKS", "WS", "WS_MANAGEMENT", "FAKE_TWILIO", "FAKE_META", "FAKE_SES", "FAKE_WEBPUSH")
    fakes = ("FAKE_BITRIX24", "FAKE_STRIPE", "FAKE_MERCADOPAGO", "FAKE_BILLY", "FAKE_GOOGLE")
    ports = {f"BTRIX_{name}_PORT": str(free_port()) for name in (*names, *fakes)}
    ready_file = tmp_path / "ready.json"
    process, output, drain = start_runner(ready_file, **ports)
    deadline = time.monotonic() + 240
    while not any(line.startswith(moment) for line in list(output)):
        assert process.poll() is None, "".join(output)
        assert time.monotonic() < deadline, "".join(output)
        time.sleep(0.05)
    started = _children(process.pid)
    if moment.startswith("Seeding"):
        assert len(started) >= 2, "DynamoDB Local and moto run by now"

    process.send_signal(signal.SIGINT)
    while process.poll() is None:  # a service spawned right then is counted too
        started |= _children(process.pid)
        assert time.monotonic() < deadline + 60, "".join(output)
        time.sleep(0.1)

    assert process.returncode == 0
    drain.join(timeout=10)
    text = "".join(output)
    assert "Stopped." in text
    assert "BTRIX is running" not in text
    assert not ready_file.exists()
    gone_by = time.monotonic() + 15
    while any(alive(pid) for pid in started) and time.monotonic() < gone_by:
        time.sleep(0.2)
    assert not [pid for pid in started if alive(pid)]
