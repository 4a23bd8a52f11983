"""The WhatsApp shop assistant: what one assistant turn adds to the inbound relay path, in this process.

Set-up: a fake Meta and the fake LLM (``localdev.fake_llm``, zero latency, its shopper model) on loopback, and three
WhatsApp numbers of the bench tenant mapped to no Bitrix24 portal: one without assistant, one with the
deterministic assistant, one with the LLM assistant. Each iteration is one received message of a new customer (a
new conversation on both sides, ``oi``) handed to the relay's job handler (``conversations.inbound.relay_inbound``)
as the conversation queue's consumer would:

- bare, the relay path alone: the message recorded once with its conversation, counters and event, the 24-hour
  window noted, and stored (no portal: no Bitrix24 call on either side);
- full, deterministic: the same, then the assistant's turn: its configuration, the rate counter, memory and cart
  read, ``search_products`` on the catalog, the reply (a WhatsApp list) recorded and its send job queued, the
  memory written;
- full, LLM: the same with two chat completions against the fake (``search_products``, then the answer written
  from its result), the answer checked against the tool's prices, the tokens counted against the budget.

The send jobs the turns queue are drained outside the timing. ``python -m bench.assistant`` prints the table.
"""

from __future__ import annotations

import contextlib
import io
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from bench.overhead import OverheadResult, RoundTripTimer, compare
from bench.queues import drain_queue
from bench.target import Target, shared_clients
from tests.support.environment import settings_from

__all__ = ["measure_assistant"]

_DRAIN_EVERY = 25
_NUMBERS = {"plain": "100000000000091", "deterministic": "100000000000092", "llm": "100000000000093"}


def _wa_id() -> str:
    return "5541" + "".join(secrets.choice("0123456789") for _ in range(9))


def _jobs(tenant_id: str, channel_id: str, phone_number_id: str) -> Iterator[dict[str, Any]]:
    """Received-message jobs of new customers writing ``oi`` to the number, as the Meta webhook queues them."""
    from chalicelib.core import clock

    while True:
        wa_id = _wa_id()
        yield {
            "type": "whatsapp.message",
            "tenantId": tenant_id,
            "channelId": channel_id,
            "phoneNumberId": phone_number_id,
            "waId": wa_id,
            "contactName": "Bench Cliente",
            "message": {
                "from": wa_id,
                "id": "wamid.bench" + secrets.token_urlsafe(18),
                "timestamp": str(int(clock.now().timestamp())),
                "type": "text",
                "text": {"body": "oi"},
            },
            "receivedAt": clock.now_iso(),
        }


def _numbers(target: Target, llm_url: str) -> dict[str, str]:
    """The three numbers of the bench tenant (created once), by role: their channel ids."""
    from chalicelib.access.permissions import Module, Role
    from chalicelib.access.principal import Principal
    from chalicelib.assistant import service as assistant
    from chalicelib.assistant.models import AssistantConfigRequest
    from chalicelib.channels import service as channels
    from chalicelib.channels.models import ConnectWhatsAppRequest
    from chalicelib.core.db.store import tenant_scope

    user = target.user
    admin = Principal(
        user_id=user.user_id,
        tenant_id=user.tenant_id,
        role=Role.ADMIN,
        email=user.email,
        modules=frozenset(Module),
        request_id="bench",
    )
    ids = {}
    with tenant_scope(user.tenant_id):
        for role, phone_number_id in _NUMBERS.items():
            body = ConnectWhatsAppRequest.model_validate(
                {
                    "phoneNumberId": phone_number_id,
                    "wabaId": "100000000000090",
                    "accessToken": "EAAG-bench-token-0123456789",
                    "appSecret": "bench-app-secret-0123",
                    "verifyToken": "bench-verify-token",
                    "name": f"bench {role}",
                }
            )
            ids[role] = channels.connect_whatsapp(admin, body, f"bench-assistant-{role}").id
            if role != "plain":
                config: dict[str, Any] = {"mode": "assistant", "language": "pt-BR"}
                if role == "llm":
                    config["llm"] = {"baseUrl": llm_url, "model": "bench", "apiKey": "sk-bench"}
                assistant.put_assistant(admin, ids[role], AssistantConfigRequest.model_validate(config))
    return ids


def measure_assistant(
    target: Target, *, iterations: int = 300, progress: Callable[[str], None] = lambda _: None
) -> list[OverheadResult]:
    """Time one assistant turn (deterministic, then LLM) against the relay path alone."""
    from chalicelib.conversations.inbound import relay_inbound
    from chalicelib.core.db.store import tenant_scope
    from chalicelib.core.resources import QueueKind, queue_name
    from localdev.fake_llm import FakeLLM
    from localdev.fakes import FakeProvider

    meta = FakeProvider("meta").start()
    llm = FakeLLM().start()
    settings = {
        "BTRIX_META_GRAPH_URL": meta.url,
        "BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK": "true",
        "BTRIX_ASSISTANT_TURNS_PER_MINUTE": "600",
    }
    tenant_id = target.user.tenant_id
    url = target.bare_sqs.get_queue_url(QueueName=queue_name(QueueKind.WHATSAPP_INBOUND))["QueueUrl"]

    def empty_queue(i: int) -> None:
        if i % _DRAIN_EVERY == 0:
            drain_queue(target.bare_sqs, url)

    def turn(jobs: Iterator[dict[str, Any]]) -> Callable[[], None]:
        def run() -> None:
            with tenant_scope(tenant_id):
                relay_inbound(next(jobs))

        return run

    results = []
    try:
        with settings_from(settings), contextlib.redirect_stdout(io.StringIO()):  # EMF lines
            progress("assistant: three numbers of the bench tenant (plain, deterministic, LLM)")
            numbers = _numbers(target, llm.url)
            plain = _jobs(tenant_id, numbers["plain"], _NUMBERS["plain"])
            for role, label in (
                ("deterministic", "assistant turn, deterministic (menu) vs the relay path alone"),
                ("llm", "assistant turn, LLM on a zero-latency fake (2 completions) vs the relay path alone"),
            ):
                progress(f"assistant: {label}, {iterations} iterations each")
                jobs = _jobs(tenant_id, numbers[role], _NUMBERS[role])
                with RoundTripTimer(*shared_clients(), *target.bare_clients) as timer:
                    results.append(
                        compare(
                            label,
                            turn(jobs),
                            turn(plain),
                            timer=timer,
                            iterations=iterations,
                            warmup=max(2, iterations // 50),
                            between=empty_queue,
                        )
                    )
            drain_queue(target.bare_sqs, url)
    finally:
        meta.stop()
        llm.stop()
    return results


if __name__ == "__main__":
    import sys

    from bench.__main__ import _quiet_local_env
    from bench.report import render_overhead
    from bench.target import running_target

    _quiet_local_env()
    quick = "--quick" in sys.argv
    with running_target() as running:
        found = measure_assistant(running, iterations=30 if quick else 300, progress=print)
    print(render_overhead(found))
