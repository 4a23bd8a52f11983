"""Webhook ingress (issue 20, target 3): each provider's webhook function against a bare SQS SendMessage.

Every function runs in this process (``functions.<provider>.handler``) on function-URL events (payload 2.0) built
before the timing, one new provider id per event (so each is recorded, none a duplicate), and is compared with a
``SendMessage`` of a body of the same size to the queue that function sends to, from a plain boto3 client: all the
functions interleaved (``bench.overhead.compare_interleaved``: each iteration times every function and its bare send,
in a rotating order). The queues are emptied every 25 iterations, outside the timing (moto's SendMessage slows down as
a queue fills).

- Meta: a signed notification with one text message to the bench restaurant's number (connected as ``make run``'s
  demo connects it, ``bench.gateway.gateway_stage``), to the whatsapp-inbound FIFO queue.
- Stripe: a signed ``checkout.session.completed`` of the bench tenant's own Stripe account (its webhook secret in its
  integration, ``bench.payments.payments_stage``), to the integrations queue.
- Mercado Pago and Pagar.me: a signed payment notification / a Basic-authenticated webhook naming a tenant without
  its own account (BTRIX's platform secret), to the integrations queue.
- Bitrix24: an operator's message (``ONIMCONNECTORMESSAGEADD``) of the demo portal, with its application token, to
  the bitrix24-outbound FIFO queue.
- Bling: a signed ``stock.updated`` event for a tenant on BTRIX's Bling app, to the integrations queue.
- Email: a Standard Webhooks POST of an email to the bench tenant's inbound address, to the integrations queue.
- Rappi, iFood, MelhorEnvio: a signed new order / order event / label update of the bench tenant's own store,
  merchant or app (``bench.ingress_own``), to the integrations queue.
- Twilio: a signed ``delivered`` status callback of an SMS the bench tenant's own account sent, applied to its
  notification in the function (no queue: its bare SendMessage goes to the integrations queue).

``python -m bench --only ingress`` (or ``python -m bench.ingress [--quick] [--package]``) runs only this section
against its own local stack and writes it into docs/PERFORMANCE.md (with the budget table's webhook rows);
``make bench`` runs it with the rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from bench.overhead import Comparison, OverheadResult, RoundTripTimer, compare_interleaved
from bench.queues import drain_queue
from bench.target import BenchError, Target, shared_clients

if TYPE_CHECKING:
    from chalicelib.core.resources import QueueKind

__all__ = [
    "INGRESS_NOTES",
    "FunctionCase",
    "measure_ingress",
    "render_section",
    "time_function",
    "time_functions",
]

_DRAIN_EVERY = 25


@dataclass(frozen=True)
class FunctionCase:
    """One provider function: its label, how to build its i-th event, and the queue it sends to."""

    provider: str
    label: str
    event: Callable[[int], dict[str, Any]]
    queue: QueueKind


def _pair(target: Target, case: FunctionCase, group: str | None) -> tuple[Comparison, str, Callable[[int], None]]:
    """``case``'s function and a bare SendMessage of the same size to the same queue (``group``: its FIFO message
    group); that queue's URL; and ``build(n)``, which builds the next ``n`` events outside the timing (built shortly
    before they are sent: signed timestamps stay within the providers' five minutes however long the run)."""
    import importlib
    import itertools
    from collections import deque

    from chalicelib.core.resources import QUEUES, queue_name
    from localdev.function_urls import function_context

    handler = importlib.import_module(f"functions.{case.provider}").handler
    context = function_context(case.provider)
    url = target.bare_sqs.get_queue_url(QueueName=queue_name(case.queue))["QueueUrl"]
    fifo = next(q for q in QUEUES if q.kind == case.queue).fifo
    full_events: deque[dict[str, Any]] = deque()
    bare_bodies: deque[str] = deque()
    numbers = itertools.count()

    def build(n: int) -> None:
        for _ in range(n):
            event = case.event(next(numbers))
            full_events.append(event)
            bare_bodies.append(str(event.get("body") or ""))

    def full() -> None:
        answer = handler(full_events.popleft(), context)
        if answer.get("statusCode") != 200 or '"recorded": 1' not in str(answer.get("body")):
            raise BenchError(f"the {case.provider} function answered {answer!r}")

    def bare() -> None:
        extra = {"MessageGroupId": group or "bench", "MessageDeduplicationId": secrets.token_hex(16)} if fifo else {}
        target.bare_sqs.send_message(QueueUrl=url, MessageBody=bare_bodies.popleft(), **extra)  # type: ignore[arg-type]

    return Comparison(case.label, full, bare), url, build


def time_functions(
    target: Target, cases: list[tuple[FunctionCase, str | None]], iterations: int, warmup: int
) -> list[OverheadResult]:
    """Each case's function (with its FIFO group) against a bare SendMessage of the same size to the same queue,
    all interleaved (``bench.overhead.compare_interleaved``); every 25 iterations, outside the timing, the queues
    are emptied and the next 25 events of each function built."""
    pairs = [_pair(target, case, group) for case, group in cases]
    urls = sorted({url for _, url, _ in pairs})
    for _, _, build in pairs:
        build(warmup)

    def between(i: int) -> None:
        if i % _DRAIN_EVERY == 0:
            for url in urls:
                drain_queue(target.bare_sqs, url)
            for _, _, build in pairs:
                build(_DRAIN_EVERY)

    with RoundTripTimer(*shared_clients(), *target.bare_clients) as timer:
        results = compare_interleaved(
            [pair for pair, _, _ in pairs], timer=timer, iterations=iterations, warmup=warmup, between=between
        )
    for url in urls:
        drain_queue(target.bare_sqs, url)
    return results


def time_function(
    target: Target, case: FunctionCase, iterations: int, warmup: int, *, group: str | None = None
) -> OverheadResult:
    """``case``'s function against a bare SendMessage of the same size to the same queue (``group``: its FIFO
    message group), alternating."""
    return time_functions(target, [(case, group)], iterations, warmup)[0]


def _event(path: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    from localdev.function_urls import function_url_event

    return function_url_event("POST", path, headers, body)


def _mercadopago(tenant_id: str, secret: str) -> Callable[[int], dict[str, Any]]:
    def build(i: int) -> dict[str, Any]:
        payment_id, request_id, ts = str(7_000_000_000 + i), f"bench-{secrets.token_hex(8)}", str(int(time.time()))
        notification = {"id": int(time.time() * 1000) * 100 + i, "action": "payment.updated", "type": "payment"}
        body = json.dumps({**notification, "data": {"id": payment_id}}).encode()
        manifest = f"id:{payment_id};request-id:{request_id};ts:{ts};"
        signature = f"ts={ts},v1={hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()}"
        query = urlencode({"tenant": tenant_id, "data.id": payment_id, "type": "payment"})
        headers = {"content-type": "application/json", "x-request-id": request_id, "x-signature": signature}
        return _event(f"/hooks/mercadopago?{query}", headers, body)

    return build


def _pagarme(tenant_id: str, password: str) -> Callable[[int], dict[str, Any]]:
    login = "Basic " + base64.b64encode(f"btrix:{password}".encode()).decode()

    def build(i: int) -> dict[str, Any]:
        hook = f"hook_bench{secrets.token_hex(8)}"
        body = json.dumps({"id": hook, "type": "order.paid", "data": {"id": f"or_bench{i}"}}).encode()
        headers = {"content-type": "application/json", "authorization": login}
        return _event(f"/hooks/pagarme?tenant={tenant_id}", headers, body)

    return build


def _bitrix24(auth: Mapping[str, Any]) -> Callable[[int], dict[str, Any]]:
    def build(i: int) -> dict[str, Any]:
        fields = {
            "event": "ONIMCONNECTORMESSAGEADD",
            "ts": str(int(time.time())),
            **{f"auth[{k}]": str(auth[k]) for k in ("domain", "member_id", "application_token", "access_token")},
            "data[CONNECTOR]": "btrix_whatsapp",
            "data[LINE]": "1",
            "data[MESSAGES][0][im][chat_id]": "77",
            "data[MESSAGES][0][im][message_id]": str(900_000 + i) + secrets.token_hex(3),
            "data[MESSAGES][0][message][text]": "Olá, seu pedido saiu",
            "data[MESSAGES][0][chat][id]": "5531999990000",
        }
        body = urlencode(fields).encode()
        return _event("/hooks/bitrix24", {"content-type": "application/x-www-form-urlencoded"}, body)

    return build


def _email(tenant_id: str, secret: str, domain: str) -> Callable[[int], dict[str, Any]]:
    key = base64.b64decode(secret.removeprefix("whsec_"))

    def build(i: int) -> dict[str, Any]:
        message_id, timestamp = f"msg_bench{secrets.token_hex(10)}", str(int(time.time()))
        email = {
            "messageId": f"<bench{i}.{secrets.token_hex(6)}@mail.example>",
            "from": "Cliente <cliente@example.com>",
            "to": [f"{tenant_id.lower()}+pedidos@{domain}"],
            "subject": f"Pedido {i}",
            "text": "Quando chega?",
        }
        body = json.dumps(email).encode()
        signed = base64.b64encode(hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, "sha256").digest())
        headers = {
            "content-type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": f"v1,{signed.decode()}",
        }
        return _event("/hooks/email", headers, body)

    return build


def _bling(tenant_id: str, secret: str) -> Callable[[int], dict[str, Any]]:
    def build(i: int) -> dict[str, Any]:
        event = {"eventId": f"bench{secrets.token_hex(12)}", "event": "stock.updated", "data": {"produto": {"id": i}}}
        body = json.dumps({**event, "companyId": "bench"}).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"content-type": "application/json", "x-bling-signature-256": signature}
        return _event(f"/hooks/bling?tenant={tenant_id}", headers, body)

    return build


def measure_ingress(
    target: Target, *, iterations: int = 300, progress: Callable[[str], None] = lambda _: None
) -> list[OverheadResult]:
    """Connect what each function needs for the bench tenant, then time every provider function, interleaved."""
    from bench.gateway import PHONE_NUMBER_ID, gateway_stage, meta_case
    from bench.ingress_own import OWN_CASES, own_accounts
    from bench.payments import payments_stage, stripe_case
    from chalicelib.core.config import get_settings
    from chalicelib.core.ids import new_id
    from chalicelib.core.resources import QueueKind
    from localdev.provision import local_webhook_secrets

    platform = local_webhook_secrets()
    other = new_id()  # a tenant without its own accounts: BTRIX's platform secrets
    domain = get_settings().inbound_email_domain or "inbound.btrix.test"
    integrations = QueueKind.INTEGRATIONS
    with (
        gateway_stage(target, progress) as gateway,
        payments_stage(target) as payments,
        own_accounts(payments.admin) as own,
    ):
        cases: list[tuple[FunctionCase, str | None]] = [
            (meta_case(gateway.secret), f"{PHONE_NUMBER_ID}:bench"),
            (
                FunctionCase(
                    "bitrix24",
                    "Bitrix24 function (1 operator message)",
                    _bitrix24(gateway.auth),
                    QueueKind.BITRIX24_OUTBOUND,
                ),
                None,
            ),
            (stripe_case(target.user.tenant_id, payments.secret), None),
            (
                FunctionCase(
                    "mercadopago",
                    "Mercado Pago function (1 notification)",
                    _mercadopago(other, platform["mercadopago-webhook-secret"]),
                    integrations,
                ),
                None,
            ),
            (
                FunctionCase(
                    "pagarme",
                    "Pagar.me function (1 webhook)",
                    _pagarme(other, platform["pagarme-webhook-secret"]),
                    integrations,
                ),
                None,
            ),
            (
                FunctionCase(
                    "bling",
                    "Bling function (1 stock event)",
                    _bling(other, json.loads(platform["bling-oauth-app"])["clientSecret"]),
                    integrations,
                ),
                None,
            ),
            (
                FunctionCase(
                    "email",
                    "Email function (1 email)",
                    _email(target.user.tenant_id, platform["inbound-email-secret"], domain),
                    integrations,
                ),
                None,
            ),
            *((case(own), None) for case in OWN_CASES),
        ]
        progress(f"ingress: {len(cases)} webhook functions interleaved, {iterations} iterations each")
        return time_functions(target, cases, iterations, max(2, iterations // 50))


INGRESS_NOTES = """\
Each row times one provider's webhook function (`functions.<provider>.handler`, called in this process on function-URL
events built 25 at a time just before, outside the timing, a new provider id each) against a bare `SendMessage` of a
body of the same size to the queue that function sends to, alternating (`bench.overhead.compare_interleaved`); the
queues are emptied every 25 iterations, outside the timing. Meta: a signed notification of one text message to the bench
restaurant's number (connected as `make run`'s demo does), to the whatsapp-inbound FIFO queue; Bitrix24: an operator's
message of the demo portal, to the bitrix24-outbound FIFO queue; Stripe: a signed `checkout.session.completed` of the
bench tenant's own Stripe account; Mercado Pago and Pagar.me: a notification for a tenant without its own account
(BTRIX's platform secrets); Bling: a signed stock event for a tenant on BTRIX's Bling app; Email: a Standard Webhooks
POST to the bench tenant's inbound address; Rappi, iFood and MelhorEnvio: a new order, an order event and a label update
signed by the bench tenant's own store, merchant and app (`bench/ingress_own.py`); those eight to the integrations
queue. Twilio: a `delivered` status callback (signed by Twilio's own `RequestValidator`) of an SMS the bench tenant's
own account sent, its notification written when the event is built; its bare SendMessage goes to the integrations
queue. The functions are interleaved: each iteration times every function and its bare send, in a rotating order, so a
change of the machine's load falls on all of them alike.

What a function does per call on top of the SendMessage: the signature check (secrets cached per container; a
tenant's own credentials kept 30 s, read again at once when a signature fails with them), the route lookup (a
number's or a portal's route, kept 30 s per container), and the receipt: one conditional write (for Meta in one
transaction with the job it keeps for the conversation), made at the same time as the SendMessage (the send in the
calling thread, the write in a kept second thread: `chalicelib/inbound/receipts.py`). Signatures are checked without
any SDK (Stripe's and Twilio's too), and the event is parsed once. So a function costs about the slower of its two
calls plus its own CPU; the last column takes the AWS round trips out of each sample, and with two calls in flight
at once it can go below zero. Twilio's status callback sends nothing: beside its receipt it finds the message by its
SID (the lookup holds the tenant, notification, channel and sending account) and moves its status forward in one
conditional transaction, two calls one after the other (`notifications/status.py`)."""


def render_section(results: list[OverheadResult], load: str, previous: str = "") -> str:
    """The section's text: the table (``report.render_ingress``), what it measures, and the ratios of the section's
    previous run in ``previous`` (the report before this run)."""
    from bench.budget import INGRESS_BOUND
    from bench.partial import before_line, previous_rows
    from bench.report import render_ingress

    ratios = [(row[0].split(" function")[0], row[6]) for row in previous_rows(previous, SECTION) if len(row) == 10]
    before = before_line(ratios, "function / bare SendMessage, median")
    return render_ingress(results, INGRESS_BOUND, load) + "\n\n" + INGRESS_NOTES + before


SECTION = "## Webhook ingress (every provider function)"


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.ingress [--quick] [--package]``: ``python -m bench --only ingress[,package]``."""
    import sys

    from bench.__main__ import main as bench

    args = list(argv if argv is not None else sys.argv[1:])
    sections = "ingress,package" if "--package" in args else "ingress"
    return bench(["--only", sections, *(a for a in args if a != "--package")])


if __name__ == "__main__":
    raise SystemExit(main())
