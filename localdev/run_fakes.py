"""``make run``'s fake providers: each on its port (another free one when that is taken), the channels' settings
pointed at them, the credentials they accept, and the demo's number, portal and payment accounts connected to them.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from localdev.fakes import FakeKind, FakeProvider
from localdev.logs import say

if TYPE_CHECKING:
    from localdev.demo_gateway import DemoGateway
    from localdev.demo_payments import DemoPayments
    from localdev.fake_bitrix24 import FakeBitrix24
    from localdev.fake_mercadopago import FakeMercadoPago
    from localdev.fake_pagarme import FakePagarme
    from localdev.fake_stripe import FakeStripe
    from localdev.run import RunSettings

__all__ = [
    "HOST",
    "connect_demo_gateway",
    "connect_demo_payments",
    "fake_credentials",
    "on_port",
    "port_or_free",
    "start_fakes",
]

HOST = "127.0.0.1"  # loopback only: nothing here is meant to be reachable from another machine
T = TypeVar("T")


# Each fake stands in for a provider unless the environment points the channel somewhere (this variable set).
_CONFIGURED_BY: dict[FakeKind, str] = {
    "twilio": "BTRIX_TWILIO_BASE_URL",
    "meta": "BTRIX_META_GRAPH_URL",
    "ses": "BTRIX_EMAIL_FROM",
}
_FAKE_SENDER = "notifications@btrix.localhost"


def on_port(start: Callable[[int], T], port: int, what: str) -> T:
    """``start(port)``; when another program holds that port, ``start(0)`` (a free one), said on the terminal."""
    try:
        return start(port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise
        say(f"  port {port} is taken: {what} listens on a free port instead")
        return start(0)


def port_or_free(port: int, what: str) -> int:
    """``port`` when nothing listens there now, else 0 (a free one), said on the terminal (for a fake that binds as
    it is made, among others)."""
    import socket

    if port == 0:
        return 0
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the fakes' servers bind
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            say(f"  port {port} is taken: {what} listens on a free port instead")
            return 0
    return port


def _fake(kind: FakeKind) -> Callable[[int], FakeProvider]:
    return lambda port: FakeProvider(kind, port)


def start_fakes(settings: RunSettings) -> dict[FakeKind, FakeProvider]:
    """Start the fakes and point the channels' settings at them (before the app reads its settings)."""
    if not settings.fake_providers:
        return {}
    ports: dict[FakeKind, int] = {
        "twilio": settings.fake_twilio_port,
        "meta": settings.fake_meta_port,
        "ses": settings.fake_ses_port,
        "webpush": settings.fake_webpush_port,
    }
    if os.environ.get("BTRIX_EMAIL_PROVIDER", "ses").lower() == "smtp":
        del ports["ses"]  # no SMTP fake: email stays in outbox mode unless an SMTP host is configured
    started: dict[FakeKind, FakeProvider] = {}
    for kind, port in ports.items():
        variable = _CONFIGURED_BY.get(kind)
        if variable is not None and os.environ.get(variable):
            continue
        started[kind] = on_port(_fake(kind), port, f"the fake {kind}").start()
    urls = {
        "twilio": {"BTRIX_TWILIO_BASE_URL": ""},
        "meta": {"BTRIX_META_GRAPH_URL": ""},
        "ses": {"BTRIX_SES_ENDPOINT_URL": "", "BTRIX_EMAIL_FROM": _FAKE_SENDER},
    }
    for kind, fake in started.items():
        for variable, value in urls.get(kind, {}).items():
            os.environ[variable] = value or fake.url
    if started:
        os.environ["BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK"] = "true"  # the fakes speak plain http on 127.0.0.1
    return started


def fake_credentials(fakes: dict[FakeKind, FakeProvider]) -> None:
    """Provider credentials the fakes accept, in the stack's Secrets Manager, where the channels read them."""
    from botocore.exceptions import ClientError

    from chalicelib.core import aws
    from chalicelib.core.resources import META_WHATSAPP_CREDENTIALS, TWILIO_CREDENTIALS, secret_name

    values = {
        "meta": (META_WHATSAPP_CREDENTIALS, {"accessToken": "fake-meta-token", "phoneNumberId": "1000000000"}),
        "twilio": (
            TWILIO_CREDENTIALS,
            {
                "accountSid": "AC" + "0" * 32,
                "authToken": "fake-twilio-token",
                "smsFrom": "+15005550006",
                "whatsappFrom": "+15005550006",
            },
        ),
    }
    client = aws.secrets_manager()
    for kind, (secret, value) in values.items():
        if kind not in fakes:
            continue
        try:
            client.create_secret(Name=secret_name(secret), SecretString=json.dumps(value))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceExistsException":
                raise


def connect_demo_gateway(fakes: dict[FakeKind, FakeProvider], bitrix: FakeBitrix24 | None) -> DemoGateway | None:
    """The restaurant's demo number and portal on the fakes; a failure is reported, not fatal."""
    if bitrix is None or "meta" not in fakes:
        return None
    import httpx

    from chalicelib.core.errors import AppError
    from localdev import demo_gateway
    from localdev.seed import DEMO_TENANTS, demo_admin

    try:
        return demo_gateway.connect(demo_admin(DEMO_TENANTS[0]), bitrix)
    except (AppError, TimeoutError, httpx.HTTPError) as exc:
        say(f"The gateway demo was not connected: {exc}")
        return None


def connect_demo_payments(
    stripe: FakeStripe | None, mercadopago: FakeMercadoPago | None, pagarme: FakePagarme | None, hooks_url: str
) -> DemoPayments | None:
    """The demo tenants' accounts on the payment fakes and the restaurant's link; a failure is reported, not fatal."""
    if stripe is None and mercadopago is None and pagarme is None:
        return None
    import httpx

    from chalicelib.core.errors import AppError
    from localdev import demo_payments
    from localdev.seed import DEMO_TENANTS, demo_admin

    try:
        demo_payments.connect_billing_accounts(stripe, mercadopago, hooks_url)
        admins = [demo_admin(t) for t in DEMO_TENANTS]
        demo_payments.connect_demo_accounts(admins, stripe, mercadopago, hooks_url, pagarme)
        return demo_payments.demo_link(demo_admin(DEMO_TENANTS[0]), DEMO_TENANTS[0].name)
    except (AppError, httpx.HTTPError) as exc:
        say(f"The payments demo was not connected: {exc}")
        return None
