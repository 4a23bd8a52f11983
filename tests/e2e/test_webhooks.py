"""Outgoing webhooks against ``make run`` over HTTP: a loopback receiver gets signed messages that verify with the
``standardwebhooks`` package; one answering 500 sees every retry; replay sends again; 410 disables the endpoint."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import Runner
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture(scope="module", autouse=True)
def short_retries() -> Iterator[None]:
    """The server started for this module retries on Svix's schedule times 1/10,000 (about 10 s in all)."""
    previous = os.environ.get("BTRIX_WEBHOOK_RETRY_SCALE")
    os.environ["BTRIX_WEBHOOK_RETRY_SCALE"] = "0.0001"
    yield
    if previous is None:
        os.environ.pop("BTRIX_WEBHOOK_RETRY_SCALE", None)
    else:
        os.environ["BTRIX_WEBHOOK_RETRY_SCALE"] = previous


class Api:
    """The ADMIN of a fresh tenant of the running server."""

    def __init__(self, runner: Runner) -> None:
        self.base = runner.api
        ip = f"10.79.{time.time_ns() % 250}.{time.time_ns() % 250}"
        body = {
            "companyName": "E2E Webhooks",
            "businessType": "restaurant",
            "admin": {
                "name": "E2E Owner",
                "email": f"hooks-{time.time_ns()}@example.com",
                "password": "e2e-long-pw-12",
            },
        }
        response = httpx.post(f"{self.base}/auth/signup", json=body, headers={"X-Forwarded-For": ip}, timeout=30)
        assert response.status_code == 201, response.text
        runner.change_plan(response.json()["tenant"]["id"])
        self.headers = {"Authorization": f"Bearer {response.json()['tokens']['accessToken']}", "X-Forwarded-For": ip}

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = httpx.request(method, f"{self.base}{path}", json=body, headers=self.headers, timeout=30)
        assert response.status_code == status, response.text
        return response.json() if response.content else None


def _until(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.3)


def test_signed_messages_retries_replay_and_410(runner: Runner) -> None:
    api = Api(runner)
    with WebhookReceiver() as receiver:
        endpoint = api.ok("POST", "/webhook-endpoints", {"url": receiver.url(), "eventTypes": ["customer.*"]}, 201)
        verify = Webhook(endpoint["secret"])

        customer = api.ok("POST", "/customers", {"name": "Rita Webhook"}, 201)
        [created] = receiver.wait_for(1, timeout_s=60)
        payload = verify.verify(created.body, created.headers)
        assert (payload["type"], payload["subject"]) == ("customer.created", customer["id"])

        receiver.answer(500)
        test = api.ok("POST", f"/webhook-endpoints/{endpoint['id']}/test", status=202)
        retries = receiver.wait_for(1 + 8, timeout_s=90)[1:]
        assert {r.webhook_id for r in retries} == {test["id"]}
        for request in retries:
            verify.verify(request.body, request.headers)
        log_path = f"/webhook-endpoints/{endpoint['id']}/deliveries"
        _until(lambda: api.ok("GET", log_path)["items"][0]["status"] == "failed")
        assert api.ok("GET", log_path)["items"][0]["attemptCount"] == 8

        receiver.answer(200)
        api.ok("POST", f"{log_path}/{test['id']}/replay", status=202)
        replayed = receiver.wait_for(10, timeout_s=60)[-1]
        assert replayed.webhook_id == test["id"]
        verify.verify(replayed.body, replayed.headers)

        receiver.answer(410)
        api.ok("POST", "/customers", {"name": "Gone Webhook"}, 201)
        receiver.wait_for(11, timeout_s=60)
        _until(lambda: not api.ok("GET", f"/webhook-endpoints/{endpoint['id']}")["enabled"])
        assert api.ok("GET", f"/webhook-endpoints/{endpoint['id']}")["disabledReason"] == "gone"
