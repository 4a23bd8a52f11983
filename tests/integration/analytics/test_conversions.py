"""Server-side conversions on the local stack: an order placed through the API goes through the table stream, the
bus rule and the integrations queue to the fake GA4 Measurement Protocol and the fake Meta Conversions API, once,
hashed, only with the customer's marketing consent; each provider retried on its own; the debug validation."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app import app
from chalicelib.core import aws
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.ids import new_id
from chalicelib.core.resources import QueueKind, queue_name, queue_url
from chalicelib.integrations import jobs, store
from chalicelib.integrations.credentials import Provider
from functions.outbox_publisher import handler as publish
from localdev.fake_ga4 import FakeGa4
from localdev.fakes import FakeProvider
from localdev.stack import free_port
from localdev.worker import QueueWorker, StreamWorker
from tests.support.commerce import create_customer, stocked_product
from tests.support.environment import settings_from
from tests.support.identity import call, signup
from tests.support.inbound_hooks import take_messages

MEASUREMENT_ID = "G-CONVTEST1"
API_SECRET = "mp-secret-for-tests"
EMAIL, PHONE = " Joana.Souza@Example.com ", "+5511987650202"
ADDRESS = {"street": "Rua Augusta", "city": "São Paulo", "state": "SP", "postalCode": "01304-001", "country": "BR"}


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture(scope="module")
def fakes(stack: Any) -> Iterator[tuple[FakeGa4, FakeProvider]]:
    """The fake GA4 and the fake Meta Graph API, with BTRIX's settings pointed at them and retries without waiting."""
    ga4 = FakeGa4(free_port(), seed=5).start()
    meta = FakeProvider("meta", free_port(), seed=5).start()
    ga4.add_stream(MEASUREMENT_ID, API_SECRET)
    env = {
        **ga4.settings_env(),
        "BTRIX_META_GRAPH_URL": meta.url,
        "BTRIX_INTEGRATION_RETRY_BASE_S": "0",
        "BTRIX_INTEGRATION_RETRY_MAX_S": "0",
    }
    try:
        with settings_from(env):
            yield ga4, meta
    finally:
        ga4.stop()
        meta.stop()


@pytest.fixture(scope="module")
def deliver(fakes: tuple[FakeGa4, FakeProvider]) -> Iterator[Callable[..., None]]:
    """What Lambda's event sources do, until ``condition()``: table stream → publisher → bus → queues → consumers;
    at the end of the module, until the queues are empty."""
    stream = StreamWorker(publish, from_now=True)
    queues = QueueWorker(app, wait_seconds=0)

    def step() -> bool:
        return bool(stream.poll_once()) | bool(queues.poll_once())

    def until(condition: Callable[[], bool], timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "the conversion did not get there in time"
            if not step():
                time.sleep(0.1)

    yield until
    idle = 0
    while idle < 3:
        idle = 0 if step() else idle + 1


class Shop:
    """A tenant connected to GA4 and to its own Pixel, with a product."""

    def __init__(self, api: Any, meta: FakeProvider, *, token_ok: bool = True) -> None:
        self.api = api
        self.admin, _ = signup(api)
        self.pixel = str(10**12 + int(new_id(), 36) % 10**12)
        self.token = f"EAAB-pixel-{new_id()}"
        meta.capi.add_pixel(self.pixel, self.token, "Pizzaria Pixel")
        self.connect("ga4", {"measurementId": MEASUREMENT_ID, "apiSecret": API_SECRET})
        token = self.token if token_ok else "EAAB-revoked-token-0123456789"
        self.connect("meta_capi", {"pixelId": self.pixel, "accessToken": token})
        self.product = stocked_product(api, self.admin, 10, price={"amount": "42.50", "currency": "BRL"})

    def connect(self, provider: str, credentials: dict[str, Any]) -> None:
        answer = call(self.api, "PUT", f"/integrations/{provider}", {"credentials": credentials}, self.admin.headers())
        assert answer.status_code == 200, answer.body

    def customer(self, *, consent: bool) -> dict[str, Any]:
        fields = {"consents": {"marketing": True}} if consent else {}
        return create_customer(self.api, self.admin, email=EMAIL, phone=PHONE, address=ADDRESS, **fields)

    def order(self, customer: dict[str, Any], channel: str = "whatsapp") -> dict[str, Any]:
        body = {
            "customerId": customer["id"],
            "channel": channel,
            "items": [{"productId": self.product["id"], "quantity": 1}],
        }
        answer = call(self.api, "POST", "/orders", body, self.admin.headers())
        assert answer.status_code == 201, answer.body
        return dict(answer.json_body)

    def logs(self, provider: Provider) -> list[Any]:
        with tenant_scope(self.admin.tenant_id):
            entries, _ = store.list_sync_logs(self.admin.tenant_id, provider, 20, None)
        return [e for e in entries if e.operation == "conversion"]


def _ga4_hits(ga4: FakeGa4, customer: dict[str, Any]) -> list[dict[str, Any]]:
    return [hit for hit in ga4.hits(MEASUREMENT_ID) if hit["userId"] == customer["id"]]


def _event_posts(meta: FakeProvider, shop: Shop) -> list[dict[str, Any]]:
    return [r for r in meta.received if r["path"].endswith(f"/{shop.pixel}/events")]


def test_an_order_of_a_consenting_customer_reaches_ga4_and_meta_hashed(
    api: Any, fakes: tuple[FakeGa4, FakeProvider], deliver: Callable[..., None]
) -> None:
    ga4, meta = fakes
    shop = Shop(api, meta)
    customer = shop.customer(consent=True)
    order = shop.order(customer)
    deliver(lambda: bool(_ga4_hits(ga4, customer)) and bool(meta.capi.events(shop.pixel)))
    [hit] = _ga4_hits(ga4, customer)
    assert hit["name"] == "begin_checkout"
    assert hit["params"]["transaction_id"] == order["id"]
    assert (hit["params"]["currency"], hit["params"]["value"]) == ("BRL", 42.5)
    assert hit["consent"] == {"ad_user_data": "GRANTED", "ad_personalization": "GRANTED"}
    assert customer["id"] not in hit["clientId"]
    [event] = meta.capi.events(shop.pixel)
    assert event["event_name"] == "InitiateCheckout"
    assert event["event_id"] == hit["params"]["btrix_event_id"]  # the BTRIX event id: Meta dedups on it
    assert event["action_source"] == "chat"
    assert event["custom_data"] == {"currency": "BRL", "value": 42.5, "order_id": order["id"]}
    user = event["user_data"]
    assert user["em"] == _sha("joana.souza@example.com")
    assert user["ph"] == _sha("5511987650202")
    assert (user["fn"], user["ln"], user["ct"], user["zp"]) == (
        _sha("maria"),
        _sha("souza"),
        _sha("sãopaulo"),
        _sha("01304001"),
    )
    sent = json.dumps([r["body"] for r in _event_posts(meta, shop)], ensure_ascii=False)
    assert "joana" not in sent.lower()
    assert "98765" not in sent
    assert [e.detail for e in shop.logs(Provider.GA4)] == [f"begin_checkout sent for order.created {event['event_id']}"]
    assert "InitiateCheckout sent" in str(shop.logs(Provider.META_CAPI)[0].detail)


def test_without_marketing_consent_nothing_is_sent_and_the_log_says_why(
    api: Any, fakes: tuple[FakeGa4, FakeProvider], deliver: Callable[..., None]
) -> None:
    ga4, meta = fakes
    shop = Shop(api, meta)
    customer = shop.customer(consent=False)
    shop.order(customer)
    deliver(lambda: bool(shop.logs(Provider.GA4)) and bool(shop.logs(Provider.META_CAPI)))
    assert _ga4_hits(ga4, customer) == []
    assert _event_posts(meta, shop) == []
    for provider in (Provider.GA4, Provider.META_CAPI):
        [entry] = shop.logs(provider)
        assert entry.ok is True
        assert f"customer {customer['id']} has no marketing consent" in str(entry.detail)


def _resend(hit: dict[str, Any], shop: Shop, customer: dict[str, Any]) -> None:
    """The bus delivering ``order.created`` again (at least once): the same event on the integrations queue."""
    detail = {
        "id": hit["params"]["btrix_event_id"],
        "type": "order.created",
        "tenantId": shop.admin.tenant_id,
        "occurredAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(hit["timestampMicros"] // 1_000_000)),
        "subject": hit["params"]["transaction_id"],
        "data": {
            "number": 1,
            "total": {"amount": "42.50", "currency": "BRL"},
            "channel": "whatsapp",
            "customerId": customer["id"],
        },
    }
    envelope = {"version": "0", "id": new_id(), "detail-type": "order.created", "source": "btrix", "detail": detail}
    aws.sqs().send_message(QueueUrl=queue_url(queue_name(QueueKind.INTEGRATIONS)), MessageBody=json.dumps(envelope))


def test_an_event_delivered_twice_is_sent_once(
    api: Any, fakes: tuple[FakeGa4, FakeProvider], deliver: Callable[..., None]
) -> None:
    ga4, meta = fakes
    shop = Shop(api, meta)
    customer = shop.customer(consent=True)
    shop.order(customer)
    deliver(lambda: bool(_ga4_hits(ga4, customer)) and bool(_event_posts(meta, shop)))
    _resend(_ga4_hits(ga4, customer)[0], shop, customer)
    deliver(lambda: not _integrations_busy())
    assert len(_ga4_hits(ga4, customer)) == 1
    assert len(_event_posts(meta, shop)) == 1
    assert len(meta.capi.events(shop.pixel)) == 1


def _integrations_busy() -> bool:
    attributes = aws.sqs().get_queue_attributes(
        QueueUrl=queue_url(queue_name(QueueKind.INTEGRATIONS)),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return any(int(v) for v in attributes.values())


def test_a_meta_rate_limit_is_retried_alone_until_it_passes(
    api: Any, fakes: tuple[FakeGa4, FakeProvider], deliver: Callable[..., None]
) -> None:
    ga4, meta = fakes
    shop = Shop(api, meta)
    customer = shop.customer(consent=True)
    meta.capi.throttle(2)  # Graph's call limit (code 4) on the next two event posts
    shop.order(customer)
    deliver(lambda: bool(meta.capi.events(shop.pixel)))
    posts = _event_posts(meta, shop)
    assert [p["status"] for p in posts] == [429, 429, 200]
    assert len(_ga4_hits(ga4, customer)) == 1  # GA4's job was done at the first try: not sent again


def test_a_refused_token_dead_letters_meta_alone_and_shows_failing(
    api: Any, fakes: tuple[FakeGa4, FakeProvider], deliver: Callable[..., None]
) -> None:
    ga4, meta = fakes
    shop = Shop(api, meta, token_ok=False)
    customer = shop.customer(consent=True)
    shop.order(customer)
    dead: list[dict[str, Any]] = []

    def dead_letter() -> bool:
        tenant = shop.admin.tenant_id
        taken = take_messages(
            QueueKind.INTEGRATIONS, lambda b: b.get("detail", {}).get("tenantId") == tenant, dead=True
        )
        dead.extend(body for body, _ in taken)
        return bool(dead)

    deliver(lambda: bool(_ga4_hits(ga4, customer)) and dead_letter())
    assert [letter[jobs.HANDLER_FIELD] for letter in dead] == ["chalicelib.analytics.conversions.to_meta"]
    listed = call(api, "GET", "/integrations", headers=shop.admin.headers()).json_body["items"]
    shown = {i["provider"]: i for i in listed}
    assert shown["meta_capi"]["status"] == "failing"
    assert "190" in shown["meta_capi"]["lastError"]["message"]
    assert shown["ga4"]["status"] == "connected"


def test_the_connection_tests_validate_through_the_debug_endpoints(
    api: Any, fakes: tuple[FakeGa4, FakeProvider]
) -> None:
    ga4, meta = fakes
    shop = Shop(api, meta)
    before = len(ga4.hits())
    checked = call(api, "POST", "/integrations/ga4/test", headers=shop.admin.headers()).json_body
    assert checked["ok"] is True, checked
    assert checked["account"].startswith(MEASUREMENT_ID)
    assert len(ga4.hits()) == before  # the validation server records nothing
    shop.connect("meta_capi", {"pixelId": shop.pixel, "accessToken": shop.token, "testEventCode": "TEST4242"})
    checked = call(api, "POST", "/integrations/meta_capi/test", headers=shop.admin.headers()).json_body
    assert checked["ok"] is True, checked
    assert checked["account"] == f"Pizzaria Pixel ({shop.pixel}); test event received (TEST4242)"
    assert [e["testEventCode"] for e in meta.capi.events(shop.pixel, test=True)] == ["TEST4242"]
    assert meta.capi.events(shop.pixel) == []
    shop.connect("meta_capi", {"pixelId": shop.pixel, "accessToken": "EAAB-revoked-token-0123456789"})
    refused = call(api, "POST", "/integrations/meta_capi/test", headers=shop.admin.headers()).json_body
    assert refused["ok"] is False
    assert "190" in refused["detail"]
