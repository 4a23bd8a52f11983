"""Channels against the local stack: a fake Bitrix24 (portals and OAuth server) on loopback, the webhook functions
served over loopback HTTP, and helpers that connect numbers and portals as a tenant's ADMIN would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from chalicelib.core.ids import new_id
from chalicelib.core.resources import QueueKind
from tests.support.environment import settings_from
from tests.support.gateway import bitrix_event
from tests.support.identity import Account, call, signup
from tests.support.inbound_hooks import take_messages


@pytest.fixture(scope="module")
def bitrix(stack: Any, hooks: httpx.Client) -> Iterator[Any]:
    """The fake Bitrix24, with the settings pointing BTRIX's Bitrix24 client (REST, OAuth) at it and the handler
    URL at the local webhook function."""
    from localdev.fake_bitrix24 import FakeBitrix24

    fake = FakeBitrix24().start()
    values = {
        "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true",
        "BTRIX_BITRIX24_REST_URL": fake.rest_url,
        "BTRIX_BITRIX24_OAUTH_URL": fake.oauth_url,
        "BTRIX_BITRIX24_HANDLER_URL": f"{hooks.base_url}/bitrix24",
    }
    try:
        with settings_from(values):
            yield fake
    finally:
        fake.stop()


@pytest.fixture
def admin(api: Any) -> Account:
    """The ADMIN of a new tenant (every module)."""
    account, _ = signup(api, plan="corporativo")
    return account


def phone_number_id() -> str:
    """A phone number id nobody has connected."""
    return str(int(new_id().encode().hex(), 16) % 10**15).zfill(15)


def number_body(**overrides: Any) -> dict[str, Any]:
    """A valid ``POST /channels/whatsapp`` body."""
    return {
        "phoneNumberId": phone_number_id(),
        "wabaId": "102290129340398",
        "accessToken": "EAAG-tenant-meta-token-0123456789",
        "appSecret": "tenant-app-secret-0123456789",
        "verifyToken": "tenant-verify-token-0123",
        "name": "Loja Centro",
        **overrides,
    }


def connect_number(api: Any, admin: Account, **overrides: Any) -> dict[str, Any]:
    """Connect a WhatsApp number; returns the channel."""
    created = call(api, "POST", "/channels/whatsapp", number_body(**overrides), admin.headers())
    assert created.status_code == 201, created.body
    return dict(created.json_body)


@dataclass
class Portal:
    """A portal channel and the fake portal that installed the app."""

    id: str
    domain: str
    member_id: str
    auth: dict[str, Any]


def install(hooks: httpx.Client, bitrix: Any, handler_url: str, domain: str, member_id: str) -> dict[str, Any]:
    """The fake portal installs the app from ``handler_url`` (through the real webhook function); returns the
    body the function queued (taken off the bitrix24-outbound queue)."""
    auth = bitrix.install(domain, member_id)
    query = urlsplit(handler_url).query
    posted = hooks.post(
        f"/bitrix24?{query}",
        content=bitrix_event("ONAPPINSTALL", auth, {"VERSION": "1", "ACTIVE": "Y", "LANGUAGE_ID": "br"}),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert posted.status_code == 200, posted.text
    queued = take_messages(QueueKind.BITRIX24_OUTBOUND, lambda b: b.get("memberId") == member_id)
    assert len(queued) == 1
    return {**queued[0][0], "fakeAuth": auth}


def connect_portal(
    api: Any, hooks: httpx.Client, bitrix: Any, admin: Account, *, app: dict[str, str] | None = None
) -> Portal:
    """Create a portal channel, install the app on a fake portal from its handler URL and apply the install."""
    from chalicelib.channels.install import handle_portal_event

    body: dict[str, Any] = {"name": "CRM"} | ({"app": app} if app else {})
    created = call(api, "POST", "/channels/bitrix24", body, admin.headers())
    assert created.status_code == 201, created.body
    domain, member_id = f"p{new_id().lower()}.bitrix24.com.br", f"m{new_id().lower()}"
    queued = install(hooks, bitrix, created.json_body["handlerUrl"], domain, member_id)
    auth = queued.pop("fakeAuth")
    handle_portal_event(queued)
    return Portal(created.json_body["id"], domain, member_id, auth)


def connect_token(handler_url: str) -> str:
    """The one-time token in a handler URL."""
    return parse_qs(urlsplit(handler_url).query)["connect"][0]


Get = Callable[[str], dict[str, Any]]
