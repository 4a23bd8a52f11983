"""A delivery whose signature is right but whose body is not what the provider sends (a wrong type where an object
is, an empty or huge id, unicode, a JSON array) is a 400 problem+json or is acknowledged and dropped: never a 500,
which the provider would retry for days."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from chalicelib.core.ids import new_id
from chalicelib.core.resources import QueueKind
from chalicelib.integrations.rappi.client import sign as rappi_sign
from localdev.fake_base import sign_hex
from tests.support.identity import call, signup
from tests.support.inbound_hooks import take_messages

Signed = tuple[str, Callable[[bytes], dict[str, str]]]  # the URL and how a body is signed for it
STORE = "900777"
MERCHANT = "a1b2c3d4-0009"


def _rappi(api: Any) -> Signed:
    admin, _ = signup(api)
    secret = f"rappi-webhook-{new_id()}"
    credentials = {"clientId": "app", "clientSecret": "s", "storeId": STORE, "webhookSecret": secret}
    assert call(api, "PUT", "/integrations/rappi", {"credentials": credentials}, admin.headers()).status_code == 200
    return f"/rappi?tenant={admin.tenant_id}", lambda body: {"Rappi-Signature": rappi_sign(secret, body)}


def _ifood(api: Any) -> Signed:
    admin, _ = signup(api)
    secret = f"ifood-secret-{new_id()}"
    credentials = {"clientId": "ifood-app", "clientSecret": secret, "merchantId": MERCHANT}
    assert call(api, "PUT", "/integrations/ifood", {"credentials": credentials}, admin.headers()).status_code == 200
    return f"/ifood?tenant={admin.tenant_id}", lambda body: {"X-IFood-Signature": sign_hex(secret, body)}


def _melhorenvio(api: Any) -> Signed:
    admin, _ = signup(api)
    secret = f"me-app-secret-{new_id()}"
    credentials = {"clientId": "me", "clientSecret": secret, "refreshToken": "r", "email": "t@loja.example"}
    assert (
        call(api, "PUT", "/integrations/melhorenvio", {"credentials": credentials}, admin.headers()).status_code == 200
    )

    def sign(body: bytes) -> dict[str, str]:
        return {"X-ME-Signature": base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()}

    return f"/melhorenvio?tenant={admin.tenant_id}", sign


def _bling(api: Any) -> Signed:
    from tests.support.inbound_hooks import SECRETS

    secret = json.loads(SECRETS["bling-oauth-app"])["clientSecret"]  # a tenant on BTRIX's Bling app

    def sign(body: bytes) -> dict[str, str]:
        return {"X-Bling-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}

    return f"/bling?tenant={new_id()}", sign


def _pagarme(api: Any) -> Signed:
    from tests.support.inbound_hooks import SECRETS

    login = base64.b64encode(f"btrix:{SECRETS['pagarme-webhook-secret']}".encode()).decode()  # no password of its own
    return f"/pagarme?tenant={new_id()}", lambda body: {"Authorization": f"Basic {login}"}


def _meta(api: Any) -> Signed:
    from tests.support.inbound_hooks import meta_signature

    return "/meta", lambda body: {"X-Hub-Signature-256": meta_signature(body)}


def _shared(provider: str, header: str, encode: Callable[[bytes], str]) -> Callable[[Any], Signed]:
    """BTRIX's shared app of ``provider``: no tenant in the URL, the account in the body names it."""

    def setup(api: Any) -> Signed:
        from tests.support.inbound_hooks import SECRETS

        secret = json.loads(SECRETS[f"{provider}-oauth-app"])["clientSecret"].encode()
        return f"/{provider}", lambda body: {header: encode(hmac.new(secret, body, hashlib.sha256).digest())}

    return setup


HUGE = "9" * 400
BODIES: dict[str, list[Any]] = {
    "rappi": [
        {"event": "NEW_ORDER", "store_id": STORE, "order": "not an object"},
        {"event": "NEW_ORDER", "store_id": STORE, "order": {"order_detail": ["not", "an", "object"]}},
        {"event": "NEW_ORDER", "store_id": STORE, "order_id": ""},
        {"event": "ORDER_EVENT_CANCEL", "store_id": STORE, "order_id": "ç" * 3000},
        {"event": "é" * 3000, "store_id": STORE, "order_id": "1"},
        {"event": ["NEW_ORDER"]},
        [],
    ],
    "ifood": [
        {"id": "", "code": "PLC", "merchantId": MERCHANT, "orderId": "x"},
        {"id": "ç" * 3000, "code": "PLC", "merchantId": MERCHANT, "orderId": "x"},
        {"id": new_id(), "code": ["PLC"], "merchantId": MERCHANT, "orderId": {"a": 1}},
        {"id": new_id(), "code": "PLC", "merchantId": {"x": 1}},
        {"id": int(HUGE), "code": "KEEPALIVE"},
        [{"id": 1}],
        [],
    ],
    "melhorenvio": [
        {"event": "order.posted", "data": {"id": "ç" * 3000}},
        {"event": "é" * 3000, "data": {"id": "1"}},
        {"event": "order.posted", "data": "not an object"},
        {"event": {"x": 1}, "data": {"id": 1}},
        [],
    ],
    "bling": [
        {"eventId": "ç" * 3000, "event": "stock.updated", "data": {}},
        {"eventId": new_id(), "event": "stock.updated", "data": "not an object"},
        {"eventId": {"x": 1}, "event": "stock.updated"},
        {"eventId": int(HUGE), "event": "stock.deleted", "data": []},
        [],
    ],
}
for account in ("ç" * 3000, "a#b", {"x": 1}, int(HUGE), ""):
    BODIES.setdefault("bling-shared", []).append(
        {"eventId": new_id(), "event": "stock.updated", "companyId": account, "data": {"produto": {"id": 1}}}
    )
    BODIES.setdefault("melhorenvio-shared", []).append(
        {"event": "order.posted", "data": {"id": new_id(), "status": "posted", "user_id": account}}
    )
SETUPS: dict[str, Callable[[Any], Signed]] = {
    "bling-shared": _shared("bling", "X-Bling-Signature-256", lambda digest: "sha256=" + digest.hex()),
    "melhorenvio-shared": _shared("melhorenvio", "X-ME-Signature", lambda digest: base64.b64encode(digest).decode()),
    "rappi": _rappi,
    "ifood": _ifood,
    "melhorenvio": _melhorenvio,
    "bling": _bling,
}


@pytest.mark.parametrize("provider", sorted(SETUPS))
def test_a_signed_body_of_the_wrong_shape_is_refused_or_dropped_never_a_500(
    api: Any, hooks: httpx.Client, provider: str
) -> None:
    url, sign = SETUPS[provider](api)
    answers = []
    for payload in BODIES[provider]:
        body = json.dumps(payload).encode()
        answer = hooks.post(url, content=body, headers={"Content-Type": "application/json", **sign(body)})
        answers.append((payload if len(str(payload)) < 80 else str(payload)[:80], answer.status_code))
        if answer.status_code >= 400:
            assert answer.headers["content-type"] == "application/problem+json", answer.text
    assert [a for a in answers if a[1] >= 500] == []
    tenant = url.partition("tenant=")[2]
    take_messages(QueueKind.INTEGRATIONS, lambda found: found.get("tenantId") == tenant)  # what was queued: gone


def test_a_bling_event_whose_data_is_not_an_object_is_a_400_not_a_job_that_crashes(
    api: Any, hooks: httpx.Client
) -> None:
    url, sign = _bling(api)
    for data in ("not an object", ["produto"], 7):
        body = json.dumps({"eventId": new_id(), "event": "stock.updated", "data": data}).encode()
        answer = hooks.post(url, content=body, headers={"Content-Type": "application/json", **sign(body)})
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"] == "a Bling webhook's data is an object"


NESTED = b"[" * 3000 + b"]" * 3000


@pytest.mark.parametrize("setup", [_ifood, _melhorenvio, _pagarme, _rappi, _bling, _meta], ids=lambda s: s.__name__[1:])
def test_a_signed_body_nested_beyond_the_parser_is_a_400_not_a_500(
    api: Any, hooks: httpx.Client, setup: Callable[[Any], Signed]
) -> None:
    url, sign = setup(api)
    for body in (NESTED, b"[" * 3000):
        answer = hooks.post(url, content=body, headers={"Content-Type": "application/json", **sign(body)})
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "not JSON" in answer.json()["detail"]
