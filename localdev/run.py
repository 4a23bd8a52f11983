"""``make run``: the whole of BTRIX on this machine, with no AWS account.

Starts the local stack, provisions it, seeds the demo, serves the provider webhook URLs (:8001), runs the worker
(queues, table stream, schedules), starts fake providers (Twilio, Meta, SES, Web Push, Bitrix24, Stripe,
MercadoPago, Billy, Google; :8010-8018; iFood :8030; Rappi :8031) for the providers nothing real is configured
for, connects the sales company's Billy and Google Calendar (``localdev.demo_sales_integrations``), the restaurant's
iFood and Rappi stores (``localdev.demo_delivery``), the WhatsApp <-> Bitrix24 gateway's demo
number and portal (``localdev.demo_gateway``) and the demo tenants' payment accounts, makes a payment link for the
restaurant's waiting order (``localdev.demo_payments``), waits until the demo's own events are handled,
and only then serves the REST API
(:8000, bound at once so a taken port fails early) and prints the banner: when ``/health`` answers, the demo is
ready. It also writes the ready file (``BTRIX_READY_FILE``, default ``.cache/make-run.ready.json``) with the URLs,
for scripts; it is removed on stop.

Output: every log line in full (JSON) goes to ``.cache/logs/run-<time>-<pid>.log``; the terminal gets the progress,
the banner, one short line per request and the warnings and errors (``localdev.logs``; once stopping, errors go to the
file only: the services going away are no news).

Ctrl-C (or SIGTERM) stops everything it started at any moment, during start-up too; a second one exits at once
(DynamoDB Local and moto die with this process).

The banner is made of sections (``banner_section``): a capability that adds something to try registers one.
The restaurant's GA4 stream (a fake on :8041) and Meta Pixel: ``localdev.demo_conversions``.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic_settings import BaseSettings, SettingsConfigDict

from localdev.fakes import FakeKind, FakeProvider
from localdev.logs import RunLogs, say
from localdev.stack import CACHE, LocalStack, free_port

if TYPE_CHECKING:
    from localdev.demo_conversions import ConversionsDemo
    from localdev.demo_delivery import DeliveryDemo
    from localdev.demo_erp import ErpFakes
    from localdev.demo_gateway import DemoGateway
    from localdev.demo_payments import DemoPayments
    from localdev.demo_sales_integrations import SalesFakes
    from localdev.demo_shipping import ShippingDemo
    from localdev.fake_bitrix24 import FakeBitrix24
    from localdev.fake_mercadopago import FakeMercadoPago
    from localdev.fake_pagarme import FakePagarme
    from localdev.fake_stripe import FakeStripe
    from localdev.seed import DemoLogin

__all__ = ["BANNER", "RunSettings", "Running", "banner", "banner_section", "main"]

HOST = "127.0.0.1"  # loopback only: nothing here is meant to be reachable from another machine
_SETTLE_TIMEOUT_S = 90.0
T = TypeVar("T")


class RunSettings(BaseSettings):
    """Ports of the local runner (``BTRIX_API_PORT`` …; 0 means any free port) and its ready file.

    The fakes' ports are fixed so that the banner's ``curl …/_received`` lines stay the same from run to run; a
    fake whose port another program holds gets a free one (the terminal says so).
    """

    model_config = SettingsConfigDict(env_prefix="BTRIX_", extra="ignore")

    api_port: int = 8000
    hooks_port: int = 8001
    ws_port: int = 8002
    ws_management_port: int = 8003
    dynamodb_port: int = 0
    moto_port: int = 0
    # Fake providers for the channels with no provider configured (BTRIX_FAKE_PROVIDERS=false: outbox mode).
    fake_providers: bool = True
    fake_twilio_port: int = 8010
    fake_meta_port: int = 8011
    fake_ses_port: int = 8012
    fake_webpush_port: int = 8013
    fake_bitrix24_port: int = 8014
    fake_stripe_port: int = 8015
    fake_mercadopago_port: int = 8016
    fake_billy_port: int = 8017
    fake_google_port: int = 8018
    fake_ifood_port: int = 8030
    fake_rappi_port: int = 8031
    fake_llm_port: int = 8019
    fake_melhorenvio_port: int = 8026
    fake_correios_port: int = 8036
    fake_jadlog_port: int = 8037
    fake_pagarme_port: int = 8028
    fake_ga4_port: int = 8041
    fake_bling_port: int = 8024
    fake_tiny_port: int = 8025
    ready_file: Path = CACHE / "make-run.ready.json"


# Each fake stands in for a provider unless the environment points the channel somewhere (this variable set).
_CONFIGURED_BY: dict[FakeKind, str] = {
    "twilio": "BTRIX_TWILIO_BASE_URL",
    "meta": "BTRIX_META_GRAPH_URL",
    "ses": "BTRIX_EMAIL_FROM",
}
_FAKE_SENDER = "notifications@btrix.localhost"


def _on_port(start: Callable[[int], T], port: int, what: str) -> T:
    """``start(port)``; when another program holds that port, ``start(0)`` (a free one), said on the terminal."""
    try:
        return start(port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise
        say(f"  port {port} is taken: {what} listens on a free port instead")
        return start(0)


def _port_or_free(port: int, what: str) -> int:
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
        started[kind] = _on_port(_fake(kind), port, f"the fake {kind}").start()
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
        say(f"The gateway demo was not connected: {exc}")
        return None


def _connect_demo_payments(
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


# --- the banner --------------------------------------------------------------------------------------------------


@dataclass
class Running:
    """What ``make run`` started: what the banner sections print from."""

    api: str
    hooks: str
    websocket: str
    stack: LocalStack
    logins: list[DemoLogin]
    password: str
    log_file: Path
    fakes: dict[str, str] = field(default_factory=dict)  # kind → base URL (bitrix24 included)
    bitrix: FakeBitrix24 | None = None
    demo: DemoGateway | None = None
    payments: DemoPayments | None = None
    sales_fakes: SalesFakes | None = None
    shipping: ShippingDemo | None = None
    delivery: DeliveryDemo | None = None
    conversions: ConversionsDemo | None = None
    erp: ErpFakes | None = None
    shop_product_code: str | None = None  # the restaurant's pizza, bought in the assistant's demo

    def admin(self, index: int = 0) -> DemoLogin:
        """The ADMIN login of the ``index``-th demo tenant."""
        return [login for login in self.logins if login.role == "ADMIN"][index]

    def login_lines(self, email: str) -> list[str]:
        """Bash lines that log ``email`` in and keep the access token in ``$token``."""
        body = json.dumps({"identifier": email, "password": self.password})
        return [
            f"token=$(curl -s -X POST {self.api}/auth/login -H 'Content-Type: application/json' \\",
            f"      -d '{body}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"accessToken\"])')",
        ]


BannerSection = Callable[[Running], list[str]]
BANNER: list[BannerSection] = []


def banner_section(section: BannerSection) -> BannerSection:
    """Add ``section`` to the banner (after those registered before it); it returns its lines, or none."""
    BANNER.append(section)
    return section


@banner_section
def _urls(run: Running) -> list[str]:
    fake_lines = [f"  fake {kind:<10} {url}" for kind, url in run.fakes.items()]
    if fake_lines:
        fake_lines.append(
            '                  (POST /_config {"failRate": 0.3} fails requests; GET /_received lists them)'
        )
    return [
        "",
        "BTRIX is running locally (Ctrl-C stops everything)",
        f"  REST API        {run.api}",
        f"  health          {run.api}/health",
        f"  API docs        {run.api}/api-docs   (OpenAPI: {run.api}/api-docs.json)",
        f"  webhook URLs    {run.hooks}/<provider>",
        f"  live updates    {run.websocket}/?token=<access token>",
        f"  DynamoDB Local  {run.stack.dynamodb_url}",
        f"  moto server     {run.stack.moto_url}",
        *fake_lines,
        f"  logs            {run.log_file}   (every line, JSON; services: {run.stack.log_dir})",
        f"  service PIDs    {' '.join(str(pid) for pid in run.stack.pids)}",
    ]


@banner_section
def _logins(run: Running) -> list[str]:
    admins = [
        f"    {login.email:<38} {login.role:<15} {login.tenant}" for login in run.logins if login.role.endswith("ADMIN")
    ]
    return [
        "",
        f"Demo logins (password {run.password}); each tenant also has <role>@<its domain> for every role:",
        *admins,
        "",
        "Log in and ask who you are (paste into bash):",
        "",
        *[f"    {line}" for line in run.login_lines(run.admin().email)],
        f'    curl -s {run.api}/auth/me -H "Authorization: Bearer $token"',
    ]


@banner_section
def _throttling(run: Running) -> list[str]:
    """How to see a tenant's plan throttle it: a new signup (Lojista) makes more requests than its burst."""
    from chalicelib.plans.catalog import DEFAULT_PLAN_ID, get_plan

    plan = get_plan(DEFAULT_PLAN_ID)
    admin = {"name": "Tina Throttle", "email": "throttle-$RANDOM@example.com", "password": run.password}
    body = json.dumps({"companyName": "Throttle demo", "businessType": "retail", "admin": admin}).replace('"', '\\"')
    token = """python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens"]["accessToken"])'"""
    status = "-o /dev/null -w '%{http_code} ' "
    return [
        "",
        f"Throttling per tenant (each plan's rate and burst, GET /plans): a new signup is on {plan.name},"
        f" {plan.requests_per_second:g}/s in bursts of {plan.request_burst}:",
        "",
        f"    token=$(curl -s -X POST {run.api}/auth/signup -H 'Content-Type: application/json' \\",
        f'      -d "{body}" | {token})',
        f"    for i in $(seq {plan.request_burst + 10}); do curl -s {status}{run.api}/auth/me"
        ' -H "Authorization: Bearer $token" & done; wait; echo',
        f"    # all at once, as a page load: about {plan.request_burst} times 200, the rest 429 problem+json with"
        " Retry-After (curl -i shows it)",
    ]


BROWSER_ORIGIN = "http://127.0.0.1:5173"  # a frontend's dev server, as the banner's browser-session lines assume


@banner_section
def _browser_sessions(run: Running) -> list[str]:
    """How to try a browser session (cookie mode): the tenant allows the frontend's origin, curl keeps the cookies."""
    admin = run.admin().email
    auth = '-H "Authorization: Bearer $token"'
    json_type = "-H 'Content-Type: application/json'"
    version = """python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'"""
    allow = """'{"version": '$v', "allowedOrigins": ["%s"]}'""" % BROWSER_ORIGIN  # noqa: UP031 - braces of JSON
    login = json.dumps({"identifier": admin, "password": run.password, "session": "cookie"})
    origin = f"-H 'Origin: {BROWSER_ORIGIN}'"
    csrf = """-H "X-CSRF-Token: $(awk '/btrix_csrf/ {print $7}' jar)\""""
    return [
        "",
        "Browser sessions (tokens in HttpOnly cookies; on 127.0.0.1 without Secure, see docs/SECURITY.md):",
        f"allow the frontend's origin ({BROWSER_ORIGIN}), log in with session=cookie, call with the CSRF token:",
        "",
        *[f"    {line}" for line in run.login_lines(admin)],
        f"    v=$(curl -s {run.api}/tenant {auth} | {version})",
        f"    curl -s -X PATCH {run.api}/tenant {auth} {json_type} -d {allow}",
        f"    curl -s -c jar -X POST {run.api}/auth/login {origin} {json_type} -d '{login}'",
        f"    curl -s -b jar {run.api}/auth/me {origin}",
        f"    curl -s -b jar -c jar -X POST {run.api}/auth/logout {origin} {json_type} -d '{{}}' \\",
        f"      {csrf} -w '%{{http_code}}\\n'",
    ]


@banner_section
def _sales(run: Running) -> list[str]:
    """How to try the sales tracking demo (the Danish company's sales, leads, dashboard and exports)."""
    from localdev.seed import SALES_DEMO

    rep, manager = (f"{role}@{SALES_DEMO.domain}" for role in ("sales-rep", "manager"))
    auth = '-H "Authorization: Bearer $token"'
    convert = '# then POST /leads/<id>/convert {"version": <v>}'
    export = json.dumps({"kind": "sales"})
    return [
        "",
        f"Sales tracking: {SALES_DEMO.name} (da-DK, DKK) has services, customers, sales in every status and leads.",
        f"{rep} sees its own sales, leads and numbers; {manager} sees everything and exports:",
        "",
        *[f"    {line}" for line in run.login_lines(manager)],
        f"    curl -s '{run.api}/sales?limit=10' {auth}",
        f"    curl -s '{run.api}/analytics/dashboard?groupBy=week' {auth}",
        f"    curl -s '{run.api}/leads?status=QUALIFIED' {auth}     {convert}",
        f"    curl -s -X POST {run.api}/exports {auth} -H 'Content-Type: application/json' -d '{export}'",
        "                                                    # then GET /exports/<id>: progress, then a download url",
    ]


@banner_section
def _marketplace(run: Running) -> list[str]:
    """How to try the StockTech marketplace and Lucrum finance (the reseller sells, the bike shop buys)."""
    from localdev.seed import BIKE_SHOP, RESELLER_DEMO

    seller, buyer = f"admin@{RESELLER_DEMO.domain}", f"admin@{BIKE_SHOP.domain}"
    auth = '-H "Authorization: Bearer $token"'
    json_header = "-H 'Content-Type: application/json'"
    order = json.dumps({"listingId": "<id from the search>", "quantity": 2})
    return [
        "",
        f"Marketplace (StockTech): {RESELLER_DEMO.name} (pt-BR, CNPJ) sells parts; {BIKE_SHOP.name} buys from it.",
        f"As {buyer}: search, buy (the seller's stock is reserved; waLink opens a chat with the seller):",
        "",
        *[f"    {line}" for line in run.login_lines(buyer)],
        f"    curl -s '{run.api}/marketplace/listings?q=corrente' {auth}",
        f"    curl -s -X POST {run.api}/marketplace/orders {auth} {json_header} -d '{order}'",
        f"    curl -s '{run.api}/marketplace/purchases' {auth}",
        f"As {seller}: /marketplace/sales (POST …/transitions {{to: CONFIRMED|COMPLETED|CANCELLED, version}}),",
        "and its books (Lucrum): /finance/accounts (balances), /finance/transactions, and the cash flow:",
        "",
        *[f"    {line}" for line in run.login_lines(seller)],
        f"    curl -s '{run.api}/finance/accounts' {auth}",
        f'    curl -s "{run.api}/finance/cash-flow?from=$(date +%Y-%m)&to=$(date -d +2month +%Y-%m)" {auth}',
    ]


@banner_section
def _sales_integrations(run: Running) -> list[str]:
    """How to try Billy.dk invoices and Google Calendar events of the demo sales company."""
    if run.sales_fakes is None:
        return []
    from localdev import demo_sales_integrations
    from localdev.seed import SALES_DEMO

    found = demo_sales_integrations.lines(run.api, run.sales_fakes)
    if not found:
        return []
    body = json.dumps({"identifier": f"admin@{SALES_DEMO.domain}", "password": run.password})
    login = [
        f"    ADMIN=$(curl -s -X POST {run.api}/auth/login -H 'Content-Type: application/json' \\",
        f"      -d '{body}' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"accessToken\"])')",
    ]
    return ["", found[0], *login, *found[1:-1]]


@banner_section
def _shipping(run: Running) -> list[str]:
    """How to quote the demo shop's orders with the fake carriers and buy their labels."""
    from localdev import demo_shipping

    return demo_shipping.lines(run.api, run.shipping, run.password)


@banner_section
def _delivery(run: Running) -> list[str]:
    """How to drop an iFood or a Rappi order into the demo restaurant."""
    if run.delivery is None:
        return []
    from localdev import demo_delivery
    from localdev.seed import DEMO_TENANTS

    return demo_delivery.lines(run.api, run.delivery, run.login_lines(f"admin@{DEMO_TENANTS[0].domain}"))


@banner_section
def _conversions(run: Running) -> list[str]:
    """How to see an order of a consenting customer reach the restaurant's GA4 stream and Meta Pixel."""
    if run.conversions is None:
        return []
    from localdev import demo_conversions
    from localdev.seed import DEMO_TENANTS

    login = run.login_lines(f"admin@{DEMO_TENANTS[0].domain}")
    return demo_conversions.lines(run.api, run.conversions, login)


@banner_section
def _erp(run: Running) -> list[str]:
    """How to see a push reach the fake Bling and Tiny, and to pull their stock (a conflict logged)."""
    from localdev import demo_erp
    from localdev.seed import DEMO_TENANTS, RESELLER_DEMO

    if run.erp is None:
        return []
    logins = (run.login_lines(f"admin@{RESELLER_DEMO.domain}"), run.login_lines(f"admin@{DEMO_TENANTS[0].domain}"))
    return demo_erp.lines(run.api, run.erp, *logins)


@banner_section
def _gateway(run: Running) -> list[str]:
    if run.bitrix is None or run.demo is None:
        return []
    from localdev.demo_gateway import play_lines
    from localdev.provision import local_webhook_secrets

    admin = run.admin()
    play = play_lines(run.hooks, local_webhook_secrets()["meta-app-secret"], run.demo.phone_number_id)
    return [
        "",
        f"WhatsApp <-> Bitrix24 gateway: {admin.tenant}'s number {run.demo.phone_number_id} relays to "
        f"Open Line {run.demo.line} of the fake portal {run.demo.domain}.",
        "Paste these lines into bash to play a signed inbound WhatsApp message end to end:",
        "",
        *[f"    {line}" for line in play],
        "",
        f"then see it in Bitrix24 (imconnector.send.messages): curl -s {run.bitrix.url}/_received",
        f"and in BTRIX, as {admin.email}:",
        "",
        *[f"    {line}" for line in run.login_lines(admin.email)],
        f'    curl -s {run.api}/conversations -H "Authorization: Bearer $token"',
    ]


@banner_section
def _assistant(run: Running) -> list[str]:
    meta = run.fakes.get("meta")
    if run.demo is None or meta is None or run.shop_product_code is None or run.payments is None:
        return []
    from localdev.demo_assistant import assistant_lines
    from localdev.demo_gateway import DEMO_CUSTOMER, play_lines
    from localdev.provision import local_webhook_secrets

    admin = run.admin()
    play = play_lines(run.hooks, local_webhook_secrets()["meta-app-secret"], run.demo.phone_number_id, "$1")
    lines = assistant_lines(
        api=run.api,
        channel_id=run.demo.channel_id,
        llm_url=run.fakes.get("llm"),
        meta_url=meta,
        product_code=run.shop_product_code,
        play=play,
        customer=DEMO_CUSTOMER[0],
    )
    return [
        "",
        f"WhatsApp shop assistant: switch {admin.tenant}'s number to the assistant and buy two pizzas in WhatsApp;",
        "paste these lines into bash (the last ones print what the customer got: the menu, the cart, the payment link;",
        'PUT {"mode": "gateway"} switches the number back to Bitrix24):',
        "",
        *[f"    {line}" for line in [*run.login_lines(admin.email), *lines]],
    ]


def _shop_product_code() -> str | None:
    from localdev.demo_assistant import demo_product_code
    from localdev.seed import DEMO_TENANTS, demo_admin

    return demo_product_code(demo_admin(DEMO_TENANTS[0]))


@banner_section
def _payments(run: Running) -> list[str]:
    stripe = run.fakes.get("stripe")
    if run.payments is None or stripe is None:
        return []
    from localdev.demo_payments import pay_lines

    payments = run.payments
    return [
        "",
        f"Payments: {payments.tenant}'s order #{payments.order_number} waits for its payment; its link is "
        f"{payments.url}",
        "Paste these lines into bash to pay it at the fake checkout (the fake posts its signed webhook, the worker",
        "confirms it, the order moves to PAID and the customer gets a receipt):",
        "",
        *[f"    {line}" for line in pay_lines(payments)],
        "",
        f"  in BTRIX:    GET {run.api}/payments and GET {run.api}/orders?status=PAID",
        f"  at the fake: curl -s {stripe}/_received   (the checkout, webhooks sent: GET {stripe}/_webhooks)",
    ]


@banner_section
def _pagarme(run: Running) -> list[str]:
    pagarme = run.fakes.get("pagarme")
    if run.payments is None or pagarme is None:
        return []
    from localdev.demo_payments import pagarme_lines

    admin = run.admin()
    return [
        "",
        f"Pagar.me: every demo tenant is connected to the fake Pagar.me ({pagarme}, API under /core/v5). Paste these",
        f"lines to place an order at {admin.tenant}, make its Pagar.me link and pay it at the fake's hosted checkout",
        "(the fake posts charge.paid and order.paid with the tenant's Basic login; the worker fetches the order):",
        "",
        *[f"    {line}" for line in run.login_lines(admin.email)],
        *[f"    {line}" for line in pagarme_lines(run.api, pagarme)],
        "",
        f"  a refund in Pagar.me's dashboard: curl -s -X POST {pagarme}/_refund/<payment providerPaymentId (ch_…)>",
        f'  Pagar.me\'s rate limit: curl -s -X POST {pagarme}/_config -d \'{{"failNext": 3, "failStatus": 429}}\'',
    ]


@banner_section
def _billing(run: Running) -> list[str]:
    stripe = run.fakes.get("stripe")
    if run.payments is None or stripe is None:
        return []
    from localdev.demo_payments import subscribe_lines

    admin = run.admin()
    return [
        "",
        f"Billing: {admin.tenant} uses the Corporativo plan, granted by the platform operator (nothing subscribed:",
        "GET /billing says status none). Paste these lines to subscribe to it and pay at the fake Stripe (its signed",
        "invoice.paid makes the subscription active; GET /billing shows it and the paid invoice):",
        "",
        *[f"    {line}" for line in run.login_lines(admin.email)],
        *[f"    {line}" for line in subscribe_lines(run.api, "corporativo")],
        "",
        f"  a failed renewal: curl -s -X POST {stripe}/_renew/<subscription.providerSubscriptionId> "
        '-d \'{"outcome": "failed"}\'',
        "    (past due, the ADMINs are emailed; after BTRIX_BILLING_GRACE_DAYS the tenant is suspended;",
        f"     POST {stripe}/_settle/<invoice providerId> pays it and reactivates the tenant)",
        "  the operator: GET /platform/subscriptions?status=past_due, GET /platform/billing/events",
    ]


@banner_section
def _privacy(run: Running) -> list[str]:
    """How to try consents, a customer's data export and their erasure (an ADMIN of the first demo tenant)."""
    admin = run.admin()
    auth = '-H "Authorization: Bearer $token"'
    json_header = "-H 'Content-Type: application/json'"
    first = 'python3 -c \'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])\''
    person = '{"subject": "customer", "id": "\'$customer\'"}'
    withdraw = '{"purpose": "marketing", "granted": false, "method": "form", "policyVersion": "2026-12"}'
    return [
        "",
        f"Privacy: {admin.tenant}'s customers' consents, a customer's data as a ZIP, their erasure (ADMIN):",
        "",
        *[f"    {line}" for line in run.login_lines(admin.email)],
        f"    customer=$(curl -s '{run.api}/customers?limit=1' {auth} | {first})",
        f"    curl -s -X POST {run.api}/customers/$customer/consents {auth} {json_header} -d '{withdraw}'",
        f"    curl -s -X POST {run.api}/privacy/exports {auth} {json_header} -d '{person}'",
        "                                        # then GET /privacy/exports/<id>: progress, then a download url",
        f"    curl -s -X POST {run.api}/privacy/erasures {auth} {json_header} -d '{person}'",
        "                                        # then GET /privacy/erasures/<id>: what was erased, each processor",
    ]


def banner(run: Running) -> str:
    """The banner: every registered section, in order."""
    return "\n".join(line for section in BANNER for line in section(run)) + "\n"


# --- start, wait, stop -------------------------------------------------------------------------------------------


def _write_ready(path: Path, run: Running) -> None:
    """The ready file, written whole (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ready = {
        "pid": os.getpid(),
        "api": run.api,
        "hooks": run.hooks,
        "websocket": run.websocket,
        "dynamodb": run.stack.dynamodb_url,
        "moto": run.stack.moto_url,
        "servicePids": run.stack.pids,
        "fakes": run.fakes,
        "logFile": str(run.log_file),
    }
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(ready, indent=2))
    partial.replace(path)


def _remove_ready(path: Path) -> None:
    """Remove the ready file if this process wrote it (another run's is left alone)."""
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # wherever start-up is (a wait, a request, the seed), unwind to the clean-up


def _hurry(signum: int, frame: FrameType | None) -> None:
    say("Stopping now.")
    os._exit(130)  # a second Ctrl-C during the clean-up: DynamoDB Local and moto die with this process


class _Started:
    """What has been started so far, stopped in reverse order whatever the moment."""

    def __init__(self) -> None:
        self.stack: LocalStack | None = None
        self.fakes: dict[FakeKind, FakeProvider] = {}
        self.bitrix: FakeBitrix24 | None = None
        self.paying: tuple[FakeStripe | None, FakeMercadoPago | None, FakePagarme | None] = (None, None, None)
        self.sales_fakes: SalesFakes | None = None
        self.shipping: ShippingDemo | None = None
        self.delivery: DeliveryDemo | None = None
        self.conversions: ConversionsDemo | None = None
        self.erp: ErpFakes | None = None
        self.llm: Any = None
        self.bound: list[Any] = []  # servers with a socket (closed at the end)
        self.serving: list[Any] = []  # servers whose loop runs (shut down first)
        self.websocket: Any = None
        self.worker: Any = None

    def serve(self, server: Any) -> None:
        self.serving.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def _stop_worker(self) -> None:
        self.worker.stop()
        self.worker.join(timeout=10)  # the step under way finishes

    def stop(self) -> None:
        """Everything at once: DynamoDB Local and moto are signalled first, the servers' loops (each polls for
        its shutdown every half second) and the worker are stopped side by side, then the stack is waited for."""
        from concurrent.futures import ThreadPoolExecutor

        if self.stack is not None:
            self.stack.terminate()
        stops: list[Callable[[], None]] = [server.shutdown for server in self.serving]
        stops += [fake.stop for fake in self.fakes.values()]
        stops += [self.bitrix.stop] if self.bitrix is not None else []
        stops += [fake.stop for fake in self.paying if fake is not None]
        stops += [self.sales_fakes.stop] if self.sales_fakes is not None else []
        stops += [self.shipping.stop] if self.shipping is not None else []
        stops += [self.delivery.stop] if self.delivery is not None else []
        stops += [self.conversions.stop] if self.conversions is not None else []
        stops += [self.erp.stop] if self.erp is not None else []
        stops += [self.llm.stop] if self.llm is not None else []
        stops += [self.websocket.stop] if self.websocket is not None else []
        if self.worker is not None:
            stops.append(self._stop_worker)
        with ThreadPoolExecutor(max_workers=max(1, len(stops))) as pool:
            for _ in pool.map(lambda stop: stop(), stops):
                pass
        for server in self.bound:
            server.server_close()
        if self.stack is not None:
            self.stack.stop()


def main() -> int:
    """Run until SIGINT/SIGTERM; returns the exit status."""
    settings = RunSettings()
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    # Serve the local stage as chalice local would: with that stage's environment from .chalice/config.json, set
    # before anything reads the settings (the log level too).
    from localdev.gateway import local_config

    for name, value in local_config("local").environment_variables.items():
        os.environ.setdefault(name, value)
    # Webhooks to a receiver on this machine (the local stage alone honours it; the tests set it too).
    os.environ.setdefault("BTRIX_WEBHOOK_ALLOW_LOOPBACK", "true")
    logs = RunLogs(CACHE / "logs")
    logs.install()
    started = _Started()
    try:
        say("Starting DynamoDB Local and moto server ...")
        started.stack = LocalStack(settings.dynamodb_port or None, settings.moto_port or None)
        started.stack.start()
        started.stack.apply_env()
        management_port = settings.ws_management_port or free_port()
        os.environ["BTRIX_WEBSOCKET_MANAGEMENT_URL"] = f"http://{HOST}:{management_port}"
        # Known before the app reads its settings: the Bitrix24 app's handler URL is this server's /hooks/bitrix24,
        # the payment links' base is this API's /pay, Google's consent returns to this API's callback.
        hooks_port = settings.hooks_port or free_port()
        api_port = settings.api_port or free_port()
        started.fakes = _start_fakes(settings)
        from localdev import function_urls, gateway
        from localdev.demo_gateway import start_fake_bitrix24
        from localdev.demo_payments import start_fakes as start_payment_fakes

        started.bitrix = _on_port(
            lambda p: start_fake_bitrix24(settings.fake_providers, p, f"http://{HOST}:{hooks_port}/hooks/bitrix24"),
            settings.fake_bitrix24_port,
            "the fake bitrix24",
        )
        started.paying = start_payment_fakes(
            settings.fake_providers,
            _port_or_free(settings.fake_stripe_port, "the fake stripe"),
            _port_or_free(settings.fake_mercadopago_port, "the fake mercadopago"),
            _port_or_free(settings.fake_pagarme_port, "the fake pagarme"),
            f"http://{HOST}:{api_port}",
            f"http://{HOST}:{hooks_port}/hooks",
        )
        from localdev import demo_sales_integrations

        sales_fakes = started.sales_fakes = demo_sales_integrations.start_fakes(
            settings.fake_providers,
            _port_or_free(settings.fake_billy_port, "the fake billy"),
            _port_or_free(settings.fake_google_port, "the fake google"),
            f"http://{HOST}:{api_port}",
        )
        from localdev import demo_shipping

        started.shipping = demo_shipping.start_fake(
            settings.fake_providers,
            _port_or_free(settings.fake_melhorenvio_port, "the fake melhorenvio"),
            f"http://{HOST}:{api_port}",
            _port_or_free(settings.fake_correios_port, "the fake correios"),
            _port_or_free(settings.fake_jadlog_port, "the fake jadlog"),
        )
        from localdev import demo_delivery

        delivery = started.delivery = demo_delivery.start_fake(
            settings.fake_providers,
            _port_or_free(settings.fake_ifood_port, "the fake ifood"),
            _port_or_free(settings.fake_rappi_port, "the fake rappi"),
        )
        from localdev import demo_conversions

        conversions = started.conversions = demo_conversions.start_fake(
            settings.fake_providers, _port_or_free(settings.fake_ga4_port, "the fake ga4")
        )
        from localdev import demo_erp

        started.erp = demo_erp.start_fakes(
            settings.fake_providers,
            _port_or_free(settings.fake_bling_port, "the fake bling"),
            _port_or_free(settings.fake_tiny_port, "the fake tiny"),
            f"http://{HOST}:{api_port}",
        )
        from localdev.demo_assistant import start_fake_llm

        started.llm = _on_port(
            lambda p: start_fake_llm(settings.fake_providers, p), settings.fake_llm_port, "the fake llm"
        )
        # Imported only now: the app reads its settings and endpoints from the environment set above.
        from app import app
        from functions import FUNCTION_URLS
        from functions.outbox_publisher import handler as publish
        from localdev.provision import provision
        from localdev.seed import DEMO_PASSWORD, seed
        from localdev.websocket import LocalWebsocketApi
        from localdev.worker import Worker

        # Bound now, so that a taken port fails before the long part; the API is served last, once the demo is
        # ready (what /health answering means).
        api = gateway.make_server(app, HOST, api_port)
        started.bound.append(api.server)
        hooks_server = function_urls.make_server(HOST, hooks_port, FUNCTION_URLS)
        started.bound.append(hooks_server)
        say("Provisioning the table, queues, event bus and secrets ...")
        provision()
        _fake_credentials(started.fakes)
        say("Seeding the demo tenants ...")
        webpush = started.fakes.get("webpush")
        logins = seed(push_service=webpush.url if webpush is not None else None)
        # Before the worker starts: the seeded sales' invoice and calendar actions then find the fakes connected.
        demo_sales_integrations.connect(sales_fakes)
        demo_shipping.connect(started.shipping, f"http://{HOST}:{hooks_port}/hooks")
        demo_delivery.connect(delivery, f"http://{HOST}:{hooks_port}/hooks")
        demo_conversions.connect(conversions, started.fakes.get("meta"))
        demo_erp.connect(started.erp)
        started.serve(hooks_server)
        started.websocket = LocalWebsocketApi(app, HOST, settings.ws_port, management_port)
        started.websocket.start()
        started.worker = Worker(app, publish)
        started.worker.start()
        demo = None
        if started.bitrix is not None:
            say("Connecting the WhatsApp <-> Bitrix24 demo ...")
            demo = _connect_demo_gateway(started.fakes, started.bitrix)
        payments = None
        if any(fake is not None for fake in started.paying):
            say("Connecting the payments demo ...")
            payments = _connect_demo_payments(*started.paying, f"http://{HOST}:{hooks_port}/hooks")
        say("Handling the demo's events ...")
        if not started.worker.wait_idle(_SETTLE_TIMEOUT_S):
            say(f"  the worker was still busy after {_SETTLE_TIMEOUT_S:.0f}s; starting anyway")
        demo_erp.listen(started.erp, f"http://{HOST}:{hooks_port}/hooks")  # once the seed's pushes are in
        started.serve(api.server)
        fakes = {str(kind): fake.url for kind, fake in started.fakes.items()}
        if started.bitrix is not None:
            fakes["bitrix24"] = started.bitrix.url
        fakes.update({fake.kind: fake.url for fake in started.paying if fake is not None})
        fakes.update({fake.kind: fake.url for fake in (sales_fakes.billy, sales_fakes.google) if fake is not None})
        if started.llm is not None:
            fakes["llm"] = started.llm.url
        if started.shipping is not None:
            fakes.update(started.shipping.urls())
        fakes.update({fake.kind: fake.url for fake in (delivery.ifood, delivery.rappi) if fake is not None})
        if conversions.ga4 is not None:
            fakes["ga4"] = conversions.ga4.url
        fakes.update(started.erp.urls())
        running = Running(
            api=f"http://{HOST}:{api.server.server_address[1]}",
            hooks=f"http://{HOST}:{hooks_port}/hooks",
            websocket=f"ws://{HOST}:{started.websocket.ws_port}",
            stack=started.stack,
            logins=logins,
            password=DEMO_PASSWORD,
            log_file=logs.path,
            fakes=fakes,
            bitrix=started.bitrix,
            demo=demo,
            payments=payments,
            sales_fakes=started.sales_fakes,
            shipping=started.shipping,
            delivery=delivery,
            conversions=conversions,
            erp=started.erp,
            shop_product_code=_shop_product_code() if demo is not None else None,
        )
        say(banner(running))
        _write_ready(settings.ready_file, running)
        threading.Event().wait()  # until Ctrl-C or SIGTERM raises KeyboardInterrupt here
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, _hurry)
        signal.signal(signal.SIGTERM, _hurry)
        say("Stopping ...")
        logs.quiet()
        _remove_ready(settings.ready_file)
        started.stop()
        logs.uninstall()
    say("Stopped.")
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything started was stopped above; the interpreter's own teardown (collecting the whole application's
    # objects) takes seconds more on a busy machine, for nothing.
    os._exit(status)
