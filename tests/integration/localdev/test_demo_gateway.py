"""``make run``'s gateway demo: the number and the portal are connected once (the portal installs through the hooks
server, as a portal would), connecting again keeps them, and a new fake Bitrix24 gets the portal installed again."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.identity import Account, signup


@dataclass
class Local:
    """A fake Bitrix24 the settings point at, and the hooks server its install goes to."""

    bitrix: Any
    hooks_url: str


def _point_at(bitrix: Any, hooks_url: str) -> None:
    from chalicelib.core.config import get_settings

    os.environ.update(
        {
            "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true",
            "BTRIX_BITRIX24_REST_URL": bitrix.rest_url,
            "BTRIX_BITRIX24_OAUTH_URL": bitrix.oauth_url,
            "BTRIX_BITRIX24_HANDLER_URL": f"{hooks_url}/bitrix24",
        }
    )
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def local(stack: Any) -> Iterator[Local]:
    """A fake Bitrix24, the hooks server, and the app's queue consumers running in the background."""
    from app import app
    from chalicelib.core.config import get_settings
    from functions import FUNCTION_URLS
    from localdev.fake_bitrix24 import FakeBitrix24
    from localdev.function_urls import make_server
    from localdev.worker import QueueWorker

    names = (
        "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK",
        "BTRIX_BITRIX24_REST_URL",
        "BTRIX_BITRIX24_OAUTH_URL",
        "BTRIX_BITRIX24_HANDLER_URL",
    )
    saved = {name: os.environ.get(name) for name in names}
    bitrix = FakeBitrix24().start()
    server = make_server("127.0.0.1", 0, FUNCTION_URLS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    hooks_url = f"http://{host!s}:{port}/hooks"
    _point_at(bitrix, hooks_url)
    stop = threading.Event()
    worker = QueueWorker(app, wait_seconds=0)

    def consume() -> None:
        while not stop.is_set():
            if not worker.poll_once():
                stop.wait(0.05)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    try:
        yield Local(bitrix, hooks_url)
    finally:
        stop.set()
        consumer.join(timeout=30)
        server.shutdown()
        server.server_close()
        bitrix.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


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
    _point_at(restarted, local.hooks_url)
    try:
        again = connect(_principal(admin), restarted, spec)

        assert again.portal_id == first.portal_id
        assert restarted.portal(spec.domain).lines[("btrix_whatsapp", spec.line)] is True
        assert [c["status"] for c in _channels(api, admin) if c["kind"] == "bitrix24"] == ["connected"]
    finally:
        _point_at(local.bitrix, local.hooks_url)
        restarted.stop()
