"""Every webhook function: a bad or missing signature is a 401 that leaves nothing behind; a valid delivery sent
three times at once is recorded and queued once. Plus each provider's routing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from chalicelib.core.db.keys import RouteKind, route_pk
from chalicelib.core.db.store import Table
from chalicelib.core.ids import new_id
from chalicelib.core.resources import QueueKind
from chalicelib.inbound.bitrix24 import event_key, nest_form
from chalicelib.inbound.routing import find_bitrix_portal, new_bitrix_connect_token
from chalicelib.integrations.rappi.client import sign as rappi_sign
from localdev.fake_base import sign_hex
from tests.support.identity import call, signup
from tests.support.inbound_hooks import (
    mercadopago_signature,
    notification_status,
    receipt,
    sent_notification,
    standard_webhook_headers,
    stripe_signature,
    take_messages,
)
from tests.support.provider_api import GOOD

Request = dict[str, Any]


@dataclass
class Case:
    """One provider's valid delivery, its forged variants, and how to find what it left behind."""

    provider: str
    valid: Request
    bad: list[Request]
    key: str
    queue: QueueKind | None
    match: Callable[[dict[str, Any]], bool]
    check: Callable[[dict[str, Any]], None] = lambda body: None
    unknown_portal: list[str] = field(default_factory=list)
    # For status callbacks, which update a notification rather than enqueue: its status now.
    notification: Callable[[], str | None] | None = None


def _send(hooks: httpx.Client, request: Request) -> httpx.Response:
    return hooks.request(**request)


def _stripe(api: Any, hooks: httpx.Client) -> Case:
    tenant_id, event_id = new_id(), f"evt_{new_id()}"
    event = {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session", "metadata": {"tenantId": tenant_id}}},
    }
    body = json.dumps(event).encode()

    def post(content: bytes, signature: str | None) -> Request:
        headers = {"Content-Type": "application/json"} | ({"Stripe-Signature": signature} if signature else {})
        return {"method": "POST", "url": "/stripe", "content": content, "headers": headers}

    def check(found: dict[str, Any]) -> None:
        assert (found["type"], found["event"]["type"]) == ("stripe.event", "checkout.session.completed")

    return Case(
        "stripe",
        post(body, stripe_signature(body)),
        [
            post(body, None),
            post(body, stripe_signature(body, secret="whsec_bm90LXRoZS1zZWNyZXQ=")),
            post(body.replace(b"cs_test_1", b"cs_test_2"), stripe_signature(body)),
            post(body, stripe_signature(body, at=int(time.time()) - 301)),  # outside the 300 s tolerance
        ],
        f"{tenant_id}:{event_id}",
        QueueKind.INTEGRATIONS,
        lambda found: found.get("tenantId") == tenant_id,
        check,
    )


def _mercadopago(api: Any, hooks: httpx.Client) -> Case:
    tenant_id, payment_id, request_id = new_id(), "1319" + str(time.time_ns())[-8:], f"req-{new_id()}"
    notification = {
        "id": int(payment_id) + 7,
        "action": "payment.updated",
        "type": "payment",
        "data": {"id": payment_id},
    }
    body = json.dumps(notification).encode()
    query = urlencode({"tenant": tenant_id, "data.id": payment_id, "type": "payment"})

    def post(headers: dict[str, str], url_query: str = query) -> Request:
        sent = {"Content-Type": "application/json", "x-request-id": request_id} | headers
        return {"method": "POST", "url": f"/mercadopago?{url_query}", "content": body, "headers": sent}

    valid = mercadopago_signature(payment_id, request_id)
    return Case(
        "mercadopago",
        post({"x-signature": valid}),
        [
            post({}),
            post({"x-signature": mercadopago_signature(payment_id, request_id, secret="wrong")}),
            post({"x-signature": mercadopago_signature(payment_id, "req-other")}),
            # Captured and replayed six minutes later (or signed with a clock six minutes ahead).
            post({"x-signature": mercadopago_signature(payment_id, request_id, at=time.time_ns() // 10**6 - 360_000)}),
            post({"x-signature": mercadopago_signature(payment_id, request_id, at=time.time_ns() // 10**6 + 360_000)}),
            post({"x-signature": valid}, query.replace(f"data.id={payment_id}", "data.id=999")),
        ],
        f"{tenant_id}:{notification['id']}",
        QueueKind.INTEGRATIONS,
        lambda found: found.get("tenantId") == tenant_id,
        lambda found: None if found["dataId"] == payment_id else pytest.fail(str(found)),
    )


def _pagarme(api: Any, hooks: httpx.Client) -> Case:
    import base64

    from tests.support.inbound_hooks import SECRETS

    tenant_id, hook_id = new_id(), f"hook_{new_id()}"
    body = json.dumps({"id": hook_id, "type": "order.paid", "data": {"id": f"or_{new_id()}"}}).encode()

    def post(login: str | None, content: bytes = body, tenant: str = tenant_id) -> Request:
        auth = {"Authorization": "Basic " + base64.b64encode(login.encode()).decode()} if login else {}
        headers = {"Content-Type": "application/json", **auth}
        return {"method": "POST", "url": f"/pagarme?tenant={tenant}", "content": content, "headers": headers}

    platform = f"btrix:{SECRETS['pagarme-webhook-secret']}"
    return Case(
        "pagarme",
        post(platform),
        [
            post(None),
            post("btrix:not-the-password"),
            post(f"loja:{SECRETS['pagarme-webhook-secret']}"),
            post(f"btrix{SECRETS['pagarme-webhook-secret']}"),
        ],
        f"{tenant_id}:{hook_id}",
        QueueKind.INTEGRATIONS,
        lambda found: found.get("tenantId") == tenant_id,
        lambda found: None if found["event"]["type"] == "order.paid" else pytest.fail(str(found)),
    )


def _bling(api: Any, hooks: httpx.Client) -> Case:
    import hashlib
    import hmac

    from tests.support.inbound_hooks import SECRETS

    tenant_id, event_id = new_id(), f"0194{new_id().lower()}"
    event = {"eventId": event_id, "event": "stock.updated", "companyId": "c0ffee", "data": {"produto": {"id": 16}}}
    body = json.dumps(event).encode()
    app_secret = json.loads(SECRETS["bling-oauth-app"])["clientSecret"]  # a tenant on BTRIX's Bling app

    def signed(content: bytes, secret: str = app_secret, scheme: str = "sha256") -> str:
        return f"{scheme}=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()

    def post(signature: str | None, content: bytes = body) -> Request:
        headers = {"Content-Type": "application/json"} | ({"X-Bling-Signature-256": signature} if signature else {})
        return {"method": "POST", "url": f"/bling?tenant={tenant_id}", "content": content, "headers": headers}

    return Case(
        "bling",
        post(signed(body)),
        [
            post(None),
            post(signed(body, secret="not-the-client-secret")),
            post(signed(body), body.replace(b'"id": 16', b'"id": 17')),
            post(signed(body, scheme="sha1")),
        ],
        f"{tenant_id}:{event_id}",
        QueueKind.INTEGRATIONS,
        lambda found: found.get("tenantId") == tenant_id,
        lambda found: None if found["event"]["data"]["produto"]["id"] == 16 else pytest.fail(str(found)),
    )


def _form(event: str, member_id: str, token: str, **extra: str) -> bytes:
    fields = {
        "event": event,
        "ts": str(int(time.time())),
        "auth[application_token]": token,
        "auth[member_id]": member_id,
        "auth[domain]": "acme.bitrix24.com",
        "auth[access_token]": "b24-access",
        **extra,
    }
    return urlencode(fields).encode()


def _bitrix24(api: Any, hooks: httpx.Client) -> Case:
    tenant_id, member_id, token = new_id(), f"m{new_id().lower()}", f"app-{new_id()}"
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    install = _form("ONAPPINSTALL", member_id, token)
    connect = new_bitrix_connect_token(tenant_id)
    assert (
        _send(
            hooks, {"method": "POST", "url": f"/bitrix24?connect={connect}", "content": install, "headers": form_type}
        ).status_code
        == 200
    )
    assert (
        take_messages(QueueKind.BITRIX24_OUTBOUND, lambda b: b.get("memberId") == member_id)[0][0]["event"]
        == "ONAPPINSTALL"
    )
    message = {
        "data[MESSAGES][0][im][chat_id]": "77",
        "data[MESSAGES][0][im][message_id]": "9001",
        "data[MESSAGES][0][message][text]": "[b]Olá[/b]",
        "data[MESSAGES][0][chat][id]": "5511999990000",
    }
    body = _form("ONIMCONNECTORMESSAGEADD", member_id, token, **message)
    forged = _form("ONIMCONNECTORMESSAGEADD", member_id, "app-guess", **message)
    stranger = f"m{new_id().lower()}"
    portal = find_bitrix_portal(member_id)
    assert portal is not None

    def post(content: bytes, url: str = "/bitrix24") -> Request:
        return {"method": "POST", "url": url, "content": content, "headers": form_type}

    def check(found: dict[str, Any]) -> None:
        assert found["data"]["MESSAGES"][0]["message"]["text"] == "[b]Olá[/b]"
        assert "application_token" not in found["auth"]

    return Case(
        "bitrix24",
        post(body),
        [
            post(forged),
            post(body.replace(f"auth%5Bapplication_token%5D={token}".encode(), b"")),
            post(_form("ONAPPINSTALL", stranger, "app-x")),  # an unknown portal, no connect token
            post(_form("ONAPPINSTALL", stranger, "app-x"), f"/bitrix24?connect={connect}"),  # token already used
            post(_form("ONAPPINSTALL", stranger, "app-x"), "/bitrix24?connect=made-up"),
        ],
        event_key(portal, "ONIMCONNECTORMESSAGEADD", nest_form(parse_qsl(body.decode()))),
        QueueKind.BITRIX24_OUTBOUND,
        lambda found: found.get("memberId") in (member_id, stranger),
        check,
        unknown_portal=[stranger],
    )


def _twilio(api: Any, hooks: httpx.Client) -> Case:
    from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

    admin, _ = signup(api, plan="corporativo")
    assert call(api, "PUT", "/integrations/twilio", {"credentials": GOOD["twilio"]}, admin.headers()).status_code == 200
    query = urlencode({"tenant": admin.tenant_id, "notification": "N1"})
    base = str(hooks.base_url).rstrip("/")
    url = f"{base}/twilio?{query}"
    sid = f"SM{new_id().lower()}"
    account = GOOD["twilio"]["accountSid"]
    notification_id = sent_notification(admin.tenant_id, "sms", "+5511988887777", "twilio", sid, sent_by=account)
    params = {
        "AccountSid": account,
        "MessageSid": sid,
        "MessageStatus": "delivered",
        "To": "+5511988887777",
        "From": "+15550001111",
    }
    validator = RequestValidator(GOOD["twilio"]["authToken"])

    def post(form: dict[str, str], signature: str | None, target: str = url) -> Request:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return {
            "method": "POST",
            "url": target.removeprefix(base),
            "content": urlencode(form).encode(),
            "headers": headers,
        }

    signed = validator.compute_signature(url, params)
    other_tenant_url = url.replace(admin.tenant_id, new_id())

    return Case(
        "twilio",
        post(params, signed),
        [
            post(params, None),
            post({**params, "MessageStatus": "read"}, signed),
            post(params, RequestValidator("0" * 32).compute_signature(url, params)),
            post(params, validator.compute_signature(other_tenant_url, params), other_tenant_url),
        ],
        f"{admin.tenant_id}:{sid}:delivered",
        None,
        lambda found: False,
        notification=lambda: notification_status(admin.tenant_id, notification_id),
    )


def _email(api: Any, hooks: httpx.Client) -> Case:
    admin, _ = signup(api, plan="corporativo")
    webhook_id = f"msg_{new_id()}"
    email = {
        "messageId": f"<{new_id()}@mail.example>",
        "from": "Cliente <cliente@example.com>",
        "to": [f"{admin.tenant_id.lower()}+pedidos@inbound.btrix.test"],
        "subject": "Pedido 42",
        "text": "Quando chega?",
    }
    body = json.dumps(email).encode()

    def post(content: bytes, headers: dict[str, str]) -> Request:
        return {
            "method": "POST",
            "url": "/email",
            "content": content,
            "headers": {"Content-Type": "application/json", **headers},
        }

    def check(found: dict[str, Any]) -> None:
        assert (found["email"]["subject"], found["email"]["truncated"]) == ("Pedido 42", False)

    return Case(
        "email",
        post(body, standard_webhook_headers(body, webhook_id)),
        [
            post(body, {}),
            post(body, standard_webhook_headers(body, webhook_id, secret="whsec_d3Jvbmctc2VjcmV0")),
            post(body.replace(b"42", b"43"), standard_webhook_headers(body, webhook_id)),
            post(body, standard_webhook_headers(body, webhook_id, at=int(time.time()) - 600)),
        ],
        webhook_id,
        QueueKind.INTEGRATIONS,
        lambda found: found.get("tenantId") == admin.tenant_id and found.get("type") == "email.received",
        check,
    )


def _rappi(api: Any, hooks: httpx.Client) -> Case:
    admin, _ = signup(api)
    secret = f"rappi-webhook-{new_id()}"
    credentials = {
        "clientId": "rappi-app",
        "clientSecret": "rappi-secret",
        "storeId": "900777",
        "webhookSecret": secret,
    }
    assert call(api, "PUT", "/integrations/rappi", {"credentials": credentials}, admin.headers()).status_code == 200
    order_id = str(time.time_ns())
    event = {"event": "ORDER_EVENT_CANCEL", "store_id": "900777", "order_id": order_id, "reason": "Cliente cancelou"}
    body = json.dumps(event).encode()

    def post(headers: dict[str, str], tenant_id: str = admin.tenant_id) -> Request:
        sent = {"Content-Type": "application/json"} | headers
        return {"method": "POST", "url": f"/rappi?tenant={tenant_id}", "content": body, "headers": sent}

    valid = rappi_sign(secret, body)
    return Case(
        "rappi",
        post({"Rappi-Signature": valid}),
        [
            post({}),
            post({"Rappi-Signature": rappi_sign("not-the-tenant-secret", body)}),
            post({"Rappi-Signature": valid}, new_id()),  # a tenant that did not connect Rappi
            post({"Rappi-Signature": rappi_sign(secret, body, at=1_600_000_000)}),  # too old
        ],
        f"{admin.tenant_id}:ORDER_EVENT_CANCEL:{order_id}",
        QueueKind.INTEGRATIONS,
        lambda found: found.get("tenantId") == admin.tenant_id,
        lambda found: None if found["topic"] == "ORDER_EVENT_CANCEL" else pytest.fail(str(found)),
    )


def _ifood(api: Any, hooks: httpx.Client) -> Case:
    admin, _ = signup(api)
    secret = f"ifood-secret-{new_id()}"
    credentials = {"clientId": "ifood-app", "clientSecret": secret, "merchantId": "a1b2c3d4-0009"}
    assert call(api, "PUT", "/integrations/ifood", {"credentials": credentials}, admin.headers()).status_code == 200
    event_id = new_id()
    event = {
        "id": event_id,
        "code": "PLC",
        "fullCode": "PLACED",
        "orderId": new_id(),
        "merchantId": "a1b2c3d4-0009",
        "createdAt": "2026-12-06T12:00:00.000Z",
    }
    body = json.dumps(event).encode()

    def post(headers: dict[str, str], tenant_id: str = admin.tenant_id, content: bytes = body) -> Request:
        sent = {"Content-Type": "application/json"} | headers
        return {"method": "POST", "url": f"/ifood?tenant={tenant_id}", "content": content, "headers": sent}

    valid = sign_hex(secret, body)
    return Case(
        "ifood",
        post({"X-IFood-Signature": valid}),
        [
            post({}),
            post({"X-IFood-Signature": sign_hex("not-the-client-secret", body)}),  # iFood's homologation trap
            post({"X-IFood-Signature": valid}, new_id()),  # a tenant that did not connect iFood
            post({"X-IFood-Signature": valid}, content=body.replace(b"PLC", b"CAN")),
        ],
        f"{admin.tenant_id}:{event_id}",
        QueueKind.INTEGRATIONS,
        lambda found: found.get("tenantId") == admin.tenant_id,
        lambda found: None if found["event"]["id"] == event_id else pytest.fail(str(found)),
    )


def _melhorenvio(api: Any, hooks: httpx.Client) -> Case:
    admin, _ = signup(api)
    secret = f"me-app-secret-{new_id()}"
    credentials = {
        "clientId": "me-app",
        "clientSecret": secret,
        "refreshToken": "me-refresh",
        "email": "tech@loja.example",
        "sandbox": True,
    }
    connected = call(api, "PUT", "/integrations/melhorenvio", {"credentials": credentials}, admin.headers())
    assert connected.status_code == 200, connected.body
    label = new_id()
    body = json.dumps({"event": "order.posted", "data": {"id": label, "status": "posted", "tracking": "BR1"}}).encode()

    def post(headers: dict[str, str], tenant_id: str = admin.tenant_id) -> Request:
        sent = {"Content-Type": "application/json"} | headers
        return {"method": "POST", "url": f"/melhorenvio?tenant={tenant_id}", "content": body, "headers": sent}

    def signed(key: str) -> str:
        return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()

    return Case(
        "melhorenvio",
        post({"X-ME-Signature": signed(secret)}),
        [
            post({}),
            post({"X-ME-Signature": signed("not-the-app-secret")}),
            post({"X-ME-Signature": signed(secret)}, new_id()),  # a tenant without MelhorEnvio
        ],
        f"{admin.tenant_id}:{label}:order.posted",
        QueueKind.INTEGRATIONS,
        lambda found: found.get("tenantId") == admin.tenant_id and found.get("provider") == "melhorenvio",
        lambda found: None if found["labelId"] == label else pytest.fail(str(found)),
    )


CASES = [_stripe, _mercadopago, _pagarme, _bling, _bitrix24, _twilio, _email, _rappi, _ifood, _melhorenvio]
IDS = ["stripe", "mercadopago", "pagarme", "bling", "bitrix24", "twilio", "email", "rappi", "ifood", "melhorenvio"]


@pytest.mark.parametrize("make", CASES, ids=IDS)
def test_a_bad_or_missing_signature_is_401_and_nothing_is_recorded_or_queued(
    api: Any, hooks: httpx.Client, make: Callable[[Any, httpx.Client], Case]
) -> None:
    case = make(api, hooks)
    for request in case.bad:
        answer = _send(hooks, request)
        assert answer.status_code == 401, (case.provider, request, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == 401
    assert receipt(case.provider, case.key) is None
    if case.queue is not None:
        assert take_messages(case.queue, case.match) == []
    if case.notification is not None:
        assert case.notification() == "sent"
    for member_id in case.unknown_portal:
        assert Table().get(route_pk(RouteKind.BITRIX_MEMBER, member_id), "ROUTE") is None


@pytest.mark.parametrize("make", CASES, ids=IDS)
def test_a_valid_delivery_sent_three_times_at_once_is_queued_once(
    api: Any, hooks: httpx.Client, make: Callable[[Any, httpx.Client], Case]
) -> None:
    case = make(api, hooks)
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(pool.map(lambda _: _send(hooks, case.valid), range(3)))
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    assert sum(a.json()["recorded"] for a in answers) == 1
    record = receipt(case.provider, case.key)
    assert record is not None
    assert record["status"] == "COMPLETED"
    if case.queue is not None:
        found = take_messages(case.queue, case.match)
        assert len(found) == 1
        case.check(found[0][0])
    if case.notification is not None:
        assert case.notification() == "delivered"
    assert _send(hooks, case.valid).json()["recorded"] == 0  # a later redelivery too


def test_a_bitrix24_portal_pairs_with_the_tenant_of_its_connect_token(hooks: httpx.Client) -> None:
    tenant_id, member_id = new_id(), f"m{new_id().lower()}"
    connect = new_bitrix_connect_token(tenant_id)
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = hooks.post(
        f"/bitrix24?connect={connect}", content=_form("ONAPPINSTALL", member_id, "app-1"), headers=form_type
    )
    assert answer.status_code == 200
    portal = find_bitrix_portal(member_id)
    assert portal is not None
    assert (portal.tenant_id, portal.domain) == (tenant_id, "acme.bitrix24.com")
    assert "app-1" not in json.dumps(Table().get(route_pk(RouteKind.BITRIX_MEMBER, member_id), "ROUTE"), default=str)
    # The portal reinstalls (a new application token): only a fresh connect token of the same tenant re-pairs it.
    reinstall = _form("ONAPPINSTALL", member_id, "app-2")
    assert hooks.post("/bitrix24", content=reinstall, headers=form_type).status_code == 401
    other_tenant = new_bitrix_connect_token(new_id())
    assert hooks.post(f"/bitrix24?connect={other_tenant}", content=reinstall, headers=form_type).status_code == 401
    again = new_bitrix_connect_token(tenant_id)
    assert hooks.post(f"/bitrix24?connect={again}", content=reinstall, headers=form_type).status_code == 200
    events = take_messages(QueueKind.BITRIX24_OUTBOUND, lambda b: b.get("memberId") == member_id)
    assert [(b["event"], b["tenantId"], b["auth"]["access_token"]) for b, _ in events] == [
        ("ONAPPINSTALL", tenant_id, "b24-access")
    ] * 2


def test_stripe_events_of_no_tenant_are_acknowledged_and_dropped(hooks: httpx.Client) -> None:
    event_id = f"evt_{new_id()}"
    body = json.dumps(
        {"id": event_id, "object": "event", "type": "charge.refunded", "data": {"object": {"metadata": {}}}}
    ).encode()
    answer = hooks.post("/stripe", content=body, headers={"Stripe-Signature": stripe_signature(body)})
    assert answer.json() == {"received": True, "recorded": 0}
    assert receipt("stripe", event_id) is None


def test_email_for_an_address_of_no_tenant_is_acknowledged_and_dropped(hooks: httpx.Client) -> None:
    body = json.dumps({"messageId": "<x@y>", "from": "a@example.com", "to": ["nobody@inbound.btrix.test"]}).encode()
    webhook_id = f"msg_{new_id()}"
    answer = hooks.post("/email", content=body, headers=standard_webhook_headers(body, webhook_id))
    assert answer.json() == {"received": True, "recorded": 0}
    assert receipt("email", webhook_id) is None


def test_a_callback_for_btrix_own_twilio_account_is_verified_with_its_token(
    hooks: httpx.Client, tenant_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twilio.request_validator import RequestValidator

    from chalicelib.inbound import twilio

    platform_sid, platform_token = "AC" + "f" * 32, "0123456789abcdef" * 2
    # BTRIX's own account (the notifications' twilio secret): not provisioned locally, where SMS runs in outbox mode.
    monkeypatch.setattr(twilio, "_platform_account", lambda: (platform_sid, platform_token))
    sid = f"SM{new_id().lower()}"
    notification_id = sent_notification(tenant_id, "sms", "+5511988887777", "twilio", sid, sent_by=platform_sid)
    params = {"AccountSid": platform_sid, "MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    url = str(hooks.base_url).rstrip("/") + "/twilio"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    forged = RequestValidator("f" * 32).compute_signature(url, params)
    refused = hooks.post("/twilio", content=urlencode(params), headers={**headers, "X-Twilio-Signature": forged})
    assert refused.status_code == 401
    assert notification_status(tenant_id, notification_id) == "sent"
    signed = RequestValidator(platform_token).compute_signature(url, params)
    answer = hooks.post("/twilio", content=urlencode(params), headers={**headers, "X-Twilio-Signature": signed})
    assert answer.json()["recorded"] == 1
    assert notification_status(tenant_id, notification_id) == "failed"
