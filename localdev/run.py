"""``make run``: the whole of BTRIX on this machine, with no AWS account.

Starts the local stack, provisions it, serves the REST API (:8000) and the provider webhook URLs (:8001),
runs the worker (queues, table stream, schedules), starts fake providers (Twilio, Meta, SES, Web Push, Bitrix24,
Stripe, MercadoPago, Billy, Google) for the providers nothing real is configured for, connects the WhatsApp <->
Bitrix24 gateway's demo number and portal (``localdev.demo_gateway``), the demo tenants' payment accounts, makes a
payment link for the restaurant's waiting order (``localdev.demo_payments``), connects the sales company's Billy and
Google Calendar (``localdev.demo_sales_integrations``), prints the URLs and how to try them, and on Ctrl-C stops all it
started.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

from pydantic_settings import BaseSettings, SettingsConfigDict

from localdev.fakes import FakeKind, FakeProvider
from localdev.stack import LocalStack, free_port

if TYPE_CHECKING:
    from localdev.demo_gateway import DemoGateway
    from localdev.demo_payments import DemoPayments
    from localdev.demo_sales_integrations import SalesFakes
    from localdev.fake_bitrix24 import FakeBitrix24
    from localdev.fake_payments import FakeMercadoPago, FakeStripe
    from localdev.seed import DemoLogin

HOST = "127.0.0.1"  # loopback only: nothing here is meant to be reachable from another machine


class RunSettings(BaseSettings):
    """Ports of the local runner (``BTRIX_API_PORT`` …); 0 means any free port."""

    model_config = SettingsConfigDict(env_prefix="BTRIX_", extra="ignore")

    api_port: int = 8000
    hooks_port: int = 8001
    ws_port: int = 8002
    ws_management_port: int = 8003
    dynamodb_port: int = 0
    moto_port: int = 0
    # Fake providers for the channels with no provider configured (BTRIX_FAKE_PROVIDERS=false: outbox mode).
    fake_providers: bool = True
    fake_twilio_port: int = 0
    fake_meta_port: int = 0
    fake_ses_port: int = 0
    fake_webpush_port: int = 0
    fake_bitrix24_port: int = 0
    fake_stripe_port: int = 0
    fake_mercadopago_port: int = 0
    fake_billy_port: int = 0
    fake_google_port: int = 0


# Each fake stands in for a provider unless the environment points the channel somewhere (this variable set).
_CONFIGURED_BY: dict[FakeKind, str] = {
    "twilio": "BTRIX_TWILIO_BASE_URL",
    "meta": "BTRIX_META_GRAPH_URL",
    "ses": "BTRIX_EMAIL_FROM",
}
_FAKE_SENDER = "notifications@btrix.localhost"


def _start_fakes(settings: RunSettings) -> dict[FakeKind, FakeProvider]:
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
        started[kind] = FakeProvider(kind, port).start()
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


def _fake_credentials(fakes: dict[FakeKind, FakeProvider]) -> None:
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


def _connect_demo_gateway(fakes: dict[FakeKind, FakeProvider], bitrix: FakeBitrix24 | None) -> DemoGateway | None:
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
        print(f"The gateway demo was not connected: {exc}", flush=True)
        return None


def _gateway_lines(api: str, hooks: str, bitrix: FakeBitrix24, demo: DemoGateway, admin: DemoLogin) -> list[str]:
    from localdev.demo_gateway import play_lines
    from localdev.provision import local_webhook_secrets

    play = play_lines(hooks, local_webhook_secrets()["meta-app-secret"], demo.phone_number_id)
    return [
        f"WhatsApp <-> Bitrix24 gateway: {admin.tenant}'s number {demo.phone_number_id} relays to "
        f"Open Line {demo.line} of the fake portal {demo.domain}.",
        "Paste these lines into bash to play a signed inbound WhatsApp message end to end:",
        "",
        *[f"    {line}" for line in play],
        "",
        f"  in Bitrix24: curl -s {bitrix.url}/_received   (imconnector.send.messages)",
        f"  in BTRIX:    GET {api}/conversations, logged in as {admin.email}",
        "",
    ]


def _sales_lines(api: str, password: str) -> list[str]:
    """How to try the sales tracking demo (the Danish company's sales, leads, dashboard and exports)."""
    from localdev.seed import SALES_DEMO

    rep, manager = (f"{role}@{SALES_DEMO.domain}" for role in ("sales-rep", "manager"))
    login = (
        f"TOKEN=$(curl -s -X POST {api}/auth/login -H 'Content-Type: application/json' -d "
        f'\'{{"identifier": "{manager}", "password": "{password}"}}\' | '
        "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"accessToken\"])')"
    )
    auth = '-H "Authorization: Bearer $TOKEN"'
    return [
        f"Sales tracking: {SALES_DEMO.name} (da-DK, DKK) has services, customers, sales in every status and leads.",
        f"{rep} sees its own sales, leads and numbers; {manager} sees everything and exports:",
        "",
        f"    {login}",
        f"    curl -s '{api}/sales?limit=10' {auth}",
        f"    curl -s '{api}/analytics/dashboard?groupBy=week' {auth}",
        f"    curl -s '{api}/leads?status=QUALIFIED' {auth}     # then POST /leads/<id>/convert {{\"version\": <v>}}",
        f"    curl -s -X POST {api}/exports {auth} -H 'Content-Type: application/json' -d '{{\"kind\": \"sales\"}}'",
        "                                                    # then GET /exports/<id>: progress, then a download url",
        "",
    ]


def _connect_demo_payments(
    stripe: FakeStripe | None, mercadopago: FakeMercadoPago | None, hooks_url: str
) -> DemoPayments | None:
    """The demo tenants' accounts on the payment fakes and the restaurant's link; a failure is reported, not fatal."""
    if stripe is None and mercadopago is None:
        return None
    import httpx

    from chalicelib.core.errors import AppError
    from localdev import demo_payments
    from localdev.seed import DEMO_TENANTS, demo_admin

    try:
        demo_payments.connect_demo_accounts([demo_admin(t) for t in DEMO_TENANTS], stripe, mercadopago, hooks_url)
        return demo_payments.demo_link(demo_admin(DEMO_TENANTS[0]), DEMO_TENANTS[0].name)
    except (AppError, httpx.HTTPError) as exc:
        print(f"The payments demo was not connected: {exc}", flush=True)
        return None


def _payment_lines(api: str, payments: DemoPayments, fake: str) -> list[str]:
    from localdev.demo_payments import pay_lines

    return [
        f"Payments: {payments.tenant}'s order #{payments.order_number} waits for its payment; its link is "
        f"{payments.url}",
        "Paste these lines into bash to pay it at the fake checkout (the fake posts its signed webhook, the worker",
        "confirms it, the order moves to PAID and the customer gets a receipt):",
        "",
        *[f"    {line}" for line in pay_lines(payments)],
        "",
        f"  in BTRIX:    GET {api}/payments and GET {api}/orders?status=PAID",
        f"  at the fake: curl -s {fake}/_received   (the checkout, webhooks sent: GET {fake}/_webhooks)",
        "",
    ]


def _sales_integration_lines(api: str, password: str, fakes: SalesFakes) -> list[str]:
    """How to try Billy.dk invoices and Google Calendar events of the demo sales company."""
    from localdev import demo_sales_integrations
    from localdev.seed import SALES_DEMO

    found = demo_sales_integrations.lines(api, fakes)
    if not found:
        return []
    admin = f"admin@{SALES_DEMO.domain}"
    login = (
        f"    ADMIN=$(curl -s -X POST {api}/auth/login -H 'Content-Type: application/json' -d "
        f'\'{{"identifier": "{admin}", "password": "{password}"}}\' | '
        "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"accessToken\"])')"
    )
    return [found[0], login, *found[1:]]


def _banner(
    stack: LocalStack,
    api_port: int,
    hooks_port: int,
    ws_port: int,
    logins: list[DemoLogin],
    password: str,
    fakes: dict[FakeKind, FakeProvider],
    bitrix: FakeBitrix24 | None = None,
    demo: DemoGateway | None = None,
    paying: tuple[FakeStripe | None, FakeMercadoPago | None] = (None, None),
    payments: DemoPayments | None = None,
    sales_fakes: SalesFakes | None = None,
) -> str:
    api = f"http://{HOST}:{api_port}"
    hooks = f"http://{HOST}:{hooks_port}/hooks"
    fake_lines = [f"  fake {kind:<10} {fake.url}" for kind, fake in fakes.items()]
    if bitrix is not None:
        fake_lines.append(f"  fake {'bitrix24':<10} {bitrix.url}")
    fake_lines += [f"  fake {fake.kind:<10} {fake.url}" for fake in paying if fake is not None]
    for fake in (sales_fakes.billy, sales_fakes.google) if sales_fakes is not None else ():
        if fake is not None:
            fake_lines.append(f"  fake {fake.kind:<10} {fake.url}")
    if fake_lines:
        fake_lines.append(
            '                  (POST /_config {"failRate": 0.3} fails requests; GET /_received lists them)'
        )
    admins = [
        f"    {login.email:<38} {login.role:<15} {login.tenant}" for login in logins if login.role.endswith("ADMIN")
    ]
    return "\n".join(
        [
            "",
            "BTRIX is running locally (Ctrl-C stops everything)",
            f"  REST API        {api}",
            f"  health          {api}/health",
            f"  API docs        {api}/api-docs   (OpenAPI: {api}/api-docs.json)",
            f"  webhook URLs    {hooks}/<provider>",
            f"  live updates    ws://{HOST}:{ws_port}/?token=<access token>",
            f"  DynamoDB Local  {stack.dynamodb_url}",
            f"  moto server     {stack.moto_url}",
            *fake_lines,
            f"  service logs    {stack.log_dir}",
            f"  service PIDs    {' '.join(str(pid) for pid in stack.pids)}",
            "",
            f"Demo logins (password {password}); each tenant also has <role>@<its domain> for every role:",
            *admins,
            "",
            f"  curl -s -X POST {api}/auth/login -H 'Content-Type: application/json' \\",
            f'       -d \'{{"identifier": "{logins[0].email}", "password": "{password}"}}\'',
            "",
            *_sales_lines(api, password),
            *([] if sales_fakes is None else _sales_integration_lines(api, password, sales_fakes)),
            *([] if bitrix is None or demo is None else _gateway_lines(api, hooks, bitrix, demo, logins[0])),
            *([] if payments is None or paying[0] is None else _payment_lines(api, payments, paying[0].url)),
        ]
    )


def main() -> int:
    """Run until SIGINT/SIGTERM; returns the exit status."""
    settings = RunSettings()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    stack = LocalStack(settings.dynamodb_port or None, settings.moto_port or None)
    print("Starting DynamoDB Local and moto server ...", flush=True)
    stack.start()
    stack.apply_env()
    # Serve the local stage as chalice local would: with that stage's environment from .chalice/config.json.
    from localdev.gateway import local_config

    for name, value in local_config("local").environment_variables.items():
        os.environ.setdefault(name, value)
    # Webhooks to a receiver on this machine (the local stage alone honours it; the tests set it too).
    os.environ.setdefault("BTRIX_WEBHOOK_ALLOW_LOOPBACK", "true")
    management_port = settings.ws_management_port or free_port()
    os.environ["BTRIX_WEBSOCKET_MANAGEMENT_URL"] = f"http://{HOST}:{management_port}"
    servers: list[object] = []
    worker = None
    websocket = None
    fakes: dict[FakeKind, FakeProvider] = {}
    bitrix: FakeBitrix24 | None = None
    paying: tuple[FakeStripe | None, FakeMercadoPago | None] = (None, None)
    sales_fakes: SalesFakes | None = None
    # Known before the app reads its settings: the Bitrix24 app's handler URL is this server's /hooks/bitrix24, the
    # payment links' base is this API's /pay.
    hooks_port = settings.hooks_port or free_port()
    # Known before too: Google's consent returns to this API's callback.
    api_port = settings.api_port or free_port()
    try:
        fakes = _start_fakes(settings)
        from localdev.demo_gateway import start_fake_bitrix24
        from localdev.demo_payments import start_fakes as start_payment_fakes

        bitrix = start_fake_bitrix24(
            settings.fake_providers, settings.fake_bitrix24_port, f"http://{HOST}:{hooks_port}/hooks/bitrix24"
        )
        paying = start_payment_fakes(
            settings.fake_providers,
            settings.fake_stripe_port,
            settings.fake_mercadopago_port,
            f"http://{HOST}:{api_port}",
            f"http://{HOST}:{hooks_port}/hooks",
        )
        from localdev import demo_sales_integrations

        sales_fakes = demo_sales_integrations.start_fakes(
            settings.fake_providers, settings.fake_billy_port, settings.fake_google_port, f"http://{HOST}:{api_port}"
        )
        # Imported only now: the app reads its settings and endpoints from the environment set above.
        from app import app
        from functions import FUNCTION_URLS
        from functions.outbox_publisher import handler as publish
        from localdev import function_urls, gateway
        from localdev.provision import provision
        from localdev.seed import DEMO_PASSWORD, seed
        from localdev.websocket import LocalWebsocketApi
        from localdev.worker import Worker

        provision()
        _fake_credentials(fakes)
        logins = seed()
        # Before the worker starts: the seeded sales' invoice and calendar actions then find the fakes connected.
        demo_sales_integrations.connect(sales_fakes)
        api = gateway.make_server(app, HOST, api_port)
        hooks = function_urls.make_server(HOST, hooks_port, FUNCTION_URLS)
        servers = [api.server, hooks]
        for server in servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()  # type: ignore[attr-defined]
        websocket = LocalWebsocketApi(app, HOST, settings.ws_port, management_port)
        websocket.start()
        worker = Worker(app, publish)
        worker.start()
        demo = _connect_demo_gateway(fakes, bitrix)
        payments = _connect_demo_payments(*paying, f"http://{HOST}:{hooks_port}/hooks")
        banner = _banner(
            stack,
            api_port,
            hooks_port,
            websocket.ws_port,
            logins,
            DEMO_PASSWORD,
            fakes,
            bitrix,
            demo,
            paying,
            payments,
            sales_fakes,
        )
        print(banner, flush=True)
        stop.wait()
        print("Stopping ...", flush=True)
    finally:
        for server in servers:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]
        if websocket is not None:
            websocket.stop()
        if worker is not None:
            worker.stop()
            worker.join(timeout=10)
        for fake in fakes.values():
            fake.stop()
        if bitrix is not None:
            bitrix.stop()
        for payment_fake in paying:
            if payment_fake is not None:
                payment_fake.stop()
        if sales_fakes is not None:
            sales_fakes.stop()
        stack.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
