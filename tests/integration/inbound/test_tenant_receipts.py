"""A webhook's once-only receipt is per tenant where each tenant may sign with a secret of its own (Stripe, Pagar.me,
Bling): a tenant cannot claim another tenant's event id first and have the real event dropped as a duplicate, while
a true duplicate for one tenant is still handed on once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx
import pytest

from chalicelib.core.ids import new_id
from chalicelib.core.resources import QueueKind
from tests.support.inbound_hooks import SECRETS, stripe_signature, take_messages

Post = Callable[[httpx.Client, str, str], httpx.Response]  # (hooks, tenant, event id) → the answer


def _stripe(hooks: httpx.Client, tenant_id: str, event_id: str) -> httpx.Response:
    session = {"id": "cs_test_1", "object": "checkout.session", "metadata": {"tenantId": tenant_id}}
    event = {"id": event_id, "object": "event", "type": "checkout.session.completed", "created": int(time.time())}
    body = json.dumps({**event, "livemode": False, "data": {"object": session}}).encode()
    return hooks.post(f"/stripe?tenant={tenant_id}", content=body, headers={"Stripe-Signature": stripe_signature(body)})


def _pagarme(hooks: httpx.Client, tenant_id: str, event_id: str) -> httpx.Response:
    login = base64.b64encode(f"btrix:{SECRETS['pagarme-webhook-secret']}".encode()).decode()
    body = json.dumps({"id": event_id, "type": "order.paid", "data": {"id": f"or_{event_id}"}}).encode()
    return hooks.post(f"/pagarme?tenant={tenant_id}", content=body, headers={"Authorization": f"Basic {login}"})


def _bling(hooks: httpx.Client, tenant_id: str, event_id: str) -> httpx.Response:
    secret = json.loads(SECRETS["bling-oauth-app"])["clientSecret"].encode()
    event = {"eventId": event_id, "event": "stock.updated", "companyId": "c0ffee", "data": {"produto": {"id": 16}}}
    body = json.dumps(event).encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hooks.post(f"/bling?tenant={tenant_id}", content=body, headers={"X-Bling-Signature-256": signature})


@pytest.mark.parametrize("post", [_stripe, _pagarme, _bling], ids=lambda post: post.__name__[1:])
def test_the_same_event_id_for_two_tenants_is_handed_on_for_both_and_a_duplicate_once(
    hooks: httpx.Client, post: Post
) -> None:
    first, second, event_id = new_id(), new_id(), f"evt_{new_id()}"
    answers = [post(hooks, tenant, event_id) for tenant in (first, second, first, second)]
    queued = take_messages(QueueKind.INTEGRATIONS, lambda found: found.get("tenantId") in (first, second))
    assert [(a.status_code, a.json()["recorded"]) for a in answers] == [(200, 1), (200, 1), (200, 0), (200, 0)]
    assert sorted(body["tenantId"] for body, _ in queued) == sorted([first, second])
