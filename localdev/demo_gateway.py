"""The WhatsApp <-> Bitrix24 gateway in ``make run``: a fake Bitrix24, a demo number and portal, and the shell lines
that play a signed inbound WhatsApp message end to end.

When the fake providers are on and no real Bitrix24 is configured (``BTRIX_BITRIX24_REST_URL`` unset), the runner
starts a ``FakeBitrix24`` and points the Bitrix24 REST and OAuth URLs at it. After seeding, the first demo tenant
(the restaurant) gets a WhatsApp number (phone number id ``DEMO_PHONE_NUMBER_ID``, on the fake Meta) mapped to Open
Line ``DEMO_LINE`` of a portal, ``DEMO_DOMAIN`` on the fake, which installs the app the way a portal does: its
``ONAPPINSTALL`` is posted to the handler URL the tenant got (the local ``/hooks/bitrix24?connect=…``), and the
worker connects it. Whatever is already there is kept (the number, the portal, its mapping); a portal that is not
connected to this fake is installed again from a new link.

LOCAL ONLY: the demo portal's application token is a fixed value (``DEMO_APPLICATION_TOKEN``) so that tests and
people can post the portal's events (an operator's reply) to ``/hooks/bitrix24`` themselves.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

if TYPE_CHECKING:
    from chalicelib.access.principal import Principal
    from chalicelib.channels.models import Channel
    from localdev.fake_bitrix24 import FakeBitrix24

__all__ = [
    "DEMO_APPLICATION_TOKEN",
    "DEMO_CUSTOMER",
    "DEMO_DOMAIN",
    "DEMO_LINE",
    "DEMO_MEMBER_ID",
    "DEMO_PHONE_NUMBER_ID",
    "DEMO_WABA_ID",
    "DemoGateway",
    "DemoSpec",
    "bitrix_form",
    "connect",
    "install_portal",
    "play_lines",
    "start_fake_bitrix24",
]

DEMO_PHONE_NUMBER_ID = "100000000000001"
DEMO_WABA_ID = "100000000000002"
DEMO_DISPLAY_NUMBER = "+55 11 4000-0001"
DEMO_LINE = "1"
DEMO_DOMAIN = "cantina.bitrix24.com.br"
DEMO_MEMBER_ID = "0d3m0c4n71n4000000000000000000b1"
DEMO_APPLICATION_TOKEN = "local-demo-application-token-0001"
# A seeded customer of the restaurant writes in the banner's example.
DEMO_CUSTOMER = ("5511987650001", "Maria Souza")
_PORTAL_NAME = "Bitrix24 (demo)"
_NUMBER_NAME = "WhatsApp (demo)"
_FAKE_META_TOKEN = "fake-meta-demo-access-token"


@dataclass(frozen=True)
class DemoSpec:
    """Which number and portal to connect, and how the portal installs (the demo's defaults)."""

    phone_number_id: str = DEMO_PHONE_NUMBER_ID
    waba_id: str = DEMO_WABA_ID
    display_phone_number: str = DEMO_DISPLAY_NUMBER
    domain: str = DEMO_DOMAIN
    member_id: str = DEMO_MEMBER_ID
    application_token: str = DEMO_APPLICATION_TOKEN
    line: str = DEMO_LINE
    # The number's Meta app secret and verify token; None: BTRIX's own local ones (the demo number belongs to
    # BTRIX's Meta app, so the platform secret verifies its notifications).
    app_secret: str | None = None
    verify_token: str | None = None


@dataclass(frozen=True)
class DemoGateway:
    """A connected demo: the tenant's number channel mapped to its portal channel's Open Line."""

    tenant_id: str
    channel_id: str
    portal_id: str
    phone_number_id: str
    domain: str
    member_id: str
    line: str


def start_fake_bitrix24(enabled: bool, port: int, handler_url: str) -> FakeBitrix24 | None:
    """Start the fake Bitrix24 unless ``enabled`` is false or a real Bitrix24 is configured, and point the
    settings at it (before the app reads them). ``BTRIX_BITRIX24_HANDLER_URL`` defaults to ``handler_url``."""
    os.environ.setdefault("BTRIX_BITRIX24_HANDLER_URL", handler_url)
    if not enabled or os.environ.get("BTRIX_BITRIX24_REST_URL"):
        return None
    from localdev.fake_bitrix24 import FakeBitrix24

    fake = FakeBitrix24(port).start()
    os.environ["BTRIX_BITRIX24_REST_URL"] = fake.rest_url
    os.environ["BTRIX_BITRIX24_OAUTH_URL"] = fake.oauth_url
    os.environ["BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK"] = "true"  # the fake speaks plain http on 127.0.0.1
    return fake


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            pairs += _flatten(item, f"{prefix}[{key}]" if prefix else str(key))
        return pairs
    if isinstance(value, (list, tuple)):
        pairs = []
        for index, item in enumerate(value):
            pairs += _flatten(item, f"{prefix}[{index}]")
        return pairs
    return [(prefix, "" if value is None else str(value))]


def bitrix_form(event: str, auth: Mapping[str, Any], data: Mapping[str, Any]) -> bytes:
    """The form body Bitrix24 posts for ``event`` (PHP-style nested fields)."""
    fields = {"event": event, "data": dict(data), "ts": str(int(time.time())), "auth": dict(auth)}
    return urlencode(_flatten(fields)).encode()


def install_portal(fake: FakeBitrix24, handler_url: str, spec: DemoSpec) -> None:
    """Install the app on the fake portal ``spec.domain`` and post its ``ONAPPINSTALL`` to ``handler_url`` (the
    link the tenant got), as the portal would; raises if the function refuses it."""
    from localdev.provision import local_webhook_secrets

    app = json.loads(local_webhook_secrets().get("bitrix24-app") or "{}")
    auth = fake.install(
        spec.domain, spec.member_id, client_id=app.get("clientId"), client_secret=app.get("clientSecret")
    )
    auth["application_token"] = spec.application_token
    body = bitrix_form("ONAPPINSTALL", auth, {"VERSION": "1", "LANGUAGE_ID": "br"})
    answer = httpx.post(
        handler_url, content=body, headers={"content-type": "application/x-www-form-urlencoded"}, timeout=30
    )
    answer.raise_for_status()


def _existing(admin: Principal, spec: DemoSpec) -> tuple[Channel | None, Channel | None]:
    from chalicelib.channels import service
    from chalicelib.channels.models import ChannelListQuery

    channels: list[Channel] = []
    cursor = None
    while True:
        page = service.list_channels(admin, ChannelListQuery(limit=100, cursor=cursor))
        channels += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    number = next((c for c in channels if c.kind == "whatsapp" and c.phone_number_id == spec.phone_number_id), None)
    wanted = number.portal_id if number is not None and number.portal_id else None
    portal = next(
        (
            c
            for c in channels
            if c.kind == "bitrix24" and (c.id == wanted or (wanted is None and c.domain in (spec.domain, None)))
        ),
        None,
    )
    return number, portal


def connect(admin: Principal, fake: FakeBitrix24, spec: DemoSpec | None = None, timeout_s: float = 60.0) -> DemoGateway:
    """Connect (or keep) the tenant's demo number and portal; the portal installs through the hooks server, so the
    worker must be running. Raises ``TimeoutError`` if the portal is not connected within ``timeout_s``."""
    from chalicelib.channels import service
    from chalicelib.channels.models import ConnectPortalRequest, ConnectWhatsAppRequest, UpdateChannelRequest
    from chalicelib.core.db.store import tenant_scope
    from chalicelib.integrations.bitrix24.client import CONNECTOR_ID
    from localdev.provision import local_webhook_secrets

    spec = spec or DemoSpec()
    secrets = local_webhook_secrets()
    tenant = admin.tenant_id
    with tenant_scope(tenant):
        number, portal = _existing(admin, spec)
        link: str | None = None
        if portal is None:
            created = service.connect_portal(admin, ConnectPortalRequest(name=_PORTAL_NAME), None)
            portal_id, link = created.id, created.handler_url
        else:
            portal_id = portal.id
            if portal.status != "connected" or spec.domain not in fake.portals:
                link = service.reconnect_portal(admin, portal.id).handler_url
        if number is None:
            request = ConnectWhatsAppRequest.model_validate(
                {
                    "phoneNumberId": spec.phone_number_id,
                    "wabaId": spec.waba_id,
                    "accessToken": _FAKE_META_TOKEN,
                    "appSecret": spec.app_secret or secrets["meta-app-secret"],
                    "verifyToken": spec.verify_token or secrets["meta-verify-token"],
                    "name": _NUMBER_NAME,
                    "displayPhoneNumber": spec.display_phone_number,
                    "portalId": portal_id,
                    "line": spec.line,
                }
            )
            number = service.connect_whatsapp(admin, request, None)
        elif number.portal_id != portal_id or number.line != spec.line:
            change = UpdateChannelRequest.model_validate(
                {"version": number.version, "portalId": portal_id, "line": spec.line}
            )
            number = service.update_channel(admin, number.id, change)
    if link is not None:
        install_portal(fake, link, spec)
    # Ready when the portal is connected and the number's Open Line is active on the fake portal (the install's
    # consumer does both; a reinstall on a new fake finds the portal connected already).
    deadline = time.monotonic() + timeout_s
    while True:
        with tenant_scope(tenant):
            status = service.get_portal(tenant, portal_id).status
        installed = fake.portals.get(spec.domain)
        if status == "connected" and installed is not None and installed.lines.get((CONNECTOR_ID, spec.line)):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo portal {spec.domain} is not ready ({status}) after {timeout_s:.0f} s")
        time.sleep(0.1)
    return DemoGateway(tenant, number.id, portal_id, spec.phone_number_id, spec.domain, spec.member_id, spec.line)


def play_lines(
    hooks_url: str,
    app_secret: str,
    phone_number_id: str = DEMO_PHONE_NUMBER_ID,
    text: str = "Oi! Tem mesa para 4 hoje?",
) -> list[str]:
    """Shell lines (bash) that post a signed WhatsApp ``text`` from the demo customer to the Meta function, with a
    fresh wamid and the current timestamp each time, signed with ``openssl dgst -sha256 -hmac``. ``text`` goes
    into the JSON as is (no quotes in it); a shell expression such as ``$1`` is expanded when the lines run."""
    wa_id, name = DEMO_CUSTOMER
    body = f"'\"{text}\"'" if text.startswith("$") else text
    return [
        "id=wamid.demo$(date +%s%N); ts=$(date +%s)",
        'body=\'{"object":"whatsapp_business_account","entry":[{"id":"' + DEMO_WABA_ID + '","changes":'
        '[{"field":"messages","value":{"messaging_product":"whatsapp",\'',
        'body+=\'"metadata":{"display_phone_number":"'
        + "".join(c for c in DEMO_DISPLAY_NUMBER if c.isdigit())
        + '","phone_number_id":"'
        + phone_number_id
        + '"},"contacts":[{"profile":{"name":"'
        + name
        + '"},"wa_id":"'
        + wa_id
        + "\"}],'",
        'body+=\'"messages":[{"from":"' + wa_id + '","id":"\'$id\'","timestamp":"\'$ts\'","type":"text",'
        '"text":{"body":"' + body + "\"}}]}}]}]}'",
        f"sig=$(printf %s \"$body\" | openssl dgst -sha256 -hmac {app_secret} | awk '{{print $NF}}')",
        f"curl -s -w ' HTTP %{{http_code}}\\n' {hooks_url}/meta -H 'Content-Type: application/json' \\",
        '     -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$body"',
    ]
