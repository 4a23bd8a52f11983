"""``make run``'s gateway demo: the number and the portal are connected once (the portal installs through the hooks
server, as a portal would), connecting again keeps them, and a new fake Bitrix24 gets the portal installed again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.environment import settings_from
from tests.support.identity import Account, signup


@dataclass
class Local:
    """A fake Bitrix24 the settings point at, and the hooks server its install goes to."""

    bitrix: Any
    hooks_url: str


def _pointing_at(bitrix: Any, hooks_url: str) -> dict[str, str]:
    """The settings that send the app's Bitrix24 calls to ``bitrix`` and its install links to ``hooks_url``."""
    return {
        "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true",
        "BTRIX_BITRIX24_REST_URL": bitrix.rest_url,
        "BTRIX_BITRIX24_OAUTH_URL": bitrix.oauth_url,
        "BTRIX_BITRIX24_HANDLER_URL": f"{hooks_url}/bitrix24",
    }


@pytest.fixture(scope="module")
def local(stack: Any, hooks: httpx.Client) -> Iterator[Local]:
    """A fake Bitrix24, the hooks server, and the app's queue consumers running in the background."""
    from app import app
    from localdev.fake_bitrix24 import FakeBitrix24
    from localdev.worker import QueueWorker

    bitrix = FakeBitrix24().start()
    hooks_url = str(hooks.base_url).rstrip("/")
    stop = threading.Event()
    worker = QueueWorker(app, wait_seconds=0)

    def consume() -> None:
        while not stop.is_set():
            if not worker.poll_once():
                stop.wait(0.05)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    try:
        with settings_from(_pointing_at(bitrix, hooks_url)):
            yield Local(bitrix, hooks_url)
    finally:
        stop.set()
        consumer.join(timeout=30)
        bitrix.stop()


def _principal(account: Account) -> Any:
    from chalicelib.access.principal import Principal

    return Principal(
        user_id=account.user_id,
        tenant_id=account.tenant_id,
        role=account.role,
        email=account.email,
        request_id="test",
    )


def _channels(api: Any, account: Account) -> list[dict[str, Any]]:
    from tests.support.identity import call

    answer = call(api, "GET", "/channels", None, account.headers())
    assert answer.status_code == 200, answer.body
    return list(answer.json_body["items"])


def _spec(account: Account) -> Any:
    from localdev.demo_gateway import DemoSpec

    suffix = str(time.time_ns())[-12:]
    return DemoSpec(
        phone_number_id="1" + suffix,
        domain=f"demo{suffix}.bitrix24.com.br",
        member_id=f"member{suffix}",
    )


def test_the_demo_connects_once_and_connecting_again_keeps_it(api: Any, local: Local) -> None:
    from localdev.demo_gateway import connect

    admin, _ = signup(api)
    spec = _spec(admin)

    first = connect(_principal(admin), local.bitrix, spec)

    portal = local.bitrix.portal(spec.domain)
    assert portal.lines[("btrix_whatsapp", spec.line)] is True
    channels = {c["kind"]: c for c in _channels(api, admin)}
    assert channels["bitrix24"]["status"] == "connected"
    assert channels["bitrix24"]["domain"] == spec.domain
    assert channels["whatsapp"]["phoneNumberId"] == spec.phone_number_id
    assert (channels["whatsapp"]["portalId"], channels["whatsapp"]["line"]) == (first.portal_id, spec.line)
    registered = len(local.bitrix.calls("imconnector.register", spec.domain))

    again = connect(_principal(admin), local.bitrix, spec)

    assert again == first
    assert len(_channels(api, admin)) == 2
    assert len(local.bitrix.calls("imconnector.register", spec.domain)) == registered


def test_a_new_fake_bitrix24_gets_the_portal_installed_again(api: Any, local: Local) -> None:
    from localdev.demo_gateway import connect
    from localdev.fake_bitrix24 import FakeBitrix24

    admin, _ = signup(api)
    spec = _spec(admin)
    first = connect(_principal(admin), local.bitrix, spec)
    # A restart comes later: an install event is identified by its portal, token, data and ts (in seconds), and
    # the demo portal keeps its application token, so the same second would be the same (deduplicated) event.
    time.sleep(1.1)
    restarted = FakeBitrix24().start()
    try:
        with settings_from(_pointing_at(restarted, local.hooks_url)):
            again = connect(_principal(admin), restarted, spec)

            assert again.portal_id == first.portal_id
            assert restarted.portal(spec.domain).lines[("btrix_whatsapp", spec.line)] is True
            assert [c["status"] for c in _channels(api, admin) if c["kind"] == "bitrix24"] == ["connected"]
    finally:
        restarted.stop()
