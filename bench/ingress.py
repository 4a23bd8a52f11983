"""Webhook ingress (issue 20, target 3): each provider's webhook function against a bare SQS SendMessage.

Every function runs in this process (``functions.<provider>.handler``) on function-URL events (payload 2.0) built
before the timing, one new provider id per event (so each is recorded, none a duplicate), and is compared with a
``SendMessage`` of a body of the same size to the queue that function sends to, from a plain boto3 client:
``bench.overhead.compare``, alternating. The queue is emptied every 25 iterations, outside the timing (moto's
SendMessage slows down as a queue fills).

- Meta: a signed notification with one text message to the bench restaurant's number (connected as ``make run``'s
  demo connects it, ``bench.gateway.gateway_stage``), to the whatsapp-inbound FIFO queue.
- Stripe: a signed ``checkout.session.completed`` of the bench tenant's own Stripe account (its webhook secret in its
  integration, ``bench.payments.payments_stage``), to the integrations queue.
- Mercado Pago and Pagar.me: a signed payment notification / a Basic-authenticated webhook naming a tenant without
  its own account (BTRIX's platform secret), to the integrations queue.
- Bitrix24: an operator's message (``ONIMCONNECTORMESSAGEADD``) of the demo portal, with its application token, to
  the bitrix24-outbound FIFO queue.
- Email: a Standard Webhooks POST of an email to the bench tenant's inbound address, to the integrations queue.

``python -m bench.ingress [--quick]`` runs only this section against its own local stack and writes it into
docs/PERFORMANCE.md (with the budget table's webhook rows); ``make bench`` runs it with the rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from bench.overhead import OverheadResult, RoundTripTimer, compare
from bench.queues import drain_queue
from bench.target import BenchError, Target, shared_clients

if TYPE_CHECKING:
    from chalicelib.core.resources import QueueKind

__all__ = ["INGRESS_NOTES", "FunctionCase", "measure_ingress", "render_section", "time_function", "write_section"]

_DRAIN_EVERY = 25


@dataclass(frozen=True)
class FunctionCase:
    """One provider function: its label, how to build its i-th event, and the queue it sends to."""

    provider: str
    label: str
    event: Callable[[int], dict[str, Any]]
    queue: QueueKind


def time_function(
    target: Target, case: FunctionCase, iterations: int, warmup: int, *, group: str | None = None
) -> OverheadResult:
    """``case``'s function against a bare SendMessage of the same size to the same queue (``group``: its FIFO
    message group), alternating."""
    import importlib

    from chalicelib.core.resources import QUEUES, queue_name
    from localdev.function_urls import function_context

    handler = importlib.import_module(f"functions.{case.provider}").handler
    count = iterations + warmup
    events = [case.event(i) for i in range(count)]
    context = function_context(case.provider)
    url = target.bare_sqs.get_queue_url(QueueName=queue_name(case.queue))["QueueUrl"]
    fifo = next(q for q in QUEUES if q.kind == case.queue).fifo
    bodies = [str(event.get("body") or "") for event in events]
    full_events, bare_bodies = iter(events), iter(bodies)

    def full() -> None:
        answer = handler(next(full_events), context)
        if answer.get("statusCode") != 200 or '"recorded": 1' not in str(answer.get("body")):
            raise BenchError(f"the {case.provider} function answered {answer!r}")

    def bare() -> None:
        extra = {"MessageGroupId": group or "bench", "MessageDeduplicationId": secrets.token_hex(16)} if fifo else {}
        target.bare_sqs.send_message(QueueUrl=url, MessageBody=next(bare_bodies), **extra)  # type: ignore[arg-type]

    def empty_queue(i: int) -> None:
        if i % _DRAIN_EVERY == 0:
            drain_queue(target.bare_sqs, url)

    with RoundTripTimer(*shared_clients(), *target.bare_clients) as timer:
        result = compare(case.label, full, bare, timer=timer, iterations=iterations, warmup=warmup, between=empty_queue)
    drain_queue(target.bare_sqs, url)
    return result


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


def measure_ingress(
    target: Target, *, iterations: int = 300, progress: Callable[[str], None] = lambda _: None
) -> list[OverheadResult]:
    """Connect what each function needs for the bench tenant, then time every provider function in turn."""
    from bench.gateway import PHONE_NUMBER_ID, gateway_stage, meta_case
    from bench.payments import payments_stage, stripe_case
    from chalicelib.core.config import get_settings
    from chalicelib.core.ids import new_id
    from chalicelib.core.resources import QueueKind
    from localdev.provision import local_webhook_secrets

    platform = local_webhook_secrets()
    warmup = max(2, iterations // 50)
    results: list[OverheadResult] = []

    def run(case: FunctionCase, group: str | None = None) -> None:
        progress(f"ingress: {case.label}, {iterations} iterations each")
        results.append(time_function(target, case, iterations, warmup, group=group))

    with gateway_stage(target, progress) as gateway:
        run(meta_case(gateway.secret), group=f"{PHONE_NUMBER_ID}:bench")
        bitrix = _bitrix24(gateway.auth)
        run(FunctionCase("bitrix24", "Bitrix24 function (1 operator message)", bitrix, QueueKind.BITRIX24_OUTBOUND))
    with payments_stage(target) as payments:
        run(stripe_case(target.user.tenant_id, payments.secret))
    other = new_id()  # a tenant without its own accounts: BTRIX's platform secrets
    secret = platform["mercadopago-webhook-secret"]
    mercadopago = _mercadopago(other, secret)
    run(FunctionCase("mercadopago", "Mercado Pago function (1 notification)", mercadopago, QueueKind.INTEGRATIONS))
    pagarme = _pagarme(other, platform["pagarme-webhook-secret"])
    run(FunctionCase("pagarme", "Pagar.me function (1 webhook)", pagarme, QueueKind.INTEGRATIONS))
    domain = get_settings().inbound_email_domain or "inbound.btrix.test"
    email = _email(target.user.tenant_id, platform["inbound-email-secret"], domain)
    run(FunctionCase("email", "Email function (1 email)", email, QueueKind.INTEGRATIONS))
    return results


INGRESS_NOTES = """\
Each row times one provider's webhook function (`functions.<provider>.handler`, called in this process on function-URL
events built before the timing, a new provider id each) against a bare `SendMessage` of a body of the same size to the
queue that function sends to, alternating (`bench.overhead.compare`); the queue is emptied every 25 iterations,
outside the timing. Meta: a signed notification of one text message to the bench restaurant's number (connected as
`make run`'s demo does), to the whatsapp-inbound FIFO queue; Bitrix24: an operator's message of the demo portal, to
the bitrix24-outbound FIFO queue; Stripe: a signed `checkout.session.completed` of the bench tenant's own Stripe
account; Mercado Pago and Pagar.me: a notification for a tenant without its own account (BTRIX's platform secrets);
Email: a Standard Webhooks POST to the bench tenant's inbound address; those four to the integrations queue.

What a function does per call on top of the SendMessage: the signature check (secrets cached per container; a
tenant's own credentials kept 30 s, read again at once when a signature fails with them), the route lookup (a
number's or a portal's route, kept 30 s per container), and the receipt: one conditional write (for Meta in one
transaction with the job it keeps for the conversation), made at the same time as the SendMessage, in a second
thread (`chalicelib/inbound/receipts.py`). So a function costs about the slower of its two calls plus its own CPU;
the last column takes the AWS round trips out of each sample, and with two calls in flight at once it can go below
zero. Twilio's status callbacks are not in the table: they update the notification in the function (no queue) and
need a tenant's own Twilio account."""


def _load() -> str:
    import os

    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def render_section(results: list[OverheadResult], load: str) -> str:
    """The section's text: the table (``report.render_ingress``) and what it measures."""
    from bench.report import render_ingress

    return render_ingress(results, INGRESS_BOUND, load) + "\n\n" + INGRESS_NOTES


INGRESS_BOUND = 1.3
SECTION = "## Webhook ingress (every provider function)"


def _sections(document: str) -> Iterator[tuple[str, str]]:
    """(heading, text) of each ``## `` section of a Markdown document, the preamble under heading ''."""
    heading, lines = "", list[str]()
    for line in document.splitlines(keepends=True):
        if line.startswith("## "):
            yield heading, "".join(lines)
            heading, lines = line.strip(), []
        lines.append(line)
    yield heading, "".join(lines)


def write_section(document: str, section: str, heading: str = SECTION, before: str = "## Payments") -> str:
    """``document`` with its section ``heading`` replaced by ``section`` (added before ``before`` the first time)."""
    parts = list(_sections(document))
    body = f"{heading}\n\n{section}\n\n"
    if any(found == heading for found, _ in parts):
        return "".join(body if found == heading else text for found, text in parts)
    return "".join((body + text) if found == before else text for found, text in parts)


# The budget table's rows of the webhook functions (bench/budget.py), by the provider whose function they measure.
_BUDGET_ROWS = {
    "meta": "Meta webhook function / bare SendMessage",
    "stripe": "Stripe webhook function / bare SendMessage",
}


def update_budget(document: str, results: list[OverheadResult]) -> tuple[str, dict[str, str]]:
    """``document`` with the budget table's webhook rows showing ``results`` as this run (met or not against
    ``INGRESS_BOUND``), and the values those rows showed before, by provider."""
    ratios = {r.label.split(" ")[0].lower(): r.ratio for r in results}
    before: dict[str, str] = {}
    lines = document.splitlines(keepends=True)
    for i, line in enumerate(lines):
        for provider, label in _BUDGET_ROWS.items():
            cells = line.split(" | ")
            if line.startswith(f"| {label} |") and provider in ratios and len(cells) == 5:
                before[provider] = cells[3]
                met = "yes" if ratios[provider] <= INGRESS_BOUND else "**no**"
                lines[i] = " | ".join([*cells[:3], f"{ratios[provider]:.2f}", f"{met} |\n"])
    return "".join(lines), before


def main(argv: list[str] | None = None) -> int:
    """Run this section alone (its own local stack) and write it into docs/PERFORMANCE.md."""
    import argparse
    import sys

    from bench.__main__ import ROOT, _progress, _quiet_local_env
    from bench.report import machine_facts
    from bench.target import running_target

    parser = argparse.ArgumentParser(prog="python -m bench.ingress", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few iterations: check that everything runs")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "PERFORMANCE.md", help="report path")
    parser.add_argument("--package", action="store_true", help="also the package section (pip install, assets)")
    args = parser.parse_args(argv)
    _quiet_local_env()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    before = _load()
    with running_target() as target:
        results = measure_ingress(target, iterations=30 if args.quick else 300, progress=_progress)
    document, previous = update_budget(args.output.read_text(), results)
    section = render_section(results, f"{before} before, {_load()} after (1, 5, 15 min)")
    if previous:
        named = ", ".join(f"{provider} {ratio}" for provider, ratio in sorted(previous.items()))
        section += f"\n\nBefore (the budget table's previous run of these rows): {named}; the others were not measured."
    facts = dict(machine_facts(ROOT))
    section += f"\n\nThis section was run alone (`python -m bench.ingress`): {facts['date']} at {facts['commit']}."
    print(f"\n{SECTION}\n\n{section}", flush=True)
    document = write_section(document, section)
    if args.package:
        from bench.package_size import measure_package
        from bench.report import _PACKAGE, render_package

        _progress("Lambda package size: pip install --target, then each webhook function's asset")
        package = render_package(measure_package(ROOT)) + "\n\n" + _PACKAGE
        print(f"\n## Lambda package size\n\n{package}", flush=True)
        document = write_section(document, package, "## Lambda package size", "## Scale on paper")
    args.output.write_text(document)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
