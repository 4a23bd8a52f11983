"""Notifications against ``make run`` over HTTP: an order's confirmation reaches the fake Meta in the customer's
locale, and 200 messages through a fake Twilio that fails 30 % of requests end sent once or visibly failed."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from chalicelib.notifications.delivery import MAX_ATTEMPTS
from localdev.seed import DEMO_PASSWORD
from tests.e2e.conftest import Runner

_BATCH = 200
_SETTLE_TIMEOUT_S = 200.0


@pytest.fixture(scope="module")
def fast_retries() -> Iterator[None]:
    """Retries back off for about a second instead of minutes (only through the notification retry settings)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("BTRIX_NOTIFICATION_RETRY_BASE_S", "0.5")
    patch.setenv("BTRIX_NOTIFICATION_RETRY_MAX_S", "2")
    yield
    patch.undo()


@pytest.fixture(scope="module")
def runner(fast_retries: None, runner: Runner) -> Runner:
    """``make run`` started with the short retries above."""
    return runner


@pytest.fixture(scope="module")
def fakes(runner: Runner) -> dict[str, str]:
    """The fake providers' URLs, as the banner printed them."""
    found = {}
    for line in runner.output:
        match = re.match(r"^\s+fake (\w+)\s+(http://\S+)\s*$", line)
        if match:
            found[match.group(1)] = match.group(2)
    assert {"twilio", "meta", "ses", "webpush"} <= set(found), "".join(runner.output)
    return found


class Api:
    """A logged-in user of the running server."""

    def __init__(self, runner: Runner, token: str, ip: str) -> None:
        self.base = runner.api
        self.headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": ip}

    def ok(self, method: str, path: str, body: Any = None, expect: int = 200, **params: Any) -> Any:
        response = httpx.request(
            method, f"{self.base}{path}", json=body, params=params or None, headers=self.headers, timeout=30
        )
        assert response.status_code == expect, response.text[:2000]
        return response.json()

    def all_of(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list, page after page."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self.ok("GET", path, limit=100, **params, **({"cursor": cursor} if cursor else {}))
            items.extend(page["items"])
            cursor = page.get("nextCursor")
            if not cursor:
                return items


def _ip() -> str:
    now = time.time_ns()
    return f"10.79.{now % 250}.{(now // 250) % 250}"


def _login(runner: Runner, email: str) -> Api:
    ip = _ip()
    response = httpx.post(
        f"{runner.api}/auth/login",
        json={"identifier": email, "password": DEMO_PASSWORD},
        headers={"X-Forwarded-For": ip},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return Api(runner, response.json()["accessToken"], ip)


def _fresh_restaurant(runner: Runner) -> Api:
    """A new restaurant in pt-BR (its built-in flow: CONFIRMED sends order.confirmed to the customer on WhatsApp)."""
    ip = _ip()
    body = {
        "companyName": "E2E Paella",
        "businessType": "restaurant",
        "admin": {"name": "E2E Owner", "email": f"paella-{time.time_ns()}@example.com", "password": "e2e-long-pass-1"},
    }
    response = httpx.post(f"{runner.api}/auth/signup", json=body, headers={"X-Forwarded-For": ip}, timeout=30)
    assert response.status_code == 201, response.text
    runner.change_plan(response.json()["tenant"]["id"])
    return Api(runner, response.json()["tokens"]["accessToken"], ip)


def _phone() -> str:
    return "+55119" + str(time.time_ns() % 10**8).zfill(8)


def _accepted(fake: str) -> list[dict[str, Any]]:
    received = httpx.get(f"{fake}/_received", timeout=30).json()["received"]
    return [r for r in received if 200 <= int(r["status"]) < 300]


def _until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1.0)


def _notifications_dead_letters(runner: Runner) -> int:
    health = httpx.get(f"{runner.api}/health", timeout=30).json()
    [queue] = [q for q in health["queues"] if q["name"].endswith("-notifications")]
    return int(queue["deadLetters"])


def test_an_order_confirmation_reaches_the_fake_meta_in_the_customers_locale(
    runner: Runner, fakes: dict[str, str]
) -> None:
    shop = _fresh_restaurant(runner)
    phone = _phone()
    customer = shop.ok("POST", "/customers", {"name": "Lucía", "phone": phone}, expect=201)
    shop.ok("PUT", f"/customers/{customer['id']}/notification-preferences", {"locale": "es-ES"})
    price = {"amount": "42.00", "currency": "BRL"}
    product = shop.ok(
        "POST", "/products", {"kind": "service", "name": "Paella", "price": price, "durationMinutes": 30}, expect=201
    )
    order = shop.ok(
        "POST",
        "/orders",
        {"customerId": customer["id"], "items": [{"productId": product["id"], "quantity": 2}]},
        expect=201,
    )
    shop.ok("POST", f"/orders/{order['id']}/transitions", {"to": "CONFIRMED", "version": order["version"]})

    def confirmed() -> list[dict[str, Any]]:
        found = shop.all_of("/notifications", recipient=f"customer:{customer['id']}")
        return [n for n in found if n["template"] == "order.confirmed" and n["status"] == "sent"]

    _until(lambda: bool(confirmed()), 90, "the order confirmation")
    [notification] = confirmed()
    assert (notification["locale"], notification["provider"], notification["channel"]) == ("es-ES", "meta", "whatsapp")
    assert notification["body"].startswith(f"Hola Lucía, tu pedido #{order['number']} en E2E Paella está confirmado.")
    [received] = [r for r in _accepted(fakes["meta"]) if r["messageId"] == notification["providerMessageId"]]
    sent = received["body"]
    assert sent["to"] == phone.lstrip("+")
    # She never wrote to the shop: outside WhatsApp's 24-hour window the approved template goes, in her language.
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "order_confirmed"
    assert sent["template"]["language"] == {"code": "es_ES"}
    assert "Lucía" in str(sent["template"]["components"])


def test_200_messages_through_a_fake_failing_30_percent_end_sent_once_or_visibly_failed(
    runner: Runner, fakes: dict[str, str]
) -> None:
    admin = _login(runner, "admin@cantina.example.com")
    twilio = fakes["twilio"]
    phone = _phone()  # every message of this batch goes to this number: the list narrows to it
    dead_before = _notifications_dead_letters(runner)
    assert httpx.post(f"{twilio}/_config", json={"failRate": 0.3}, timeout=30).status_code == 200
    try:
        texts = [f"E2E load {phone} message {i}" for i in range(_BATCH)]

        def send(text: str) -> str:
            created = admin.ok("POST", "/notifications", {"channel": "sms", "address": phone, "text": text}, expect=201)
            return str(created["id"])

        with ThreadPoolExecutor(max_workers=4) as pool:
            ids = list(pool.map(send, texts))
        assert len(set(ids)) == _BATCH

        def batch() -> list[dict[str, Any]]:
            return admin.all_of("/notifications", recipient=phone)

        def settled() -> bool:
            return sum(n["status"] in ("sent", "delivered", "failed") for n in batch()) == _BATCH

        _until(settled, _SETTLE_TIMEOUT_S, "every notification to be sent or failed")
    finally:
        httpx.post(f"{twilio}/_config", json={"failRate": 0.0}, timeout=30)

    final = {n["id"]: n for n in batch()}
    assert set(final) == set(ids)
    delivered = [n for n in final.values() if n["status"] in ("sent", "delivered")]
    failed = [n for n in final.values() if n["status"] == "failed"]
    assert len(delivered) + len(failed) == _BATCH  # none lost

    to_phone = [r for r in httpx.get(f"{twilio}/_received", timeout=30).json()["received"] if r["body"]["To"] == phone]
    accepted = Counter(r["body"]["Body"] for r in to_phone if 200 <= int(r["status"]) < 300)
    refused = Counter(r["body"]["Body"] for r in to_phone if int(r["status"]) >= 500)
    assert refused, "the fake refused none: the 30 % failure rate did not apply"
    sids = {r["messageId"]: r["body"]["Body"] for r in to_phone if r["messageId"]}
    for notification in delivered:
        assert accepted[notification["body"]] == 1, notification  # none sent twice
        assert sids[notification["providerMessageId"]] == notification["body"]
        assert notification["attempts"] == refused[notification["body"]] + 1
    assert sum(accepted.values()) == len(delivered)

    listed_failed = {n["id"] for n in admin.all_of("/notifications", status="failed")}
    for notification in failed:
        assert notification["id"] in listed_failed
        assert notification["lastError"], notification
        assert accepted[notification["body"]] == 0
        assert refused[notification["body"]] == MAX_ATTEMPTS
    # Every failed one's queue message lands in the notifications DLQ (SQS moves it at its next receive).
    _until(
        lambda: _notifications_dead_letters(runner) - dead_before == len(failed),
        30,
        f"{len(failed)} messages in the notifications DLQ",
    )
