"""``make run``'s banner: what a person needs to try BTRIX locally (URLs, logins, and a section per capability with
something to try), printed once the demo is ready.

The banner is made of sections (``banner_section``): a capability that adds something to try registers one; they
print in the order they were registered. ``Running`` is what ``make run`` started, what the sections print from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from localdev.stack import LocalStack

if TYPE_CHECKING:
    from localdev.demo_conversions import ConversionsDemo
    from localdev.demo_delivery import DeliveryDemo
    from localdev.demo_erp import ErpFakes
    from localdev.demo_gateway import DemoGateway
    from localdev.demo_payments import DemoPayments
    from localdev.demo_sales_integrations import SalesFakes
    from localdev.demo_shipping import ShippingDemo
    from localdev.fake_bitrix24 import FakeBitrix24
    from localdev.seed import DemoLogin

__all__ = ["BANNER", "BROWSER_ORIGIN", "BannerSection", "Running", "banner", "banner_section", "shop_product_code"]


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


def admin_section(run: Running, intro: list[str], lines: list[str], notes: list[str] | None = None) -> list[str]:
    """A section that says what to try (``intro``), then the bash lines to paste (the first demo tenant's ADMIN
    logs in first) and ``notes`` after them."""
    pasted = [f"    {line}" for line in [*run.login_lines(run.admin().email), *lines]]
    return ["", *intro, "", *pasted, *(["", *notes] if notes else [])]


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
    intro = [
        f"WhatsApp shop assistant: switch {admin.tenant}'s number to the assistant and buy two pizzas in WhatsApp;",
        "paste these lines into bash (the last ones print what the customer got: the menu, the cart, the payment link;",
        'PUT {"mode": "gateway"} switches the number back to Bitrix24):',
    ]
    return admin_section(run, intro, lines)


def shop_product_code() -> str | None:
    """The restaurant's product the assistant's demo buys (its code, for the banner's lines)."""
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


def _on_payment_fake(fake: str) -> Callable[[Callable[[Running, str], list[str]]], BannerSection]:
    """A section of the payments demo on the fake provider ``fake``: printed (given the fake's URL) only when the
    payments demo runs with that fake."""

    def gated(section: Callable[[Running, str], list[str]]) -> BannerSection:
        def lines(run: Running) -> list[str]:
            url = run.fakes.get(fake)
            return [] if run.payments is None or url is None else section(run, url)

        return lines

    return gated


@banner_section
@_on_payment_fake("pagarme")
def _pagarme(run: Running, pagarme: str) -> list[str]:
    from localdev.demo_payments import pagarme_lines

    intro = [
        f"Pagar.me: every demo tenant is connected to the fake Pagar.me ({pagarme}, API under /core/v5). Paste these",
        f"lines to place an order at {run.admin().tenant}, make its Pagar.me link and pay it at the fake's hosted "
        "checkout",
        "(the fake posts charge.paid and order.paid with the tenant's Basic login; the worker fetches the order):",
    ]
    notes = [
        f"  a refund in Pagar.me's dashboard: curl -s -X POST {pagarme}/_refund/<payment providerPaymentId (ch_…)>",
        f'  Pagar.me\'s rate limit: curl -s -X POST {pagarme}/_config -d \'{{"failNext": 3, "failStatus": 429}}\'',
    ]
    return admin_section(run, intro, pagarme_lines(run.api, pagarme), notes)


@banner_section
@_on_payment_fake("stripe")
def _billing(run: Running, stripe: str) -> list[str]:
    from localdev.demo_payments import subscribe_lines

    intro = [
        f"Billing: {run.admin().tenant} uses the Corporativo plan, granted by the platform operator (nothing "
        "subscribed:",
        "GET /billing says status none). Paste these lines to subscribe to it and pay at the fake Stripe (its signed",
        "invoice.paid makes the subscription active; GET /billing shows it and the paid invoice):",
    ]
    notes = [
        f"  a failed renewal: curl -s -X POST {stripe}/_renew/<subscription.providerSubscriptionId> "
        '-d \'{"outcome": "failed"}\'',
        "    (past due, the ADMINs are emailed; after BTRIX_BILLING_GRACE_DAYS the tenant is suspended;",
        f"     POST {stripe}/_settle/<invoice providerId> pays it and reactivates the tenant)",
        "  the operator: GET /platform/subscriptions?status=past_due, GET /platform/billing/events",
    ]
    return admin_section(run, intro, subscribe_lines(run.api, "corporativo"), notes)


@banner_section
def _privacy(run: Running) -> list[str]:
    """How to try consents, a customer's data export and their erasure (an ADMIN of the first demo tenant)."""
    admin = run.admin()
    auth = '-H "Authorization: Bearer $token"'
    json_header = "-H 'Content-Type: application/json'"
    first = 'python3 -c \'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])\''
    person = '{"subject": "customer", "id": "\'$customer\'"}'
    withdraw = '{"purpose": "marketing", "granted": false, "method": "form", "policyVersion": "2026-12"}'
    intro = [f"Privacy: {admin.tenant}'s customers' consents, a customer's data as a ZIP, their erasure (ADMIN):"]
    lines = [
        f"customer=$(curl -s '{run.api}/customers?limit=1' {auth} | {first})",
        f"curl -s -X POST {run.api}/customers/$customer/consents {auth} {json_header} -d '{withdraw}'",
        f"curl -s -X POST {run.api}/privacy/exports {auth} {json_header} -d '{person}'",
        "                                    # then GET /privacy/exports/<id>: progress, then a download url",
        f"curl -s -X POST {run.api}/privacy/erasures {auth} {json_header} -d '{person}'",
        "                                    # then GET /privacy/erasures/<id>: what was erased, each processor",
    ]
    return admin_section(run, intro, lines)


def banner(run: Running) -> str:
    """The banner: every registered section, in order."""
    return "\n".join(line for section in BANNER for line in section(run)) + "\n"
