"""The WhatsApp <-> Bitrix24 gateway: what the Meta webhook function costs per notification against a bare SQS
SendMessage, and how fast the relay carries messages from the webhook to Bitrix24 on the local stack.

Set-up: a fake Meta and a fake Bitrix24 on loopback, the webhook functions' local server (``/hooks/<provider>``),
and the bench tenant (``Target.user``, a restaurant) with a WhatsApp number mapped to Open Line 1 of a portal that
installed the app through that server (``localdev.demo_gateway.connect``, the same code as ``make run``'s demo).

- Ingress: ``functions.meta.handler`` called in this process with a function-URL event (payload 2.0) of a signed
  notification carrying one text message, a new wamid each time (verify the signature, look the number's route
  up, record the wamid once, enqueue to the FIFO queue), against ``SendMessage`` of a message of the same size to
  the same FIFO queue with a plain boto3 client: ``bench.overhead.compare``, alternating.
- Relay: N messages over C contacts POSTed to the Meta function over HTTP (4 posting threads, each contact's
  messages from one thread, in order), consumed by the app's queue handler (``localdev.worker.QueueWorker``
  limited to the gateway's two queues, one thread), relayed to the fake Bitrix24. Latency per message is
  from just before its webhook POST to the moment the fake Bitrix24 answered the ``imconnector.send.messages``
  that carried it; throughput is N over the time from the first POST to the last arrival.
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

from bench.capacity import CapacityMeter
from bench.ingress import FunctionCase, time_function
from bench.overhead import OverheadResult
from bench.queues import QueueConsumers
from bench.stats import Summary, summarise
from bench.target import BenchError, Target, shared_clients
from tests.support.environment import settings_from

if TYPE_CHECKING:
    from chalice.app import Chalice

    from localdev.fake_bitrix24 import FakeBitrix24

__all__ = [
    "CONSUMERS",
    "PHONE_NUMBER_ID",
    "GatewayReport",
    "GatewayStage",
    "MessageCost",
    "RelayRun",
    "gateway_stage",
    "measure_gateway",
    "meta_case",
]

PHONE_NUMBER_ID = "100000000000077"
_DOMAIN = "bench.bitrix24.com.br"
_MEMBER_ID = "b3nch0000000000000000000000000b1"
_POSTERS = 4
_DRAIN_EVERY = 25
_RELAY_TIMEOUT_S = 180.0
# The queues the relay runs through (its handlers; the others are left to nobody during the bench).
_GATEWAY_QUEUES = ("whatsapp-inbound", "bitrix24-outbound")
# Consumer partitions of the burst runs (localdev.worker.PartitionedQueueWorker: a conversation on one of them).
CONSUMERS = (1, 2, 4)


@dataclass(frozen=True)
class RelayRun:
    """One relay run: how many messages, over how many contacts, with how many consumer threads, and how it went."""

    label: str
    messages: int
    contacts: int
    consumers: int
    seconds: float
    latency: Summary
    in_order: bool

    @property
    def per_second(self) -> float:
        """Messages relayed per second (first POST to last arrival in Bitrix24)."""
        return self.messages / self.seconds


@dataclass(frozen=True)
class MessageCost:
    """What relaying one message cost, averaged over a burst: AWS calls by service and operation, DynamoDB units,
    and this process's CPU time (the webhook function, the consumers, and the fakes, which run here too)."""

    messages: int
    calls: dict[str, float]
    read_units: float
    write_units: float
    cpu_ms: float


@dataclass(frozen=True)
class GatewayReport:
    """The ingress comparison, the relay runs and what one relayed message cost."""

    ingress: OverheadResult
    relay: list[RelayRun]
    cost: MessageCost | None = None

    def burst(self, consumers: int) -> RelayRun | None:
        """The burst run with ``consumers`` consumers, if there was one."""
        return next((r for r in self.relay if r.label.startswith("burst") and r.consumers == consumers), None)


def _timed_bitrix24() -> FakeBitrix24:
    """A fake Bitrix24 that notes when each relayed message arrived (by its text)."""
    from localdev.fake_bitrix24 import FakeBitrix24

    class Timed(FakeBitrix24):
        def __init__(self) -> None:
            super().__init__()
            self.arrivals: dict[str, float] = {}

        def _answer(self, command: str, target: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
            status, answer = super()._answer(command, target, body, headers)
            if status == 200 and target.split("?")[0].endswith("/imconnector.send.messages"):
                now = time.monotonic()
                for item in json.loads(body or b"{}").get("MESSAGES") or []:
                    self.arrivals.setdefault(str((item.get("message") or {}).get("text")), now)
            return status, answer

    return Timed()


def _arrivals(fake: FakeBitrix24) -> dict[str, float]:
    found: dict[str, float] = getattr(fake, "arrivals")  # noqa: B009 - set by the subclass above
    return found


def _notification(wa_id: str, wamid: str, text: str) -> dict[str, Any]:
    """A WhatsApp Business Account notification with one text message, as Meta posts it."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "100000000000078",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550000077", "phone_number_id": PHONE_NUMBER_ID},
                            "contacts": [{"profile": {"name": "Bench Cliente"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": wamid,
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def _signed(payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    import hashlib
    import hmac

    body = json.dumps(payload, separators=(",", ":")).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"content-type": "application/json", "x-hub-signature-256": signature}


def _quiet(self: object, format: str, *args: Any) -> None:
    """No access log from the hooks server (its class is made per server: nothing else is silenced)."""


def _wa_id() -> str:
    return "5531" + "".join(secrets.choice("0123456789") for _ in range(9))


def _wamid() -> str:
    return "wamid.bench" + secrets.token_urlsafe(18)


def meta_case(secret: str) -> FunctionCase:
    """The Meta function on a signed notification of one text message (a new wamid each) from one customer."""
    from chalicelib.core.resources import QueueKind
    from localdev.function_urls import function_url_event

    wa_id = _wa_id()

    def event(_: int) -> dict[str, Any]:
        body, headers = _signed(_notification(wa_id, _wamid(), "Oi, tudo bem?"), secret)
        return function_url_event("POST", "/hooks/meta", headers, body)

    return FunctionCase("meta", "Meta function (1 message) vs 1 bare SendMessage", event, QueueKind.WHATSAPP_INBOUND)


def _relay(
    app: Chalice,
    hooks_url: str,
    fake: FakeBitrix24,
    secret: str,
    *,
    label: str,
    messages: int,
    contacts: int,
    consumers: int,
    one_at_a_time: bool = False,
) -> RelayRun:
    """POST ``messages`` over ``contacts`` to the Meta function and wait until all arrived in Bitrix24; with
    ``one_at_a_time``, each message is posted once the one before it arrived (latency without a backlog)."""
    import httpx

    run = secrets.token_hex(3)
    wa_ids = [_wa_id() for _ in range(contacts)]
    texts = [f"bench {run} {i:04d}" for i in range(messages)]
    prepared = [_signed(_notification(wa_ids[i % contacts], _wamid(), texts[i]), secret) for i in range(messages)]
    posted: dict[str, float] = {}
    arrivals = _arrivals(fake)

    def wait(wanted: list[str]) -> None:
        deadline = time.monotonic() + _RELAY_TIMEOUT_S
        while any(t not in arrivals for t in wanted):
            if time.monotonic() > deadline:
                missing = sum(1 for t in wanted if t not in arrivals)
                raise BenchError(f"{missing} of {len(wanted)} messages did not reach Bitrix24 in {_RELAY_TIMEOUT_S} s")
            time.sleep(0.002)

    def post(poster: int) -> None:
        with httpx.Client(base_url=hooks_url, timeout=60) as client:
            for i in range(messages):
                if (i % contacts) % _POSTERS != poster and not one_at_a_time:
                    continue
                body, headers = prepared[i]
                posted[texts[i]] = time.monotonic()
                answer = client.post("/meta", content=body, headers=headers)
                if answer.status_code != 200:
                    raise BenchError(f"the Meta function answered {answer.status_code}: {answer.text}")
                if one_at_a_time:
                    wait([texts[i]])

    with QueueConsumers(app, consumers, _GATEWAY_QUEUES), ThreadPoolExecutor(_POSTERS) as pool:
        posters = 1 if one_at_a_time else _POSTERS
        for done in [pool.submit(post, p) for p in range(posters)]:
            done.result()
        wait(texts)
    latencies = [(arrivals[t] - posted[t]) * 1000 for t in texts]
    in_order = all(
        [arrivals[texts[i]] for i in range(c, messages, contacts)]
        == sorted(arrivals[texts[i]] for i in range(c, messages, contacts))
        for c in range(contacts)
    )
    seconds = max(arrivals[t] for t in texts) - min(posted.values())
    return RelayRun(label, messages, contacts, consumers, seconds, summarise(latencies), in_order)


def _cost(meter: CapacityMeter, messages: int, cpu_ms: float) -> MessageCost:
    usage = meter.usage["relay"]
    calls = {name: count / messages for name, count in usage.calls.items()}
    calls.update({f"dynamodb {op}": count / messages for op, count in usage.dynamodb_calls.items()})
    return MessageCost(
        messages=messages,
        calls=calls,
        read_units=usage.read_units / messages,
        write_units=usage.write_units / messages,
        cpu_ms=cpu_ms / messages,
    )


@dataclass(frozen=True)
class GatewayStage:
    """The gateway connected for the bench tenant: the Meta app secret, the hooks server, the fake Bitrix24 and
    the ``auth`` fields its portal signs events with."""

    secret: str
    hooks_url: str
    bitrix: FakeBitrix24
    auth: dict[str, str]


@contextlib.contextmanager
def gateway_stage(target: Target, progress: Callable[[str], None] = lambda _: None) -> Iterator[GatewayStage]:
    """Fakes, the hooks server and the bench tenant's number mapped to a portal's Open Line (as ``make run``'s demo
    connects them), with the settings pointing at the fakes; everything stopped on exit."""
    from app import app
    from chalicelib.access.permissions import Role
    from chalicelib.access.principal import Principal
    from functions import FUNCTION_URLS
    from localdev import demo_gateway
    from localdev.fakes import FakeProvider
    from localdev.function_urls import make_server
    from localdev.provision import local_webhook_secrets

    meta = FakeProvider("meta").start()
    bitrix = _timed_bitrix24().start()
    server = make_server("127.0.0.1", 0, FUNCTION_URLS)
    handler_class: Any = server.RequestHandlerClass
    handler_class.log_message = _quiet  # it would write a line per request
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    hooks_url = f"http://{host!s}:{port}/hooks"
    secret = local_webhook_secrets()["meta-app-secret"]
    settings = {
        "BTRIX_META_GRAPH_URL": meta.url,
        "BTRIX_BITRIX24_REST_URL": bitrix.rest_url,
        "BTRIX_BITRIX24_OAUTH_URL": bitrix.oauth_url,
        "BTRIX_BITRIX24_HANDLER_URL": f"{hooks_url}/bitrix24",
        "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true",
    }
    user = target.user
    admin = Principal(
        user_id=user.user_id, tenant_id=user.tenant_id, role=Role.ADMIN, email=user.email, request_id="bench"
    )
    spec = demo_gateway.DemoSpec(phone_number_id=PHONE_NUMBER_ID, domain=_DOMAIN, member_id=_MEMBER_ID)
    try:
        with settings_from(settings):
            progress("gateway: connecting a number and a portal (install through the hooks server)")
            with QueueConsumers(app, 1, _GATEWAY_QUEUES), contextlib.redirect_stdout(io.StringIO()):
                demo_gateway.connect(admin, bitrix, spec)
            auth = {
                "domain": _DOMAIN,
                "member_id": _MEMBER_ID,
                "application_token": spec.application_token,  # what the demo's install posted
                "access_token": "bench-access",
            }
            yield GatewayStage(secret, hooks_url, bitrix, auth)
    finally:
        server.shutdown()
        server.server_close()
        bitrix.stop()
        meta.stop()


def measure_gateway(
    target: Target,
    *,
    iterations: int = 500,
    messages: int = 200,
    contacts: int = 20,
    single: int = 30,
    progress: Callable[[str], None] = lambda _: None,
) -> GatewayReport:
    """Set the gateway up for the bench tenant on fakes, then time the ingress and the relay runs."""
    from app import app

    with gateway_stage(target, progress) as stage:
        progress(f"gateway: Meta function vs bare SendMessage, {iterations} iterations each")
        warmup = max(2, iterations // 50)
        ingress = time_function(target, meta_case(stage.secret), iterations, warmup, group=f"{PHONE_NUMBER_ID}:bench")
        runs = []
        plan = [
            *[(f"burst ({_POSTERS} posting threads)", messages, contacts, False, n) for n in CONSUMERS],
            ("one at a time (each posted once the one before arrived)", single, max(1, single // 6), True, 1),
        ]
        cost = None
        for label, count, people, one_at_a_time, consumers in plan:
            progress(f"gateway relay: {label}: {count} messages over {people} contacts, {consumers} consumers")
            metered = consumers == 1 and not one_at_a_time
            meter = CapacityMeter(*shared_clients())
            cpu = time.process_time()
            with meter, meter.operation("relay"), contextlib.redirect_stdout(io.StringIO()):
                run = _relay(
                    app,
                    stage.hooks_url,
                    stage.bitrix,
                    stage.secret,
                    label=label,
                    messages=count,
                    contacts=people,
                    consumers=consumers,
                    one_at_a_time=one_at_a_time,
                )
            if metered:
                cost = _cost(meter, count, (time.process_time() - cpu) * 1000)
            runs.append(run)
        return GatewayReport(ingress, runs, cost)
