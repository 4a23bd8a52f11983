"""A person's data export and erasure on the local stack: a customer who exists in every capability (customer,
consents, order with a payment link, sale, lead, a WhatsApp conversation relayed to Bitrix24 with a file they sent,
a notification; and, at the providers that came later, a MelhorEnvio label, a Pagar.me checkout, iFood orders) is
exported as a ZIP, then erased; afterwards a Scan of the whole table finds their name, email and phone nowhere (only
the pseudonym), and each connected processor's fake was asked to erase (or the erasure says it is manual, and why).
A user (staff member) likewise: exported, erased, their sessions ended, what they did kept under the pseudonym."""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from chalicelib.conversations import media
from chalicelib.core.db.store import Table
from chalicelib.core.ids import new_id
from chalicelib.customers import service as customers
from chalicelib.delivery import ifood as delivery_ifood
from chalicelib.delivery import service as delivery
from chalicelib.integrations import jobs
from chalicelib.integrations.billy import client as billy_client
from chalicelib.integrations.billy.credentials import BillyCredentials
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.google_calendar import client as google_client
from chalicelib.integrations.meta.client import Media
from chalicelib.integrations.tokens import with_google_token
from localdev.fake_billy import FakeBilly
from localdev.fake_google import FakeGoogle
from localdev.fake_ifood import FakeIFood
from localdev.fake_melhorenvio import FakeMelhorEnvio
from localdev.fake_pagarme import FakePagarme
from localdev.stack import free_port
from tests.integration.conversations.conftest import Fakes, connect, gateway_fakes, post_meta
from tests.integration.shipping.conftest import CUSTOMER_ADDRESS, buy, ready_shop, running_melhorenvio
from tests.support.commerce import create_customer, create_product
from tests.support.environment import settings_from
from tests.support.gateway import meta_message, meta_notification
from tests.support.identity import Account, call, signup
from tests.support.payments import (
    PaymentFakes,
    connect_mercadopago,
    connect_pagarme,
    connect_stripe,
    create_link,
    payments_of,
    running_fakes,
    running_pagarme,
)

Work = Callable[..., None]


@pytest.fixture(scope="module")
def fakes(stack: Any) -> Iterator[Fakes]:
    """Fake Meta and Bitrix24 (the gateway's)."""
    yield from gateway_fakes()


@pytest.fixture(scope="module")
def payments(stack: Any, hooks: httpx.Client) -> Iterator[PaymentFakes]:
    """Fake Stripe and MercadoPago."""
    yield from running_fakes(str(hooks.base_url).rstrip("/"))


@pytest.fixture(scope="module")
def billy(stack: Any) -> Iterator[FakeBilly]:
    """Fake Billy.dk."""
    fake = FakeBilly(seed=5).start()
    try:
        with settings_from({"BTRIX_BILLY_API_URL": fake.api_url}):
            yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="module")
def google(stack: Any) -> Iterator[FakeGoogle]:
    """Fake Google Calendar (a tenant's own OAuth client)."""
    fake = FakeGoogle(client_id="gc-client", client_secret="gc-secret", seed=5).start()
    try:
        with settings_from(fake.settings_env()):
            yield fake
    finally:
        fake.stop()


@pytest.fixture
def work(stack: Any) -> Work:
    """Runs the app's queue consumers until ``condition()`` holds."""
    import time

    from app import app
    from localdev.worker import QueueWorker

    worker = QueueWorker(app, wait_seconds=0)

    def until(condition: Callable[[], bool], timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "the privacy job did not get there in time"
            if not worker.poll_once():
                time.sleep(0.1)

    return until


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.body
    return dict(response.json_body)


def _everything_in_the_table() -> Iterator[dict[str, Any]]:
    client = Table().client
    pages = client.get_paginator("scan").paginate(TableName=Table().name)
    for page in pages:
        yield from page.get("Items", [])


def test_a_customer_in_every_capability_is_exported_then_erased_everywhere_and_at_the_processors(
    api: Any,
    hooks: httpx.Client,
    fakes: Fakes,
    payments: PaymentFakes,
    billy: FakeBilly,
    google: FakeGoogle,
    work: Work,
) -> None:
    gateway = connect(api, hooks, fakes, work)
    admin = gateway.admin
    tenant = admin.tenant_id
    token = new_id()[-8:].lower()
    name = f"Zuleica Privatus {token.capitalize()}"
    email = f"zuleica.{token}@example.com"
    wa_id = "551198" + str(random.randint(10**6, 10**7 - 1))  # noqa: S311 - a test number
    phone = f"+{wa_id}"

    # The customer, in every capability.
    person = create_customer(
        api, admin, name=name, email=email, phone=phone, document="529.982.247-25", consents={"email": True}
    )
    consents = f"/customers/{person['id']}/consents"
    keyword = {"purpose": "whatsapp", "granted": False, "method": "whatsapp_keyword", "evidence": f"PARAR from {phone}"}
    _ok(call(api, "POST", consents, keyword, admin.headers()))
    product = create_product(api, admin, kind="service", name="Rodízio", price={"amount": "52.30", "currency": "BRL"})
    order = _ok(
        call(
            api,
            "POST",
            "/orders",
            {
                "items": [{"productId": product["id"], "quantity": 1}],
                "customerId": person["id"],
                "notes": f"ligar {phone}",
            },
            admin.headers(),
        ),
        201,
    )
    stripe_key = connect_stripe(api, admin, payments)
    connect_mercadopago(api, admin, payments)
    _ok(create_link(api, admin, order["id"]), 201)
    sale = _ok(
        call(api, "POST", "/sales", {"serviceId": product["id"], "customerId": person["id"]}, admin.headers()), 201
    )
    lead = {"contactName": name, "contactEmail": email, "contactPhone": phone, "source": "whatsapp"}
    _ok(call(api, "POST", "/leads", lead, admin.headers()), 201)
    message = {"channel": "email", "customerId": person["id"], "subject": "Oi", "text": f"Olá {name}!", "urgent": True}
    _ok(call(api, "POST", "/notifications", message, admin.headers()), 201)
    wamid = f"wamid.{new_id()}"
    hello = meta_message(wa_id, wamid, f"Oi, aqui é {name}, meu email é {email}")
    assert post_meta(hooks, meta_notification(gateway.phone_number_id, messages=[hello], name=name)).status_code == 200

    def relayed() -> bool:
        found = call(api, "GET", f"/conversations?contact={wa_id}", headers=admin.headers()).json_body["items"]
        return bool(found) and bool(found[0].get("bitrixChatId"))

    work(relayed)
    [conversation] = call(api, "GET", f"/conversations?contact={wa_id}", headers=admin.headers()).json_body["items"]
    media.store_media(
        tenant, conversation["id"], "01JFILE", Media(b"%PDF-1.4 receipt", "application/pdf", "recibo.pdf")
    )

    # ... and at the processors: a Stripe customer, a Billy.dk contact, a Google Calendar event of the sale.
    stripe_customer = payments.stripe.add_customer(stripe_key, email, name)
    billy_token = billy.add_company("Privacy ApS")
    _ok(call(api, "PUT", "/integrations/billy", {"credentials": {"accessToken": billy_token}}, admin.headers()))
    company = billy_client.connect(BillyCredentials.model_validate({"accessToken": billy_token}))

    def make_contact(record: Any) -> str:
        return billy_client.create_contact(
            company, name=record.name, contact_no=record.id, country="BR", email=record.email, phone=record.phone
        )

    contact_id = customers.link_billy_contact(tenant, person["id"], make_contact)
    refresh = google.issue_refresh_token(client_id="gc-client")
    credentials = {"clientId": "gc-client", "clientSecret": "gc-secret", "refreshToken": refresh}
    _ok(call(api, "PUT", "/integrations/google_calendar", {"credentials": credentials}, admin.headers()))
    event_id = google_client.event_id(tenant, "sale", sale["id"])
    event = google_client.CalendarEvent(
        id=event_id,
        summary=f"Visita {name}",
        description=email,
        start=datetime(2026, 12, 24, 10, tzinfo=UTC),
        end=datetime(2026, 12, 24, 11, tzinfo=UTC),
        time_zone="America/Sao_Paulo",
    )
    with_google_token(tenant, lambda c, t: google_client.insert_event(t, c.calendar_id, event))

    # The export: one in flight per person, then a ZIP with everything and the file they sent.
    subject = {"subject": "customer", "id": person["id"]}
    export = _ok(call(api, "POST", "/privacy/exports", subject, admin.headers()), 202)
    again = call(api, "POST", "/privacy/exports", subject, admin.headers())
    assert (again.status_code, again.json_body["errors"][0]["field"]) == (409, "body.id")

    def exported() -> bool:
        shown = call(api, "GET", f"/privacy/exports/{export['id']}", headers=admin.headers()).json_body
        return bool(shown["status"] in ("completed", "failed"))

    work(exported)
    done = _ok(call(api, "GET", f"/privacy/exports/{export['id']}", headers=admin.headers()))
    assert done["status"] == "completed", done
    assert done["progress"]["done"] == done["progress"]["total"] >= 9
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(done["url"]).content))
    data = json.loads(archive.read("data.json"))["data"]
    assert data["customers"][0]["email"] == email
    assert [e["purpose"] for e in data["customers"][0]["related"] if e["kind"] == "CONSENT"] == ["email", "whatsapp"]
    assert data["orders"][0]["id"] == order["id"]
    assert data["sales"][0]["id"] == sale["id"]
    assert data["leads"][0]["contactEmail"] == email
    assert data["notifications"][0]["text"] == f"Olá {name}!"
    assert name in json.dumps(data["conversations"], ensure_ascii=False)
    assert archive.read(f"files/conversations/{conversation['id']}/01JFILE/recibo.pdf") == b"%PDF-1.4 receipt"
    assert "documentEncrypted" not in data["customers"][0]
    assert data["customers"][0]["documentLast4"] == "4725"
    assert "52998224725" not in json.dumps(data)
    assert call(api, "POST", "/privacy/exports", subject, admin.headers()).status_code == 202  # free again

    # The erasure.
    erasure = _ok(
        call(api, "POST", "/privacy/erasures", {**subject, "reason": "art. 17 request"}, admin.headers()), 202
    )
    twice = call(api, "POST", "/privacy/erasures", subject, admin.headers())
    assert (twice.status_code, twice.json_body["errors"][0]["field"]) == (409, "body.id")

    def erased() -> bool:
        shown = call(api, "GET", f"/privacy/erasures/{erasure['id']}", headers=admin.headers()).json_body
        settled = all(p["status"] in ("done", "manual", "failed") for p in shown["processors"])
        return bool(shown["status"] in ("completed", "failed") and settled)

    work(erased)
    result = _ok(call(api, "GET", f"/privacy/erasures/{erasure['id']}", headers=admin.headers()))
    assert result["status"] == "completed", result
    assert {p["processor"]: p["status"] for p in result["processors"]} == {
        "stripe": "done",
        "billy": "done",
        "bitrix24": "done",
        "google_calendar": "done",
        "mercadopago": "manual",
    }
    assert result["erased"]["conversations"] >= 3
    assert result["erased"]["orders"] >= 1

    # What the law keeps stays, under the pseudonym.
    pseudonym = result["pseudonym"]
    kept = _ok(call(api, "GET", f"/customers/{person['id']}", headers=admin.headers()))
    assert (kept["name"], kept["email"], kept["phone"]) == (pseudonym, None, None)
    assert kept["stats"]["ordersCount"] == 1
    still = _ok(call(api, "GET", f"/orders/{order['id']}", headers=admin.headers()))
    assert still["totals"] == order["totals"]
    assert call(api, "GET", f"/conversations/{conversation['id']}", headers=admin.headers()).status_code == 404
    assert media.conversation_media(tenant, conversation["id"]) == []
    assert call(api, "GET", f"/customers?email={email}", headers=admin.headers()).json_body["items"] == []

    # The processors were asked: their fakes no longer hold the person.
    assert stripe_customer not in payments.stripe.accounts[stripe_key].customers
    [contact] = [c for c in billy.contacts(billy_token) if c["id"] == contact_id]
    assert contact["name"] == pseudonym
    assert not contact.get("phone")
    portal = fakes.bitrix.portal(gateway.domain)
    assert [c for c in portal.contacts.values() if phone in json.dumps(c)] == []
    assert google.events()[event_id]["status"] == "cancelled"

    # A search over the whole table finds them nowhere.
    needles = [name.lower(), email.lower(), phone, wa_id]
    found = [
        (item["PK"]["S"], item["SK"]["S"])
        for item in _everything_in_the_table()
        if any(needle in json.dumps(item, ensure_ascii=False).lower() for needle in needles)
    ]
    assert found == []


def test_privacy_requests_name_unknown_people_and_stay_in_their_tenant(api: Any) -> None:
    admin, _ = signup(api)
    other, _ = signup(api)
    stranger = create_customer(api, other, name="Outro Tenant")
    for path in ("/privacy/exports", "/privacy/erasures"):
        for kind, stranger_id in (("customer", stranger["id"]), ("user", other.user_id)):
            refused = call(api, "POST", path, {"subject": kind, "id": stranger_id}, admin.headers())
            assert (refused.status_code, refused.json_body["errors"][0]["field"]) == (422, "body.id"), path
    assert call(api, "GET", f"/users/{other.user_id}", headers=other.headers()).json_body["status"] == "active"
    export = _ok(call(api, "POST", "/privacy/exports", {"subject": "user", "id": admin.user_id}, admin.headers()), 202)
    assert call(api, "GET", f"/privacy/exports/{export['id']}", headers=other.headers()).status_code == 404
    mine = create_customer(api, admin, name="Cliente Daqui")
    erasure = _ok(
        call(api, "POST", "/privacy/erasures", {"subject": "customer", "id": mine["id"]}, admin.headers()), 202
    )
    assert call(api, "GET", f"/privacy/erasures/{erasure['id']}", headers=other.headers()).status_code == 404
    manager = call(api, "GET", f"/privacy/erasures/{erasure['id']}", headers=_manager(api, admin).headers())
    assert manager.status_code == 403


def _manager(api: Any, admin: Account) -> Account:
    from chalicelib.access.permissions import Role
    from tests.support.identity import add_user

    return add_user(api, admin, Role.MANAGER)


def test_a_whatsapp_stop_keyword_withdraws_the_customers_whatsapp_consent(
    api: Any, hooks: httpx.Client, fakes: Fakes, work: Work
) -> None:
    gateway = connect(api, hooks, fakes, work)
    wa_id = "551197" + str(random.randint(10**6, 10**7 - 1))  # noqa: S311 - a test number
    person = create_customer(api, gateway.admin, name="Rita Stop", phone=f"+{wa_id}", consents={"whatsapp": True})
    path = f"/customers/{person['id']}/consents"
    stop = meta_message(wa_id, f"wamid.{new_id()}", "PARAR")
    assert post_meta(hooks, meta_notification(gateway.phone_number_id, messages=[stop])).status_code == 200

    def withdrawn() -> bool:
        return bool(call(api, "GET", path, headers=gateway.admin.headers()).json_body["allowed"]["whatsapp"] is False)

    work(withdrawn)
    [latest, first] = call(api, "GET", f"{path}/history", headers=gateway.admin.headers()).json_body["items"]
    assert (latest["purpose"], latest["granted"], latest["method"]) == ("whatsapp", False, "whatsapp_keyword")
    assert latest["evidence"].startswith("PARAR")
    assert latest["recordedBy"] == "system"
    assert (first["granted"], first["method"]) == (True, "api")


def test_a_processor_that_fails_is_retried_and_each_attempt_is_recorded(
    api: Any, google: FakeGoogle, work: Work
) -> None:
    with settings_from({"BTRIX_INTEGRATION_RETRY_BASE_S": "0", "BTRIX_INTEGRATION_RETRY_MAX_S": "0"}):
        admin, _ = signup(api)
        refresh = google.issue_refresh_token(client_id="gc-client")
        credentials = {"clientId": "gc-client", "clientSecret": "gc-secret", "refreshToken": refresh}
        _ok(call(api, "PUT", "/integrations/google_calendar", {"credentials": credentials}, admin.headers()))
        person = create_customer(api, admin, name="Greta Retry")
        product = create_product(
            api, admin, kind="service", name="Visita", price={"amount": "10.00", "currency": "BRL"}
        )
        sold = {"serviceId": product["id"], "customerId": person["id"]}
        sale = _ok(call(api, "POST", "/sales", sold, admin.headers()), 201)
        event_id = google_client.event_id(admin.tenant_id, "sale", sale["id"])
        start = datetime(2026, 12, 28, 9, tzinfo=UTC)
        event = google_client.CalendarEvent(event_id, "Visita", start, start.replace(hour=10), "UTC")
        with_google_token(admin.tenant_id, lambda c, t: google_client.insert_event(t, c.calendar_id, event))
        google.configure(failNext=2, failStatus=503)
        asked = {"subject": "customer", "id": person["id"]}
        erasure = _ok(call(api, "POST", "/privacy/erasures", asked, admin.headers()), 202)

        def outcome() -> dict[str, Any]:
            shown = call(api, "GET", f"/privacy/erasures/{erasure['id']}", headers=admin.headers()).json_body
            return next((p for p in shown["processors"] if p["processor"] == "google_calendar"), {})

        work(lambda: outcome().get("status") == "done")
    done = outcome()
    assert done["attempts"] == 3
    assert "503" in done["lastError"]
    assert done["targets"] == [event_id]
    assert google.events()[event_id]["status"] == "cancelled"


def test_a_user_is_exported_then_erased_their_sessions_end_and_what_they_did_keeps_the_pseudonym(
    api: Any, work: Work
) -> None:
    from chalicelib.access.permissions import Role
    from tests.support.identity import PASSWORD, add_user

    admin, _ = signup(api)
    token = new_id()[-8:].lower()
    name = f"Valdemar Vendorius {token.capitalize()}"
    phone = "+55119" + str(random.randint(10**7, 10**8 - 1))  # noqa: S311 - a test number
    rep = add_user(api, admin, Role.MANAGER, name=name, whatsappNumber=phone)
    # What the user does and what is kept about them: an order they placed, a sale and a lead of theirs, a message.
    client = create_customer(api, admin, name="Clotilde Terceira", email=f"clotilde.{token}@example.com")
    product = create_product(api, admin, kind="service", name="Revisão", price={"amount": "80.00", "currency": "BRL"})
    sale = _ok(
        call(api, "POST", "/sales", {"serviceId": product["id"], "customerId": client["id"]}, rep.headers()), 201
    )
    placed = {
        "items": [{"productId": product["id"], "quantity": 1}],
        "customerId": client["id"],
        "notes": f"com {name}",
    }
    order = _ok(call(api, "POST", "/orders", placed, rep.headers()), 201)
    lead_body = {"contactName": "Osvaldo Contato", "source": "referral", "notes": f"{name} ligou, {phone}"}
    lead = _ok(call(api, "POST", "/leads", lead_body, rep.headers()), 201)
    note = {"channel": "email", "userId": rep.user_id, "subject": "Meta", "text": f"Parabéns {name}!", "urgent": True}
    _ok(call(api, "POST", "/notifications", note, admin.headers()), 201)

    # The export: their record, what they did (no one else's data), their sales and leads as references.
    subject = {"subject": "user", "id": rep.user_id}
    export = _ok(call(api, "POST", "/privacy/exports", subject, admin.headers()), 202)
    work(
        lambda: (
            call(api, "GET", f"/privacy/exports/{export['id']}", headers=admin.headers()).json_body["status"]
            in ("completed", "failed")
        )
    )
    done = _ok(call(api, "GET", f"/privacy/exports/{export['id']}", headers=admin.headers()))
    assert done["status"] == "completed", done
    data = json.loads(zipfile.ZipFile(io.BytesIO(httpx.get(done["url"]).content)).read("data.json"))["data"]
    [user] = data["users"]
    assert (user["email"], user["name"], user["whatsappNumber"]) == (rep.email, name, phone)
    assert "passwordHash" not in user
    assert not [r for r in user["related"] if r["kind"] in ("SESSION", "OTP")]
    actions = {entry["action"] for entry in data["audit"]}
    assert {"order.created", "sale.created", "lead.created"} <= actions
    assert all("after" not in entry and "before" not in entry for entry in data["audit"])
    assert [s["id"] for s in data["sales"]] == [sale["id"]]
    assert [entry["id"] for entry in data["leads"]] == [lead["id"]]
    assert [(o["id"], o["createdBy"]) for o in data["orders"]] == [(order["id"], rep.user_id)]
    assert "notes" not in data["orders"][0]
    assert "Clotilde" not in json.dumps(data, ensure_ascii=False)  # their customers' data is not theirs
    assert f"Parabéns {name}!" in [n.get("text") for n in data["notifications"]]

    # Refused: erasing yourself (422), the rep erasing anyone (403).
    own = call(api, "POST", "/privacy/erasures", {"subject": "user", "id": admin.user_id}, admin.headers())
    assert (own.status_code, own.json_body["errors"][0]["field"]) == (422, "body.id")
    assert call(api, "POST", "/privacy/erasures", subject, rep.headers()).status_code == 403

    # The erasure: the rep is out at once, then pseudonymised everywhere.
    erasure = _ok(call(api, "POST", "/privacy/erasures", subject, admin.headers()), 202)
    assert erasure["pseudonym"].startswith("Erased user ")
    assert call(api, "GET", "/auth/me", headers=rep.headers()).status_code == 401
    assert call(api, "POST", "/auth/refresh", {"refreshToken": rep.refresh_token}).status_code == 401
    twice = call(api, "POST", "/privacy/erasures", subject, admin.headers())
    assert (twice.status_code, twice.json_body["errors"][0]["field"]) == (409, "body.id")

    def erased() -> bool:
        shown = call(api, "GET", f"/privacy/erasures/{erasure['id']}", headers=admin.headers()).json_body
        return bool(shown["status"] in ("completed", "failed"))

    work(erased)
    result = _ok(call(api, "GET", f"/privacy/erasures/{erasure['id']}", headers=admin.headers()))
    assert (result["status"], result["processors"]) == ("completed", []), result
    pseudonym = result["pseudonym"]
    kept = _ok(call(api, "GET", f"/users/{rep.user_id}", headers=admin.headers()))
    assert (kept["name"], kept["status"], kept["whatsappNumber"], kept["hasCpf"]) == (
        pseudonym,
        "inactive",
        None,
        False,
    )
    assert kept["email"].endswith("@erased.invalid")
    assert call(api, "POST", "/auth/login", {"identifier": rep.email, "password": PASSWORD}).status_code == 401
    assert _ok(call(api, "GET", f"/sales/{sale['id']}", headers=admin.headers()))["assignedTo"] == rep.user_id
    kept_order = _ok(call(api, "GET", f"/orders/{order['id']}", headers=admin.headers()))
    assert (kept_order["createdBy"], kept_order["notes"]) == (rep.user_id, f"com {pseudonym}")
    kept_lead = _ok(call(api, "GET", f"/leads/{lead['id']}", headers=admin.headers()))
    assert kept_lead["notes"] == f"{pseudonym} ligou, {pseudonym}"
    trail = _ok(call(api, "GET", f"/audit-log?actorId={rep.user_id}", headers=admin.headers()))["items"]
    assert {"sale.created", "lead.created"} <= {entry["action"] for entry in trail}
    assert all(entry.get("sourceIp") is None for entry in trail)

    # A search over the whole table finds them nowhere.
    needles = [name.lower(), rep.email.lower(), phone, phone.lstrip("+")]
    found = [
        (item["PK"]["S"], item["SK"]["S"])
        for item in _everything_in_the_table()
        if any(needle in json.dumps(item, ensure_ascii=False).lower() for needle in needles)
    ]
    assert found == []


def test_the_tenants_last_active_admin_is_never_erased(api: Any) -> None:
    from chalicelib.access.permissions import Role
    from chalicelib.access.principal import Principal
    from chalicelib.core.errors import Conflict
    from chalicelib.privacy import service
    from chalicelib.privacy.models import CreateErasureRequest
    from tests.support.identity import add_user

    first, _ = signup(api)
    second = add_user(api, first, Role.ADMIN)
    # The second ADMIN erases the first; the first's request, already past the guard, finds no other ADMIN left.
    _ok(call(api, "POST", "/privacy/erasures", {"subject": "user", "id": first.user_id}, second.headers()), 202)
    assert call(api, "GET", "/auth/me", headers=first.headers()).status_code == 401
    stale = Principal(user_id=first.user_id, tenant_id=first.tenant_id, role=Role.ADMIN, email=first.email)
    with pytest.raises(Conflict) as refused:
        service.create_erasure(stale, CreateErasureRequest(subject="user", id=second.user_id))
    assert [(e.loc, e.code) for e in refused.value.errors] == [("body.id", "last-admin")]
    assert _ok(call(api, "GET", f"/users/{second.user_id}", headers=second.headers()))["status"] == "active"


@pytest.fixture(scope="module")
def melhorenvio(stack: Any) -> Iterator[FakeMelhorEnvio]:
    """Fake MelhorEnvio (BTRIX's local app)."""
    yield from running_melhorenvio()


@pytest.fixture(scope="module")
def pagarme(payments: PaymentFakes) -> Iterator[FakePagarme]:
    """Fake Pagar.me."""
    yield from running_pagarme()


@pytest.fixture(scope="module")
def ifood(stack: Any) -> Iterator[FakeIFood]:
    """Fake iFood."""
    fake = FakeIFood(port=free_port(), seed=11).start()
    try:
        with settings_from({"BTRIX_IFOOD_API_URL": fake.url}):
            yield fake
    finally:
        fake.stop()


def test_a_customer_of_the_shipping_payment_and_delivery_providers_is_exported_then_erased_there_too(
    api: Any,
    payments: PaymentFakes,
    melhorenvio: FakeMelhorEnvio,
    pagarme: FakePagarme,
    ifood: FakeIFood,
    work: Work,
) -> None:
    shop = ready_shop(api, melhorenvio)
    admin, tenant = shop.admin, shop.admin.tenant_id
    token = new_id()[-8:].lower()
    name, ifood_name = f"Genoveva Enviada {token.capitalize()}", f"Teodoro Ifoodiano {token.capitalize()}"
    email = f"genoveva.{token}@example.com"
    phone = "+55219" + str(random.randint(10**7, 10**8 - 1))  # noqa: S311 - a test number
    person = create_customer(api, admin, name=name, email=email, phone=phone, address=CUSTOMER_ADDRESS)

    # A label bought at MelhorEnvio for their order (its PDF prints them), a Pagar.me checkout they paid.
    placed = {"customerId": person["id"], "items": [{"productId": shop.product["id"], "quantity": 1}]}
    order = _ok(call(api, "POST", "/orders", placed, admin.headers()), 201)
    moved = {"to": "CONFIRMED", "version": order["version"]}
    _ok(call(api, "POST", f"/orders/{order['id']}/transitions", moved, admin.headers()))
    quotes = _ok(call(api, "POST", f"/orders/{order['id']}/shipping-quotes", None, admin.headers()))["items"]
    shipment = _ok(buy(api, shop, order["id"], quotes[0]["id"]), 201)["shipment"]
    key = connect_pagarme(api, admin, pagarme, payments.hooks)
    link = _ok(create_link(api, admin, order["id"], provider="pagarme"), 201)
    typed = {"name": name, "document": "52998224725", "phones": {"mobile_phone": {"number": phone[-9:]}}}
    pagarme.pay(link["providerCheckoutId"], customer=typed)
    work(lambda: bool(payments_of(api, admin, order["id"])))
    # Two iFood orders of someone iFood knows by name only: one BTRIX customer, linked to iFood's customer.
    merchant = ifood.add_merchant("Loja Genoveva")
    store = {"credentials": {k: merchant[k] for k in ("clientId", "clientSecret", "merchantId")}}
    _ok(call(api, "PUT", "/integrations/ifood", store, admin.headers()))
    line = {"name": "Cafeteira", "externalCode": shop.product["code"], "quantity": 1, "unitPrice": 120.0}
    ifood_orders = [ifood.place_order(merchant["merchantId"], [line], customer_name=ifood_name) for _ in range(2)]

    ours = _polled(tenant, ifood, work, ifood_orders)
    [diner] = {_ok(call(api, "GET", f"/orders/{i}", headers=admin.headers()))["customerId"] for i in ours}

    # The exports: the label, the Pagar.me payment; what iFood said of its customer on each order.
    data = _exported(api, admin, work, {"subject": "customer", "id": person["id"]})
    assert [(x["provider"], x["labelId"]) for x in data["shipping"]] == [("melhorenvio", shipment["labelId"])]
    assert data["shipping"][0]["labelUrl"] == shipment["labelUrl"]
    assert [p["provider"] for p in data["payments"]] == ["pagarme"]
    diner_data = _exported(api, admin, work, {"subject": "customer", "id": diner})
    assert sorted(x["orderId"] for x in diner_data["delivery"]) == sorted(ifood_orders)
    assert {x["customerName"] for x in diner_data["delivery"]} == {ifood_name}
    assert sorted(o["id"] for o in diner_data["orders"]) == sorted(ours)

    # The erasures: Pagar.me's customers replaced; MelhorEnvio and iFood recorded as manual, naming what they hold.
    erased = _erased(api, admin, work, person["id"])
    assert {p["processor"]: (p["status"], p["targets"]) for p in erased["processors"] if p["status"] == "manual"} == {
        "melhorenvio": ("manual", [shipment["labelId"]])
    }
    assert {p["processor"]: p["status"] for p in erased["processors"]} == {"melhorenvio": "manual", "pagarme": "done"}
    [asked] = [p["targets"] for p in erased["processors"] if p["processor"] == "pagarme"]
    at_pagarme = pagarme.customers(key)
    assert sorted(c["id"] for c in at_pagarme) == sorted(asked)
    for customer in at_pagarme:
        assert (customer["name"], customer["type"]) == (erased["pseudonym"], "individual")
        assert customer["email"].endswith("@erased.invalid")
        assert "document" not in customer
        assert "phones" not in customer
    kept = _ok(call(api, "GET", f"/orders/{order['id']}", headers=admin.headers()))
    assert (kept["shipment"]["labelId"], kept["shipment"]["labelUrl"]) == (shipment["labelId"], erased["pseudonym"])
    gone = _erased(api, admin, work, diner)
    [(status, targets)] = [(p["status"], p["targets"]) for p in gone["processors"] if p["processor"] == "ifood"]
    assert (status, targets) == ("manual", sorted(ifood_orders))
    platform = _ok(call(api, "GET", f"/orders/{ours[0]}", headers=admin.headers()))["platform"]
    assert {platform[f] for f in ("customerId", "customerName", "customerPhone", "address")} == {gone["pseudonym"]}
    # A search over the whole table finds neither of them, nor the label's URL.
    needles = [name.lower(), email.lower(), phone, phone.lstrip("+"), shipment["labelUrl"].lower(), ifood_name.lower()]
    found = [
        (item["PK"]["S"], item["SK"]["S"])
        for item in _everything_in_the_table()
        if any(needle in json.dumps(item, ensure_ascii=False).lower() for needle in needles)
    ]
    assert found == []
    # Their next iFood order makes a new customer: the link to the erased one was dropped.
    [later] = _polled(
        tenant, ifood, work, [ifood.place_order(merchant["merchantId"], [line], customer_name=ifood_name)]
    )
    assert _ok(call(api, "GET", f"/orders/{later}", headers=admin.headers()))["customerId"] not in (None, diner)


def _polled(tenant_id: str, ifood: FakeIFood, work: Work, ifood_orders: list[str]) -> list[str]:
    """The BTRIX orders of iFood's orders, once a poll brought them in."""
    jobs.enqueue_task(delivery_ifood.SYNC_TASK, tenant_id, {}, key=new_id())
    work(lambda: all(delivery.order_of(tenant_id, Provider.IFOOD, i) for i in ifood_orders))
    return [str(delivery.order_of(tenant_id, Provider.IFOOD, i)) for i in ifood_orders]


def _exported(api: Any, admin: Account, work: Work, subject: dict[str, str]) -> dict[str, Any]:
    export = _ok(call(api, "POST", "/privacy/exports", subject, admin.headers()), 202)
    path = f"/privacy/exports/{export['id']}"
    work(lambda: call(api, "GET", path, headers=admin.headers()).json_body["status"] in ("completed", "failed"))
    done = _ok(call(api, "GET", path, headers=admin.headers()))
    assert done["status"] == "completed", done
    data: dict[str, Any] = json.loads(zipfile.ZipFile(io.BytesIO(httpx.get(done["url"]).content)).read("data.json"))
    return dict(data["data"])


def _erased(api: Any, admin: Account, work: Work, customer_id: str) -> dict[str, Any]:
    erasure = _ok(
        call(api, "POST", "/privacy/erasures", {"subject": "customer", "id": customer_id}, admin.headers()), 202
    )
    path = f"/privacy/erasures/{erasure['id']}"

    def settled() -> bool:
        shown = call(api, "GET", path, headers=admin.headers()).json_body
        return bool(shown["status"] in ("completed", "failed")) and all(
            p["status"] in ("done", "manual", "failed") for p in shown["processors"]
        )

    work(settled)
    result = _ok(call(api, "GET", path, headers=admin.headers()))
    assert result["status"] == "completed", result
    return result
