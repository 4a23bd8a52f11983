"""Payments: what the Stripe webhook function costs per event against a bare SQS SendMessage, and how many payment
links and confirmations the local stack carries.

Set-up: a fake Stripe on loopback, the webhook functions' local server (``/hooks/<provider>``), and the bench tenant
(``Target.user``) with the fake as its own Stripe account (a key, and the signing secret of its webhook endpoint at
``/hooks/stripe?tenant=<id>``), as ``make run``'s demo connects it (``localdev.demo_payments``).

- Ingress: ``functions.stripe.handler`` called in this process with a function-URL event (payload 2.0) of a signed
  ``checkout.session.completed``, a new event id each time (the tenant's webhook secret decrypted, the signature
  checked by the SDK, the event recorded once, the message sent to the integrations queue), against ``SendMessage``
  of a message of the same size to the same queue with a plain boto3 client: ``bench.overhead.compare``, alternating.
- Links: N payment links made by ``payments.service.create_link_for`` for N orders (the order read, a Checkout
  Session created at the fake Stripe, the link, its route and the order's payment state written in one
  transaction), one at a time, then from 4 threads: links per second and latency per link.
- Confirmation: N links paid at the fake at once (it posts each signed ``checkout.session.completed`` to the
  function's local server), consumed by the app's integrations-queue handler
  (``localdev.worker.PartitionedQueueWorker``, limited to that queue, 2 consumers): payments per second, and latency
  from the customer's Pay to the order being PAID.
"""

from __future__ import annotations

import contextlib
import io
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.ingress import FunctionCase, time_function
from bench.overhead import OverheadResult
from bench.queues import QueueConsumers
from bench.stats import Summary, summarise
from bench.target import BenchError, Target
from tests.support.environment import settings_from

if TYPE_CHECKING:
    from chalice.app import Chalice

    from chalicelib.access.principal import Principal
    from localdev.fake_stripe import FakeStripe

__all__ = ["PaymentsReport", "PaymentsStage", "Throughput", "measure_payments", "payments_stage", "stripe_case"]

_THREADS = 4
_CONSUMERS = 2
_DRAIN_EVERY = 25
_CONFIRM_TIMEOUT_S = 240.0


@dataclass(frozen=True)
class Throughput:
    """One run: how many, with how many threads, how long in all, and the latency of each."""

    label: str
    count: int
    threads: int
    seconds: float
    latency: Summary

    @property
    def per_second(self) -> float:
        """Done per second over the whole run."""
        return self.count / self.seconds


@dataclass(frozen=True)
class PaymentsReport:
    """The ingress comparison, the link runs and the confirmation run."""

    ingress: OverheadResult
    links: list[Throughput]
    confirmation: Throughput | None  # None: the app has no integrations-queue consumer to confirm with


def _session_event(tenant_id: str) -> dict[str, Any]:
    session = {
        "id": "cs_test_" + secrets.token_hex(24),
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": 5230,
        "currency": "brl",
        "payment_intent": "pi_" + secrets.token_hex(12),
        "client_reference_id": tenant_id,
        "metadata": {"tenantId": tenant_id, "btrixRef": f"{tenant_id}:BENCHORDER:BENCHLINK"},
    }
    return {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": session},
    }


def stripe_case(tenant_id: str, secret: str) -> FunctionCase:
    """The Stripe function on a signed ``checkout.session.completed`` of the tenant's own account (a new event id
    each)."""
    from chalicelib.core.resources import QueueKind
    from localdev.fake_stripe import stripe_signature
    from localdev.function_urls import function_url_event

    def event(_: int) -> dict[str, Any]:
        body = json.dumps(_session_event(tenant_id)).encode()
        headers = {"content-type": "application/json", "stripe-signature": stripe_signature(secret, body)}
        return function_url_event("POST", f"/hooks/stripe?tenant={tenant_id}", headers, body)

    return FunctionCase("stripe", "Stripe function (1 event) vs 1 bare SendMessage", event, QueueKind.INTEGRATIONS)


def _orders(admin: Principal, count: int) -> list[str]:
    """``count`` orders of one service, for a customer with an email (their receipts go out by email)."""
    from chalicelib.catalog import service as catalog
    from chalicelib.catalog.models import CreateProductRequest
    from chalicelib.core.db.store import tenant_scope
    from chalicelib.core.money import Money
    from chalicelib.customers import service as customers
    from chalicelib.customers.models import CreateCustomerRequest
    from chalicelib.orders import service as orders
    from chalicelib.orders.models import CreateOrderRequest

    with tenant_scope(admin.tenant_id):
        product = catalog.create_product(
            admin,
            CreateProductRequest.model_validate(
                {
                    "kind": "service",
                    "name": f"Bench {secrets.token_hex(3)}",
                    "price": Money.of("52.30", "BRL"),
                    "durationMinutes": 30,
                }
            ),
            None,
        )
        buyer = customers.create_customer(
            admin, CreateCustomerRequest(name="Bench Buyer", email=f"buyer-{secrets.token_hex(4)}@example.com"), None
        )
        body = CreateOrderRequest.model_validate(
            {"items": [{"productId": product.id, "quantity": 1}], "customerId": buyer.id, "channel": "web"}
        )
        return [orders.create_order(admin, body, None).id for _ in range(count)]


def _links(admin: Principal, order_ids: list[str], threads: int, label: str) -> tuple[Throughput, list[str]]:
    """Make a link for each order from ``threads`` threads; returns the run and the links' checkout ids."""
    from contextvars import copy_context

    from chalicelib.core.db.store import tenant_scope
    from chalicelib.payments.service import create_link_for

    latencies: list[float] = []
    checkouts: list[str] = []
    lock = threading.Lock()

    def make(order_id: str) -> None:
        started = time.perf_counter()
        with tenant_scope(admin.tenant_id):
            link = create_link_for(admin.tenant_id, order_id, actor=admin)
        with lock:
            latencies.append((time.perf_counter() - started) * 1000)
            checkouts.append(link.provider_checkout_id)

    begun = time.perf_counter()
    scope = copy_context()
    with ThreadPoolExecutor(threads) as pool:
        for done in [pool.submit(scope.copy().run, make, order_id) for order_id in order_ids]:
            done.result()
    seconds = time.perf_counter() - begun
    return Throughput(label, len(order_ids), threads, seconds, summarise(latencies)), checkouts


def _confirmation(app: Chalice, admin: Principal, stripe: FakeStripe, checkouts: list[str]) -> Throughput:
    """Pay every checkout at once (the fake posts each webhook) and wait until every order is PAID."""
    from chalicelib.core.db.store import tenant_scope
    from chalicelib.orders.models import OrderListQuery
    from chalicelib.orders.service import list_orders

    paid_at: dict[str, float] = {}

    def pay(checkout: str) -> None:
        paid_at[checkout] = time.monotonic()
        stripe.pay(checkout)

    def count_paid() -> int:
        # Every page: the run pays more orders than one page holds.
        paid, cursor = 0, None
        with tenant_scope(admin.tenant_id):
            while True:
                page = list_orders(admin, OrderListQuery(status="PAID", limit=100, cursor=cursor))
                paid += len(page.items)
                cursor = page.next_cursor
                if cursor is None:
                    return paid

    before = count_paid()
    arrived: list[float] = []
    with QueueConsumers(app, _CONSUMERS, ["integrations"]), ThreadPoolExecutor(_THREADS) as pool:
        begun = time.monotonic()
        for done in [pool.submit(pay, checkout) for checkout in checkouts]:
            done.result()
        deadline = begun + _CONFIRM_TIMEOUT_S
        seen = before
        while seen < before + len(checkouts):
            if time.monotonic() > deadline:
                raise BenchError(f"{before + len(checkouts) - seen} payments not confirmed in {_CONFIRM_TIMEOUT_S} s")
            now_paid = count_paid()
            arrived += [time.monotonic()] * (now_paid - seen)
            seen = now_paid
            time.sleep(0.05)
    first_pay = min(paid_at.values())
    latencies = [(at - first_pay) * 1000 for at in arrived]
    return Throughput("all paid at once", len(checkouts), _CONSUMERS, max(arrived) - first_pay, summarise(latencies))


def _consumes_integrations(app: Chalice) -> bool:
    from chalice.app import SQSEventConfig

    from chalicelib.core.resources import QueueKind, queue_name

    wanted = queue_name(QueueKind.INTEGRATIONS)
    return any(isinstance(s, SQSEventConfig) and s.queue == wanted for s in app.event_sources)


@dataclass(frozen=True)
class PaymentsStage:
    """The bench tenant connected to a fake Stripe as its own account: the fake, the hooks server, the signing
    secret of its webhook endpoint, and the tenant's ADMIN."""

    stripe: FakeStripe
    hooks_url: str
    secret: str
    admin: Principal


@contextlib.contextmanager
def payments_stage(target: Target) -> Iterator[PaymentsStage]:
    """A fake Stripe and the hooks server, the bench tenant connected to the fake as ``make run``'s demo connects it,
    with the settings pointing at them; everything stopped on exit."""
    from chalicelib.access.permissions import Role
    from chalicelib.access.principal import Principal
    from chalicelib.integrations.credentials import Provider
    from chalicelib.integrations.service import disconnect_integration, find_credentials
    from functions import FUNCTION_URLS
    from localdev.demo_payments import connect_demo_accounts
    from localdev.fake_stripe import FakeStripe
    from localdev.function_urls import make_server

    stripe = FakeStripe().start()
    server = make_server("127.0.0.1", 0, FUNCTION_URLS)
    handler_class: Any = server.RequestHandlerClass
    handler_class.log_message = lambda *_: None  # it would write a line per request
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    hooks_url = f"http://{host!s}:{port}/hooks"
    settings = {
        "BTRIX_STRIPE_API_URL": stripe.url,
        "BTRIX_PAYMENT_LINK_BASE_URL": "http://127.0.0.1:9/pay",
        "BTRIX_MERCADOPAGO_NOTIFICATION_URL": f"{hooks_url}/mercadopago",
        "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true",
    }
    user = target.user
    admin = Principal(
        user_id=user.user_id, tenant_id=user.tenant_id, role=Role.ADMIN, email=user.email, request_id="bench"
    )
    try:
        with settings_from(settings), contextlib.redirect_stdout(io.StringIO()):
            if find_credentials(user.tenant_id, Provider.STRIPE) is not None:
                # An earlier section's stage (the ingress one) connected the tenant to its own fake, stopped since.
                disconnect_integration(admin, Provider.STRIPE)
            connect_demo_accounts([admin], stripe, None, hooks_url)
            secret = next(iter(stripe.accounts.values())).endpoints[0]["secret"]
            yield PaymentsStage(stripe, hooks_url, str(secret), admin)
    finally:
        server.shutdown()
        server.server_close()
        stripe.stop()


def measure_payments(
    target: Target,
    *,
    iterations: int = 500,
    links: int = 60,
    progress: Callable[[str], None] = lambda _: None,
) -> PaymentsReport:
    """Connect the bench tenant to a fake Stripe, then time the ingress, link creation and confirmation."""
    from app import app

    with payments_stage(target) as stage:
        progress(f"payments: Stripe function vs bare SendMessage, {iterations} iterations each")
        case = stripe_case(target.user.tenant_id, stage.secret)
        ingress = time_function(target, case, iterations, warmup=max(2, iterations // 50))
        admin = stage.admin
        progress(f"payments: {2 * links} links, one at a time then from {_THREADS} threads")
        single, checkouts = _links(admin, _orders(admin, links), 1, "one at a time")
        parallel, more = _links(admin, _orders(admin, links), _THREADS, f"{_THREADS} threads")
        if not _consumes_integrations(app):
            return PaymentsReport(ingress, [single, parallel], None)
        progress(f"payments: {len(checkouts) + len(more)} links paid at once, confirmed by {_CONSUMERS} consumers")
        confirmation = _confirmation(app, admin, stage.stripe, [*checkouts, *more])
        return PaymentsReport(ingress, [single, parallel], confirmation)
