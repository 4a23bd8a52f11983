"""The gateway end to end inside one process: the webhook functions over loopback HTTP, the app's queue consumers,
and fake Meta Graph and Bitrix24 servers speaking their wire formats."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.environment import settings_from
from tests.support.gateway import bitrix_event, signed_meta
from tests.support.identity import Account, signup

_SETTINGS = {
    "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true",
    "BTRIX_RELAY_RETRY_BASE_S": "0",
    "BTRIX_RELAY_RETRY_MAX_S": "0",
    # The install link a tenant pastes into its portal (the tests post the install event themselves).
    "BTRIX_BITRIX24_HANDLER_URL": "https://hooks.btrix.test/bitrix24",
}


@dataclass
class Fakes:
    """The fake providers of the module."""

    meta: Any
    bitrix: Any


@pytest.fixture(scope="module")
def fakes(stack: Any) -> Iterator[Fakes]:
    """Fake Meta and Bitrix24 servers, with the settings pointing the gateway's clients at them."""
    yield from gateway_fakes()


def gateway_fakes() -> Iterator[Fakes]:
    """Start fake Meta and Bitrix24 servers and point the settings at them (for a module's fixture)."""
    from localdev.fake_bitrix24 import FakeBitrix24
    from localdev.fakes import FakeProvider

    meta = FakeProvider("meta").start()
    bitrix = FakeBitrix24().start()
    values = {
        **_SETTINGS,
        "BTRIX_META_GRAPH_URL": meta.url,
        "BTRIX_BITRIX24_REST_URL": bitrix.rest_url,
        "BTRIX_BITRIX24_OAUTH_URL": bitrix.oauth_url,
    }
    try:
        with settings_from(values):
            yield Fakes(meta, bitrix)
    finally:
        meta.stop()
        bitrix.stop()


@pytest.fixture
def work(stack: Any) -> Callable[..., None]:
    """Runs the app's queue consumers until ``condition()`` holds (as Lambda's event sources would)."""
    from app import app
    from localdev.worker import QueueWorker

    worker = QueueWorker(app, wait_seconds=0)

    def until(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "the gateway did not get there in time"
            if not worker.poll_once():
                time.sleep(0.05)

    return until


@pytest.fixture
def settle(stack: Any) -> Callable[[], None]:
    """Runs the app's queue consumers until the queues stay empty (what is still to come has come)."""
    from app import app
    from localdev.worker import QueueWorker

    worker = QueueWorker(app, wait_seconds=0)

    def run() -> None:
        idle = 0
        while idle < 3:
            idle = 0 if worker.poll_once() else idle + 1
            time.sleep(0.1)

    return run


@dataclass
class Gateway:
    """A tenant with a WhatsApp number mapped to a connected Bitrix24 portal's Open Line."""

    admin: Account
    channel_id: str
    phone_number_id: str
    portal_id: str
    domain: str
    member_id: str
    auth: dict[str, Any]
    line: str = "7"


def _phone_number_id() -> str:
    return str(random.randint(10**14, 10**15 - 1))  # noqa: S311 - an id, not a secret


def connect(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Callable[..., None], *, template: bool = False
) -> Gateway:
    """Sign up a tenant, connect a number and a portal (install through the real webhook), map the number."""
    from tests.support.identity import call

    admin, _ = signup(api)
    phone_number_id = _phone_number_id()
    number: dict[str, Any] = {
        "phoneNumberId": phone_number_id,
        "wabaId": "102290129340398",
        "accessToken": "EAAG-fake-meta-token-0123456789",
        "appSecret": "tenant-app-secret-0123456789",
        "verifyToken": "tenant-verify-token",
        "name": "Loja",
    }
    if template:
        number["template"] = {"name": "retomar_conversa", "language": "pt_BR"}
    created = call(api, "POST", "/channels/whatsapp", number, admin.headers())
    assert created.status_code == 201, created.body
    portal = call(api, "POST", "/channels/bitrix24", {"name": "CRM"}, admin.headers())
    assert portal.status_code == 201, portal.body
    connect_token = parse_qs(urlsplit(portal.json_body["handlerUrl"]).query)["connect"][0]
    domain = f"t{admin.tenant_id.lower()}.bitrix24.com.br"
    member_id = f"m{admin.tenant_id.lower()}"
    auth = fakes.bitrix.install(domain, member_id)
    installed = hooks.post(
        f"/bitrix24?connect={connect_token}",
        content=bitrix_event("ONAPPINSTALL", auth, {"VERSION": "1", "LANGUAGE_ID": "br"}),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert installed.status_code == 200, installed.text
    portal_id = portal.json_body["id"]

    def connected() -> bool:
        answer = call(api, "GET", f"/channels/{portal_id}", None, admin.headers())
        return bool(answer.json_body.get("status") == "connected")

    work(connected)
    version = created.json_body["version"]
    mapped = call(
        api,
        "PATCH",
        f"/channels/{created.json_body['id']}",
        {"portalId": portal_id, "line": "7", "version": version},
        admin.headers(),
    )
    assert mapped.status_code == 200, mapped.body
    return Gateway(admin, created.json_body["id"], phone_number_id, portal_id, domain, member_id, auth)


def post_meta(hooks: httpx.Client, payload: dict[str, Any]) -> httpx.Response:
    """POST a signed Meta notification to the Meta function."""
    body, headers = signed_meta(payload)
    return hooks.post("/meta", content=body, headers=headers)


def post_bitrix(
    hooks: httpx.Client, gateway: Gateway, event: str, data: dict[str, Any], *, ts: int | None = None
) -> httpx.Response:
    """POST a Bitrix24 event of the gateway's portal to the Bitrix24 function (sent at ``ts``, now by default)."""
    auth = {k: gateway.auth[k] for k in ("domain", "member_id", "application_token", "access_token", "client_endpoint")}
    body = bitrix_event(event, auth, data, ts)
    return hooks.post("/bitrix24", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
