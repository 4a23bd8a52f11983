"""The Meta webhook keeps a received message's job and sends its trigger at once (``inbound.receipts``): a trigger
that reaches the worker before its job (or without it, when that write failed) still relays the message, once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx

from chalicelib.conversations import store
from chalicelib.conversations.jobs import inbound_delivery
from chalicelib.core import clock
from chalicelib.core.db.store import Table, tenant_scope
from chalicelib.inbound.receipts import enqueue
from tests.integration.conversations.conftest import Fakes, connect
from tests.integration.conversations.test_relay import Work, _conversations, _relayed, _wa_id, _wamid
from tests.support.gateway import meta_message


def test_a_trigger_ahead_of_its_kept_job_relays_the_message_once_and_the_late_job_adds_nothing(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work, settle: Callable[[], None]
) -> None:
    gateway = connect(api, hooks, fakes, work)
    wa_id = _wa_id()
    body = {
        "type": "whatsapp.message",
        "provider": "meta",
        "tenantId": gateway.admin.tenant_id,
        "channelId": gateway.channel_id,
        "wabaId": "102290129340398",
        "phoneNumberId": gateway.phone_number_id,
        "displayPhoneNumber": "15550000000",
        "waId": wa_id,
        "contactName": "Ana",
        "message": meta_message(wa_id, _wamid(), "chegou antes do job"),
        "receivedAt": clock.now_iso(),
    }
    delivery = inbound_delivery(body, clock.now())
    assert delivery.keep is not None
    enqueue(replace(delivery, keep=None))  # the trigger alone: its job not (yet) in the table

    work(lambda: len(_relayed(fakes, gateway, wa_id)) >= 1)
    Table().put(delivery.keep)  # the job lands late; the next trigger of the conversation finds it
    enqueue(replace(delivery, keep=None, dedup_id=f"{delivery.key}:again"))
    settle()
    assert [m["message"]["text"] for m in _relayed(fakes, gateway, wa_id)] == ["chegou antes do job"]
    [conversation] = _conversations(api, gateway)  # the gateway's tenant is new: this is its one conversation
    assert conversation["messagesIn"] == 1
    with tenant_scope(gateway.admin.tenant_id):  # nothing left waiting in the conversation
        assert store.pending_jobs(gateway.admin.tenant_id, conversation["id"], limit=5) == []
