"""Notifications end to end over HTTP: workflow actions and ad hoc messages delivered through the fake providers,
with retries, the DLQ and its redrive, preferences, quiet hours, the WhatsApp 24-hour rule and templates."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.ids import new_id
from chalicelib.core.resources import (
    META_WHATSAPP_CREDENTIALS,
    TWILIO_CREDENTIALS,
    QueueKind,
    dlq_name,
    queue_url,
    secret_name,
)
from chalicelib.core.secrets import reset_secrets_cache
from chalicelib.notifications import delivery, queue_messages, redrive, service
from localdev.fakes import FakeProvider
from tests.support.commerce import create_customer, create_product
from tests.support.identity import Account, call, platform_operator, signup

Until = Callable[..., None]
_PLATFORM_NUMBER, _PLATFORM_TWILIO = "1098765432", "AC" + "0" * 32
_CREDENTIALS = {
    META_WHATSAPP_CREDENTIALS: {"accessToken": "meta-test-token", "phoneNumberId": _PLATFORM_NUMBER},
    TWILIO_CREDENTIALS: {
        "accountSid": _PLATFORM_TWILIO,
        "authToken": "twilio-test-token",
        "smsFrom": "+15005550006",
        "whatsappFrom": "+15005550006",
    },
}


@pytest.fixture(scope="module")
def fakes(stack: Any) -> Iterator[dict[str, FakeProvider]]:
    """The fake providers, the settings pointing at them, and provider credentials in Secrets Manager."""
    started = {kind: FakeProvider(kind, seed=7).start() for kind in ("twilio", "meta", "ses", "webpush")}
    patch = pytest.MonkeyPatch()
    patch.setenv("BTRIX_META_GRAPH_URL", started["meta"].url)
    patch.setenv("BTRIX_TWILIO_BASE_URL", started["twilio"].url)
    patch.setenv("BTRIX_SES_ENDPOINT_URL", started["ses"].url)
    patch.setenv("BTRIX_EMAIL_FROM", "shop@btrix.test")
    patch.setenv("BTRIX_NOTIFICATIONS_ALLOW_LOOPBACK", "true")
    patch.setenv("BTRIX_NOTIFICATION_RETRY_BASE_S", "0.5")
    patch.setenv("BTRIX_NOTIFICATION_RETRY_MAX_S", "2")
    get_settings.cache_clear()
    secrets = aws.secrets_manager()
    for secret, value in _CREDENTIALS.items():
        secrets.create_secret(Name=secret_name(secret), SecretString=json.dumps(value))
    reset_secrets_cache()
    try:
        yield started
    finally:
        for secret in _CREDENTIALS:
            secrets.delete_secret(SecretId=secret_name(secret), ForceDeleteWithoutRecovery=True)
        patch.undo()
        get_settings.cache_clear()
        reset_secrets_cache()
        for fake in started.values():
            fake.stop()


@pytest.fixture(scope="module")
def until(fakes: dict[str, FakeProvider]) -> Until:
    """Runs the table stream (events → bus → queues) and the app's queue consumers until ``condition()`` holds."""
    from app import app
    from functions.outbox_publisher import handler as publish
    from localdev.worker import QueueWorker, StreamWorker

    queues = QueueWorker(app, wait_seconds=0)
    stream = StreamWorker(publish, from_now=True)

    def run(condition: Callable[[], bool], timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "the notifications did not get there in time"
            busy = stream.poll_once() + queues.poll_once()
            if not busy:
                time.sleep(0.1)

    return run


@pytest.fixture(scope="module")
def shop(api: Any) -> Account:
    """A restaurant in pt-BR (its built-in flow: CONFIRMED sends order.confirmed to the customer on WhatsApp)."""
    admin, _ = signup(api, plan="corporativo", businessType="restaurant", locale="pt-BR", timeZone="America/Sao_Paulo")
    return admin


def _phone() -> str:
    return "+55119" + str(int(new_id()[-8:], 36) % 10**8).zfill(8)


def _notification(api: Any, account: Account, notification_id: str) -> dict[str, Any]:
    response = call(api, "GET", f"/notifications/{notification_id}", headers=account.headers())
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def _of_recipient(api: Any, account: Account, recipient: str) -> list[dict[str, Any]]:
    response = call(api, "GET", f"/notifications?recipient={recipient}&limit=100", headers=account.headers())
    assert response.status_code == 200, response.body
    return list(response.json_body["items"])


def _send(api: Any, account: Account, body: dict[str, Any]) -> dict[str, Any]:
    response = call(api, "POST", "/notifications", body, account.headers())
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def _configure(fake: FakeProvider, fail_rate: float) -> None:
    assert httpx.post(f"{fake.url}/_config", json={"failRate": fail_rate}).status_code == 200


def _settled(api: Any, account: Account, ids: list[str]) -> Callable[[], bool]:
    return lambda: all(_notification(api, account, i)["status"] in ("sent", "failed") for i in ids)


def test_an_order_confirmation_reaches_the_customer_in_their_locale_through_meta(
    api: Any, shop: Account, fakes: dict[str, FakeProvider], until: Until
) -> None:
    phone = _phone()
    customer = create_customer(api, shop, name="Lucía", phone=phone)
    prefs = call(
        api, "PUT", f"/customers/{customer['id']}/notification-preferences", {"locale": "es-ES"}, shop.headers()
    )
    assert prefs.status_code == 200, prefs.body
    service.record_inbound(shop.tenant_id, phone, datetime.now(UTC))  # she wrote to us: free text is allowed
    product = create_product(api, shop, kind="service", name="Paella")
    order = call(
        api,
        "POST",
        "/orders",
        {"customerId": customer["id"], "items": [{"productId": product["id"], "quantity": 2}]},
        shop.headers(),
    ).json_body
    moved = call(
        api,
        "POST",
        f"/orders/{order['id']}/transitions",
        {"to": "CONFIRMED", "version": order["version"]},
        shop.headers(),
    )
    assert moved.status_code == 200, moved.body

    def confirmed() -> list[dict[str, Any]]:
        found = _of_recipient(api, shop, f"customer:{customer['id']}")
        return [n for n in found if n["template"] == "order.confirmed" and n["status"] == "sent"]

    until(lambda: bool(confirmed()))
    [notification] = confirmed()
    assert notification["locale"] == "es-ES"
    assert notification["provider"] == "meta"
    assert notification["body"].startswith(f"Hola Lucía, tu pedido #{order['number']} en Test Company está confirmado.")
    received = [r for r in fakes["meta"].accepted() if r["messageId"] == notification["providerMessageId"]]
    assert len(received) == 1
    assert received[0]["body"]["type"] == "text"
    assert received[0]["body"]["to"] == phone.lstrip("+")
    assert received[0]["body"]["text"]["body"] == notification["body"]


def test_outside_the_24_hour_window_the_approved_template_goes_instead_of_text(
    api: Any, shop: Account, fakes: dict[str, FakeProvider], until: Until
) -> None:
    phone = _phone()
    customer = create_customer(api, shop, name="Bruno", phone=phone)
    body = {
        "channel": "whatsapp",
        "customerId": customer["id"],
        "template": "auth.verification_code",
        "variables": {"code": "482913"},
        "urgent": True,
    }
    outside = _send(api, shop, body)
    until(_settled(api, shop, [outside["id"]]))
    service.record_inbound(shop.tenant_id, phone, datetime.now(UTC) - timedelta(minutes=5))
    inside = _send(api, shop, body)
    until(_settled(api, shop, [inside["id"]]))

    by_id = {r["messageId"]: r["body"] for r in fakes["meta"].accepted()}
    sent_outside = by_id[_notification(api, shop, outside["id"])["providerMessageId"]]
    assert sent_outside["type"] == "template"
    assert sent_outside["template"]["name"] == "auth_verification_code"
    assert sent_outside["template"]["language"] == {"code": "pt_BR"}
    assert sent_outside["template"]["components"][0]["parameters"] == [{"type": "text", "text": "482913"}]
    sent_inside = by_id[_notification(api, shop, inside["id"])["providerMessageId"]]
    assert sent_inside["type"] == "text"
    assert "482913" in sent_inside["text"]["body"]
    # The code is a credential: the API never shows it.
    shown = _notification(api, shop, inside["id"])
    assert shown["variables"]["code"] == "[redacted]"
    assert "482913" not in shown["body"]


def test_with_a_provider_failing_30_percent_every_message_ends_sent_once_or_failed_in_the_dlq(
    api: Any, shop: Account, fakes: dict[str, FakeProvider], until: Until
) -> None:
    twilio = fakes["twilio"]
    _configure(twilio, 0.3)
    try:
        numbers = [f"+5521{900000000 + i + int(new_id()[-4:], 36) % 1000 * 100:09d}" for i in range(50)]
        created = [
            _send(api, shop, {"channel": "sms", "address": n, "text": f"Mensagem {i}", "urgent": True})
            for i, n in enumerate(numbers)
        ]
        ids = [c["id"] for c in created]
        until(_settled(api, shop, ids), timeout_s=180)
    finally:
        _configure(twilio, 0.0)
    final = {i: _notification(api, shop, i) for i in ids}
    accepted = [r for r in twilio.accepted() if r["body"].get("To") in set(numbers)]
    sent = [n for n in final.values() if n["status"] == "sent"]
    failed = [n for n in final.values() if n["status"] == "failed"]
    assert len(sent) + len(failed) == 50  # none lost
    assert len(accepted) == len(sent)  # none sent twice
    assert sorted(r["messageId"] for r in accepted) == sorted(n["providerMessageId"] for n in sent)
    refused = [r for r in twilio.received if r["body"].get("To") in set(numbers) and r["status"] >= 500]
    assert refused, "the fake refused some requests, so some messages were retried"
    assert any(n["attempts"] > 1 for n in sent)
    for notification in failed:
        assert notification["attempts"] == delivery.MAX_ATTEMPTS
        assert "Twilio 503" in notification["lastError"]


def _dlq_notification_ids() -> set[str]:
    sqs = aws.sqs()
    url = queue_url(dlq_name(QueueKind.NOTIFICATIONS))
    found: set[str] = set()
    for _ in range(5):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
            "Messages", []
        ):
            body = json.loads(message["Body"])
            if body.get("detail-type") == "notification.requested":
                found.add(str(body["detail"]["data"]["notificationId"]))
    return found


@pytest.mark.parametrize("redriven_by", ["command", "operator"])
def test_a_message_failing_every_attempt_lands_in_the_dlq_and_the_redrive_sends_it(
    api: Any, shop: Account, fakes: dict[str, FakeProvider], until: Until, redriven_by: str
) -> None:
    ses = fakes["ses"]
    address = f"ana-{redriven_by}@example.com"
    _configure(ses, 1.0)
    try:
        created = _send(
            api,
            shop,
            {"channel": "email", "address": address, "subject": "Oi", "text": "Seu pedido", "urgent": True},
        )
        until(_settled(api, shop, [created["id"]]))
        until(lambda: created["id"] in _dlq_notification_ids())
    finally:
        _configure(ses, 0.0)
    failed = _notification(api, shop, created["id"])
    assert failed["status"] == "failed"
    assert failed["attempts"] == delivery.MAX_ATTEMPTS
    assert "SES" in failed["lastError"]
    assert not [r for r in ses.accepted() if r["body"]["Destination"]["ToAddresses"] == [address]]

    if redriven_by == "command":
        assert redrive.redrive() >= 1
    else:  # the platform operator's route, through the restart app.py registers
        operator = platform_operator(api)
        listed = call(api, "GET", "/platform/queues", None, operator.headers()).json_body["items"]
        assert next(q for q in listed if q["queue"] == "notifications")["dead"] >= 1
        moved = call(api, "POST", "/platform/queues/notifications/redrive", {"limit": 1000}, operator.headers())
        assert moved.status_code == 200, moved.json_body
        assert moved.json_body["moved"] >= 1
    until(lambda: _notification(api, shop, created["id"])["status"] == "sent")
    sent = _notification(api, shop, created["id"])
    [email] = [r for r in ses.accepted() if r["messageId"] == sent["providerMessageId"]]
    assert email["body"]["Content"]["Simple"]["Body"]["Text"]["Data"] == "Seu pedido"
    assert email["body"]["FromEmailAddress"] == "shop@btrix.test"


def test_a_customer_who_opted_out_of_a_channel_gets_nothing_on_it(
    api: Any, shop: Account, fakes: dict[str, FakeProvider], until: Until
) -> None:
    phone = _phone()
    customer = create_customer(api, shop, name="Caio", phone=phone)
    put = call(api, "PUT", f"/customers/{customer['id']}/notification-preferences", {"optOut": ["sms"]}, shop.headers())
    assert put.status_code == 200
    assert put.json_body["optOut"] == ["sms"]
    read = call(api, "GET", f"/customers/{customer['id']}/notification-preferences", None, shop.headers())
    assert read.status_code == 200
    assert (read.json_body["optOut"], read.json_body["updatedAt"]) == (["sms"], put.json_body["updatedAt"])
    created = _send(api, shop, {"channel": "sms", "customerId": customer["id"], "text": "Promo", "urgent": True})
    until(_settled(api, shop, [created["id"]]))
    result = _notification(api, shop, created["id"])
    assert result["status"] == "failed"
    assert result["lastError"].startswith("opted out")
    assert not [r for r in fakes["twilio"].received if r["body"].get("To") == phone]


def test_marketing_needs_the_customers_consent(api: Any, shop: Account, until: Until) -> None:
    customer = create_customer(api, shop, name="Dora", email=f"dora-{new_id().lower()}@example.com")
    body = {
        "channel": "email",
        "customerId": customer["id"],
        "subject": "Promo",
        "text": "20% off",
        "category": "marketing",
        "urgent": True,
    }
    created = _send(api, shop, body)
    until(_settled(api, shop, [created["id"]]))
    assert _notification(api, shop, created["id"])["lastError"] == "opted out: no marketing consent for email"


def test_consents_recorded_for_the_customer_decide_marketing_and_transactional_messages(
    api: Any, shop: Account, fakes: dict[str, FakeProvider], until: Until
) -> None:
    email = f"eva-{new_id().lower()}@example.com"
    customer = create_customer(api, shop, name="Eva", email=email, consents={"email": True})
    consents = f"/customers/{customer['id']}/consents"
    body = {"channel": "email", "customerId": customer["id"], "subject": "Hi", "text": "Hello", "urgent": True}
    sent = _send(api, shop, {**body, "category": "marketing"})
    withdrawn = {"purpose": "marketing", "granted": False, "method": "whatsapp_keyword", "evidence": "PARAR"}
    until(_settled(api, shop, [sent["id"]]))
    assert call(api, "POST", consents, withdrawn, shop.headers()).status_code == 200
    stopped = _send(api, shop, {**body, "category": "marketing"})
    assert (
        call(api, "POST", consents, {"purpose": "transactional", "granted": False}, shop.headers()).status_code == 200
    )
    refused = _send(api, shop, {**body, "category": "transactional"})
    until(_settled(api, shop, [stopped["id"], refused["id"]]))
    assert _notification(api, shop, sent["id"])["status"] == "sent"
    assert _notification(api, shop, stopped["id"])["lastError"] == "opted out: no marketing consent for email"
    assert _notification(api, shop, refused["id"])["lastError"] == "opted out: no transactional consent for email"
    preferences = call(api, "GET", f"/customers/{customer['id']}/notification-preferences", None, shop.headers())
    assert preferences.json_body["marketing"] == {"email": False, "sms": False, "whatsapp": False}


def test_quiet_hours_delay_non_urgent_messages_and_let_urgent_ones_through(
    api: Any, fakes: dict[str, FakeProvider], until: Until
) -> None:
    tenant, _ = signup(api, plan="corporativo", timeZone="America/Sao_Paulo")
    local = datetime.now(ZoneInfo("America/Sao_Paulo"))
    start, end = (local - timedelta(hours=1)).strftime("%H:%M"), (local + timedelta(hours=2)).strftime("%H:%M")
    settings = call(
        api, "PUT", "/notification-settings", {"quietHours": {"start": start, "end": end}}, tenant.headers()
    )
    assert settings.status_code == 200, settings.body
    later = _send(api, tenant, {"channel": "sms", "address": "+5511911112222", "text": "Amanhã tem promoção"})
    now = _send(api, tenant, {"channel": "sms", "address": "+5511933334444", "text": "Seu código", "urgent": True})
    until(lambda: _notification(api, tenant, later["id"]).get("scheduledFor") is not None)
    until(_settled(api, tenant, [now["id"]]))
    waiting = _notification(api, tenant, later["id"])
    assert waiting["status"] == "queued"
    scheduled = datetime.fromisoformat(waiting["scheduledFor"].replace("Z", "+00:00"))
    assert timedelta(hours=1, minutes=55) < scheduled - datetime.now(UTC) <= timedelta(hours=2, minutes=1)
    assert not [r for r in fakes["twilio"].received if r["body"].get("To") == "+5511911112222"]
    assert _notification(api, tenant, now["id"])["status"] == "sent"


def test_a_template_using_an_undeclared_variable_is_refused_naming_it(api: Any, shop: Account) -> None:
    body = {
        "channel": "sms",
        "locale": "pt-BR",
        "body": "Olá {{ customerName }}, seu cupom {{ coupon }}",
        "variables": [{"name": "customerName"}],
    }
    response = call(api, "PUT", "/notification-templates/order.confirmed", body, shop.headers())
    assert response.status_code == 422
    [error] = response.json_body["errors"]
    assert error.get("loc", True)
    assert "coupon" in json.dumps(response.json_body)
    broken = call(api, "PUT", "/notification-templates/order.confirmed", {**body, "body": "{{ oops"}, shop.headers())
    assert broken.status_code == 422
    assert "syntax" in json.dumps(broken.json_body)


def test_a_tenant_template_replaces_the_default_and_a_missing_variable_fails_the_message(
    api: Any, shop: Account, fakes: dict[str, FakeProvider], until: Until
) -> None:
    body = {
        "channel": "sms",
        "locale": "pt-BR",
        "body": "Oi {{ customerName }}! Cupom: {{ coupon }}",
        "variables": [{"name": "customerName"}, {"name": "coupon"}],
        "category": "marketing",
    }
    stored = call(api, "PUT", "/notification-templates/promo.coupon", body, shop.headers())
    assert stored.status_code == 200, stored.body
    listed = call(api, "GET", "/notification-templates?limit=100", headers=shop.headers()).json_body["items"]
    [promo] = [t for t in listed if t["key"] == "promo.coupon"]
    assert promo["variants"][0]["source"] == "tenant"
    assert {t["key"] for t in listed} >= {"order.confirmed", "appointment.reminder_24h", "user.invitation"}

    ok = _send(
        api,
        shop,
        {
            "channel": "sms",
            "address": "+5511955556666",
            "template": "promo.coupon",
            "variables": {"customerName": "Eva", "coupon": "BTX10"},
            "urgent": True,
        },
    )
    missing = _send(
        api,
        shop,
        {
            "channel": "sms",
            "address": "+5511977778888",
            "template": "promo.coupon",
            "variables": {"customerName": "Eva"},
            "urgent": True,
        },
    )
    until(_settled(api, shop, [ok["id"], missing["id"]]))
    assert _notification(api, shop, ok["id"])["body"] == "Oi Eva! Cupom: BTX10"
    failed = _notification(api, shop, missing["id"])
    assert failed["status"] == "failed"
    assert "missing variable(s): coupon" in failed["lastError"]
    unknown = call(
        api,
        "POST",
        "/notifications",
        {"channel": "sms", "address": "+5511900000000", "template": "promo.coupon", "variables": {"x": 1}},
        shop.headers(),
    )
    assert unknown.status_code == 422
    assert "x" in json.dumps(unknown.json_body)


def test_provider_status_reports_move_a_message_forward_only(
    api: Any, shop: Account, fakes: dict[str, FakeProvider], until: Until
) -> None:
    phone = _phone()
    service.record_inbound(shop.tenant_id, phone, datetime.now(UTC))
    created = _send(api, shop, {"channel": "whatsapp", "address": phone, "text": "Chegou!", "urgent": True})
    until(_settled(api, shop, [created["id"]]))
    wamid = _notification(api, shop, created["id"])["providerMessageId"]
    number = _PLATFORM_NUMBER  # the report comes for the number that sent the message
    assert service.apply_status("meta", wamid, "delivered", sent_by=number) is True
    assert _notification(api, shop, created["id"])["status"] == "delivered"
    assert service.apply_status("meta", wamid, "delivered", sent_by=number) is False  # a duplicate changes nothing
    assert service.apply_status("meta", wamid, "read", sent_by=number) is True
    assert service.apply_status("meta", wamid, "delivered", sent_by=number) is False  # late: read is further along
    read = _notification(api, shop, created["id"])
    assert read["status"] == "read"
    assert read["readAt"]
    assert read["deliveredAt"]
    assert service.apply_status("meta", "wamid.unknown", "read", sent_by=number) is False


def test_a_failed_notification_can_be_retried_and_others_cannot(
    api: Any, shop: Account, fakes: dict[str, FakeProvider], until: Until
) -> None:
    customer = create_customer(api, shop, name="Flora")  # no phone: the SMS fails at once
    created = _send(api, shop, {"channel": "sms", "customerId": customer["id"], "text": "Oi", "urgent": True})
    until(_settled(api, shop, [created["id"]]))
    assert _notification(api, shop, created["id"])["lastError"] == "the recipient has no address for sms"
    retried = call(api, "POST", f"/notifications/{created['id']}/retry", None, shop.headers())
    assert retried.status_code == 200
    assert retried.json_body["status"] == "queued"
    again = call(api, "POST", f"/notifications/{created['id']}/retry", None, shop.headers())
    assert again.status_code == 409


def test_a_redelivered_workflow_action_creates_its_notification_once(shop: Account) -> None:
    action = {
        "source": "workflow",
        "action": "notify",
        "tenantId": shop.tenant_id,
        "entityType": "order",
        "entityId": new_id(),
        "status": "CONFIRMED",
        "executionId": f"arn:exec:{new_id()}",
        "state": "CONFIRMED.OnEnter.1",
        "enteredAt": "2026-01-01T12:00:00.000Z",
        "template": "order.confirmed",
        "channel": "whatsapp",
        "to": "customer",
    }
    body = json.dumps(action)
    # The entity does not exist: nothing is created, every time.
    assert queue_messages.job_notification_ids(body) == (shop.tenant_id, [])
    assert queue_messages.job_notification_ids(body) == (shop.tenant_id, [])


def test_lists_are_narrowed_by_status_channel_and_time(api: Any, fakes: dict[str, FakeProvider], until: Until) -> None:
    tenant, _ = signup(api, plan="corporativo")
    sms = _send(api, tenant, {"channel": "sms", "address": "+5511922223333", "text": "A", "urgent": True})
    email = _send(
        api, tenant, {"channel": "email", "address": "b@example.com", "subject": "B", "text": "B", "urgent": True}
    )
    until(_settled(api, tenant, [sms["id"], email["id"]]))

    def ids(query: str) -> list[str]:
        response = call(api, "GET", f"/notifications?{query}", headers=tenant.headers())
        assert response.status_code == 200, response.body
        return [n["id"] for n in response.json_body["items"]]

    assert ids("channel=sms") == [sms["id"]]
    assert set(ids("status=sent")) == {sms["id"], email["id"]}
    assert ids("recipient=b@example.com") == [email["id"]]
    assert ids("status=sent&limit=1") in ([sms["id"]], [email["id"]])
    assert ids("from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z") == []
    both = call(api, "GET", "/notifications?status=sent&channel=sms", headers=tenant.headers())
    assert both.status_code == 422


def test_a_tenant_with_its_own_whatsapp_number_notifies_from_it(
    api: Any, fakes: dict[str, FakeProvider], until: Until
) -> None:
    from tests.integration.channels.conftest import connect_number

    tenant, _ = signup(api, plan="corporativo")
    number = connect_number(api, tenant, accessToken="EAAG-own-number-token-0123456789")
    phone = _phone()
    service.record_inbound(tenant.tenant_id, phone, datetime.now(UTC))
    fakes["meta"].accept_tokens = {"EAAG-own-number-token-0123456789"}  # BTRIX's own token would be refused
    try:
        body = {"channel": "whatsapp", "address": phone, "text": "Seu pedido saiu", "urgent": True}
        created = _send(api, tenant, body)
        until(_settled(api, tenant, [created["id"]]))
    finally:
        fakes["meta"].accept_tokens = None

    sent = _notification(api, tenant, created["id"])
    assert sent["status"] == "sent", sent
    [request] = [r for r in fakes["meta"].accepted() if r["messageId"] == sent["providerMessageId"]]
    assert request["path"].endswith(f"/{number['phoneNumberId']}/messages")
    assert request["body"]["text"]["body"] == "Seu pedido saiu"


def test_a_tenant_with_its_own_twilio_account_texts_from_it_and_hears_its_status_callbacks(
    api: Any, fakes: dict[str, FakeProvider], until: Until, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = {"accountSid": "AC" + "7" * 32, "authToken": "0123456789abcdef" * 2, "smsFrom": "+15557770000"}
    tenant, _ = signup(api, plan="corporativo")
    connected = call(api, "PUT", "/integrations/twilio", {"credentials": own}, tenant.headers())
    assert connected.status_code == 200, connected.body
    monkeypatch.setenv("BTRIX_TWILIO_STATUS_CALLBACK_URL", "https://hooks.btrix.test/hooks/twilio")
    get_settings.cache_clear()
    try:
        created = _send(api, tenant, {"channel": "sms", "address": "+5511933334444", "text": "Oi", "urgent": True})
        until(_settled(api, tenant, [created["id"]]))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    sent = _notification(api, tenant, created["id"])
    assert sent["status"] == "sent", sent
    [request] = [r for r in fakes["twilio"].accepted() if r["messageId"] == sent["providerMessageId"]]
    assert f"/Accounts/{own['accountSid']}/" in request["path"]
    assert request["body"]["From"] == own["smsFrom"]
    assert request["body"]["StatusCallback"] == f"https://hooks.btrix.test/hooks/twilio?tenant={tenant.tenant_id}"


def test_a_status_report_counts_only_from_the_account_that_sent_the_message(
    api: Any, shop: Account, fakes: dict[str, FakeProvider], until: Until
) -> None:
    own = {"accountSid": "AC" + "8" * 32, "authToken": "fedcba9876543210" * 2, "smsFrom": "+15557770001"}
    tenant, _ = signup(api, plan="corporativo")
    connected = call(api, "PUT", "/integrations/twilio", {"credentials": own}, tenant.headers())
    assert connected.status_code == 200, connected.body
    theirs = _send(api, tenant, {"channel": "sms", "address": "+5511933335555", "text": "Oi", "urgent": True})
    ours = _send(api, shop, {"channel": "sms", "address": "+5511933336666", "text": "Oi", "urgent": True})
    until(_settled(api, tenant, [theirs["id"]]))
    until(_settled(api, shop, [ours["id"]]))
    their_sid = _notification(api, tenant, theirs["id"])["providerMessageId"]
    our_sid = _notification(api, shop, ours["id"])["providerMessageId"]

    # BTRIX's account did not send the tenant's message, nor the tenant's account BTRIX's.
    assert service.apply_status("twilio", their_sid, "failed", "30005", sent_by=_PLATFORM_TWILIO) is False
    assert service.apply_status("twilio", our_sid, "failed", "30005", sent_by=own["accountSid"]) is False
    assert _notification(api, tenant, theirs["id"])["status"] == "sent"
    assert _notification(api, shop, ours["id"])["status"] == "sent"
    owner = {"sent_by": own["accountSid"], "tenant_id": tenant.tenant_id}
    assert service.apply_status("twilio", their_sid, "delivered", **owner) is True
    assert service.apply_status("twilio", our_sid, "delivered", sent_by=_PLATFORM_TWILIO) is True
    assert _notification(api, tenant, theirs["id"])["status"] == "delivered"
    assert _notification(api, shop, ours["id"])["status"] == "delivered"


def test_a_user_gets_a_push_on_the_browser_they_subscribed(
    api: Any, shop: Account, fakes: dict[str, FakeProvider], until: Until
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    browser = ec.generate_private_key(ec.SECP256R1()).public_key()
    keys = {
        "p256dh": b64(browser.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)),
        "auth": b64(os.urandom(16)),
    }
    path = f"/push/{new_id().lower()}"
    subscribed = call(
        api, "POST", "/push-subscriptions", {"endpoint": fakes["webpush"].url + path, "keys": keys}, shop.headers()
    )
    assert subscribed.status_code == 201, subscribed.body
    assert set(subscribed.json_body) == {"id", "endpoint", "createdAt"}  # the browser's keys are never shown
    created = _send(api, shop, {"channel": "push", "userId": shop.user_id, "text": "Mesa 4 pronta", "urgent": True})
    until(_settled(api, shop, [created["id"]]))
    assert _notification(api, shop, created["id"])["status"] == "sent"
    [pushed] = [r for r in fakes["webpush"].accepted() if r["path"] == path]
    assert pushed["body"]["bytes"] > len("Mesa 4 pronta")  # encrypted for the subscription's keys (aes128gcm)


_LOCALES = [
    ("pt-BR", "BRL", "America/Sao_Paulo", "R$ 1.234,56", "6 de dez. de 2026 10:30"),
    ("en-US", "USD", "America/New_York", "$1,234.56", "Dec 6, 2026, 8:30 AM"),
    ("es-ES", "EUR", "Europe/Madrid", "1.234,56 €", "6 dic 2026, 14:30"),
    ("da-DK", "DKK", "Europe/Copenhagen", "1.234,56 kr.", "6. dec. 2026 14.30"),
]


def test_money_and_moments_in_messages_read_in_the_locale_and_the_tenants_time_zone(api: Any, until: Until) -> None:
    from decimal import Decimal

    from chalicelib.core.db.store import Table
    from chalicelib.core.formatting import moment_value, money_value
    from chalicelib.core.money import Money
    from chalicelib.notifications.outbox import request_message_ops

    expected: dict[str, tuple[Account, str, str]] = {}
    for locale, currency, zone, amount, moment in _LOCALES:
        tenant, _ = signup(api, locale=locale, currency=currency, timeZone=zone)
        variables = {
            "planName": "Corporativo",
            "amount": money_value(Money(amount=Decimal("1234.56"), currency=currency)),
            "graceUntil": moment_value("2026-12-06T13:30:00Z"),
        }
        Table().transact(
            request_message_ops(tenant.tenant_id, "email", "role:ADMIN", "billing.payment_failed", locale, variables)
        )
        expected[locale] = (tenant, amount, moment)

    def sent(account: Account) -> list[dict[str, Any]]:
        found = call(api, "GET", "/notifications?limit=10", headers=account.headers()).json_body["items"]
        mine = [n for n in found if n["template"] == "billing.payment_failed" and n["recipientKind"] == "user"]
        return [n for n in mine if n["status"] == "sent"]

    until(lambda: all(sent(account) for account, _, _ in expected.values()))
    for locale, (account, amount, moment) in expected.items():
        [listed] = sent(account)
        message = _notification(api, account, listed["id"])
        body = message["body"].replace("\xa0", " ").replace("\u202f", " ")
        assert amount in body, (locale, body)
        assert moment in body, (locale, body)
