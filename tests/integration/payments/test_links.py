"""Payment links against the fake Stripe and MercadoPago: the checkout each provider is asked for, /pay/{token}
while open and after, a new link expiring the previous one, and every refusal."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from chalicelib.access.permissions import Role
from chalicelib.core import clock
from tests.support.identity import Account, add_user, call
from tests.support.payments import (
    PaymentFakes,
    connect_mercadopago,
    connect_stripe,
    create_link,
    create_order,
    token_of,
)


def _pay(api: Any, token: str, **headers: str) -> Any:
    return call(api, "GET", f"/pay/{token}", None, headers)


def test_a_stripe_link_opens_a_checkout_session_for_the_order_total_and_redirects_to_it(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    key = connect_stripe(api, admin, fakes)
    order = create_order(api, admin, "52.30")
    created = create_link(api, admin, order["id"])
    assert created.status_code == 201, created.body
    link = created.json_body
    assert (link["status"], link["provider"], link["amount"]) == (
        "open",
        "stripe",
        {"amount": "52.30", "currency": "BRL"},
    )
    sent = [
        r
        for r in fakes.stripe.received
        if r["path"] == "/v1/checkout/sessions" and key in r["headers"]["authorization"]
    ]
    assert len(sent) == 1
    form, headers = sent[0]["body"], sent[0]["headers"]
    assert headers["idempotency-key"] == f"btrix-link-{link['id']}"
    assert form["mode"] == "payment"
    assert form["line_items"][0]["price_data"] == {
        "currency": "brl",
        "unit_amount": "5230",
        "product_data": {"name": f"Pedido #{order['number']} · Test Company"},
    }
    assert form["client_reference_id"] == admin.tenant_id
    assert form["locale"] == "pt-BR"
    assert form["metadata"]["btrixRef"] == f"{admin.tenant_id}:{order['id']}:{link['id']}"
    assert abs(int(form["expires_at"]) - (time.time() + 3600)) < 120
    opened = _pay(api, token_of(link))
    assert opened.status_code == 302
    session = fakes.stripe.session(link["providerCheckoutId"])
    assert opened.headers["Location"] == session["url"]
    assert opened.headers["Referrer-Policy"] == "no-referrer"


def test_a_mercadopago_link_opens_a_preference_that_expires_with_it_and_notifies_the_tenants_webhook(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    connect_mercadopago(api, admin, fakes)
    order = create_order(api, admin, "19.90")
    link = create_link(api, admin, order["id"], expiresInMinutes=30).json_body
    preference = fakes.mercadopago.preference(link["providerCheckoutId"])
    assert Decimal(str(preference["items"][0]["unit_price"])) == Decimal("19.90")
    assert preference["external_reference"] == f"{admin.tenant_id}:{order['id']}:{link['id']}"
    assert preference["notification_url"] == f"{fakes.hooks}/mercadopago?tenant={admin.tenant_id}"
    expires = datetime.fromisoformat(preference["expiration_date_to"])
    assert preference["expires"] is True
    assert expires.tzinfo is not None
    assert "." in preference["expiration_date_to"]
    assert abs((expires - datetime.now(UTC)).total_seconds() - 1800) < 120
    request = next(r for r in fakes.mercadopago.received if r["path"] == "/checkout/preferences")
    assert request["headers"]["x-idempotency-key"] == f"btrix-link-{link['id']}"
    assert _pay(api, token_of(link)).headers["Location"] == preference["init_point"]


def test_a_new_link_expires_the_previous_one_at_the_provider_and_in_btrix(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    connect_stripe(api, admin, fakes)
    connect_mercadopago(api, admin, fakes)
    order = create_order(api, admin)
    first = create_link(api, admin, order["id"], provider="stripe").json_body
    second = create_link(api, admin, order["id"], provider="mercadopago").json_body
    assert fakes.stripe.session(first["providerCheckoutId"])["status"] == "expired"
    old = _pay(api, token_of(first))
    assert old.status_code == 410
    assert 'data-state="expired"' in old.body.decode()
    assert "Link expirado" in old.body.decode()
    assert _pay(api, token_of(second)).status_code == 302
    third = create_link(api, admin, order["id"], provider="mercadopago").json_body
    closed_at = datetime.fromisoformat(fakes.mercadopago.preference(second["providerCheckoutId"])["expiration_date_to"])
    assert closed_at <= datetime.now(UTC)
    listed = call(api, "GET", f"/payment-links?orderId={order['id']}", None, admin.headers()).json_body["items"]
    assert [(i["id"], i["status"], i.get("expiredReason")) for i in listed] == [
        (third["id"], "open", None),
        (second["id"], "expired", "replaced"),
        (first["id"], "expired", "replaced"),
    ]
    assert all(i["url"] is None and "checkoutUrl" not in i for i in listed)


def test_a_link_past_its_time_shows_the_expired_page_in_the_customers_language(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    connect_stripe(api, admin, fakes)
    order = create_order(api, admin)
    link = create_link(api, admin, order["id"], expiresInMinutes=30).json_body
    with clock.frozen_clock(datetime.now(UTC) + timedelta(minutes=31)):
        page = _pay(api, token_of(link), **{"Accept-Language": "en-US"})
    assert page.status_code == 410
    assert page.headers["Content-Type"].startswith("text/html")
    assert '<html lang="pt-BR">' in page.body.decode()
    assert "Link expirado" in page.body.decode()


def test_an_unknown_token_gets_a_404_page_in_the_browsers_language(api: Any, fakes: PaymentFakes) -> None:
    for token in ("pay_" + "x" * 32, "nope", "pay_%27%3B--"):
        page = _pay(api, token, **{"Accept-Language": "es-ES,es;q=0.9,en;q=0.5"})
        assert page.status_code == 404, token
        assert '<html lang="es-ES">' in page.body.decode()
        assert "Enlace no encontrado" in page.body.decode()
        assert (page.headers["Content-Language"], page.headers["Vary"]) == ("es-ES", "Accept-Language")


def test_too_many_opens_from_one_address_get_a_429_page(api: Any, fakes: PaymentFakes) -> None:
    address = {"X-Forwarded-For": "198.51.100.77"}
    statuses = [_pay(api, "pay_" + "y" * 32, **address).status_code for _ in range(121)]
    assert statuses[:120] == [404] * 120
    assert statuses[120] == 429
    busy = _pay(api, "pay_" + "y" * 32, **address)
    assert busy.status_code == 429
    assert int(busy.headers["Retry-After"]) > 0


def test_the_same_idempotency_key_answers_the_same_link_and_opens_one_checkout(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    key = connect_stripe(api, admin, fakes)
    order = create_order(api, admin)
    headers = {**admin.headers(), "Idempotency-Key": "link-once-1"}
    first = call(api, "POST", "/payment-links", {"orderId": order["id"]}, headers)
    again = call(api, "POST", "/payment-links", {"orderId": order["id"]}, headers)
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body
    sessions = [
        r
        for r in fakes.stripe.received
        if r["path"] == "/v1/checkout/sessions" and key in r["headers"]["authorization"]
    ]
    assert len(sessions) == 1


def test_a_tenant_without_the_provider_gets_a_409_naming_the_integration(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    order = create_order(api, admin)
    none_at_all = create_link(api, admin, order["id"])
    assert none_at_all.status_code == 409
    assert none_at_all.json_body["type"] == "urn:btrix:problem:integration-missing"
    connect_stripe(api, admin, fakes)
    missing = create_link(api, admin, order["id"], provider="mercadopago")
    assert missing.status_code == 409
    assert "mercadopago integration is not connected" in missing.json_body["detail"]


def test_bad_input_is_a_422_naming_the_field(api: Any, admin: Account, fakes: PaymentFakes) -> None:
    connect_stripe(api, admin, fakes)
    order = create_order(api, admin)
    for minutes in (29, 1441):
        answer = create_link(api, admin, order["id"], expiresInMinutes=minutes)
        assert answer.status_code == 422
        assert [e["field"] for e in answer.json_body["errors"]] == ["body.expiresInMinutes"]
    unknown = create_link(api, admin, "01NOSUCHORDER0000000000000")
    assert unknown.status_code == 422
    assert unknown.json_body["errors"][0]["field"] == "body.orderId"
    wrong = create_link(api, admin, order["id"], provider="paypal")
    assert wrong.status_code == 422
    assert wrong.json_body["errors"][0]["field"] == "body.provider"


def test_a_provider_outage_is_a_503_and_a_refusal_a_502_and_neither_leaves_a_link(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    connect_stripe(api, admin, fakes)
    order = create_order(api, admin)
    httpx.post(f"{fakes.stripe.url}/_config", json={"failNext": 1, "failStatus": 500})
    down = create_link(api, admin, order["id"])
    assert down.status_code == 503
    assert down.headers["Content-Type"] == "application/problem+json"
    httpx.post(f"{fakes.stripe.url}/_config", json={"acceptKeys": ["sk_test_somebody_else"]})
    try:
        refused = create_link(api, admin, order["id"])
    finally:
        httpx.post(f"{fakes.stripe.url}/_config", json={"acceptKeys": None})
    assert refused.status_code == 502
    assert refused.json_body["type"] == "urn:btrix:problem:provider-refused"
    listed = call(api, "GET", f"/payment-links?orderId={order['id']}", None, admin.headers()).json_body
    assert listed["items"] == []
    assert create_link(api, admin, order["id"]).status_code == 201


def test_an_agent_links_its_own_orders_only_and_a_kitchen_user_none(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    connect_stripe(api, admin, fakes)
    agent = add_user(api, admin, Role.AGENT)
    kitchen = add_user(api, admin, Role.KITCHEN)
    mine = create_order(api, admin, by=agent, email="agent-customer@example.com", phone="+5511987650009")
    others = create_order(api, admin)
    assert create_link(api, agent, mine["id"]).status_code == 201
    assert create_link(api, agent, others["id"]).status_code == 403
    assert create_link(api, kitchen, others["id"]).status_code == 403


def test_the_workflow_action_sends_one_link_to_the_customer_however_often_its_job_runs(
    api: Any, admin: Account, fakes: PaymentFakes
) -> None:
    from chalicelib.core.db.store import tenant_scope
    from chalicelib.notifications.outbox import list_messages
    from chalicelib.payments.service import send_payment_link

    connect_stripe(api, admin, fakes)
    order = create_order(api, admin, channel="whatsapp")
    with tenant_scope(admin.tenant_id):
        lines = [send_payment_link(admin.tenant_id, order["id"], channel="whatsapp", key="job-123") for _ in range(2)]
    assert lines[0] == lines[1]
    listed = call(api, "GET", f"/payment-links?orderId={order['id']}", None, admin.headers()).json_body["items"]
    assert len(listed) == 1
    [sent] = [m for m in list_messages(admin.tenant_id) if m.template == "payment.link"]
    assert (sent.channel, sent.to) == ("whatsapp", f"customer:{order['customerId']}")
    assert _pay(api, str(sent.variables["link"]).rsplit("/", 1)[1]).status_code == 302
    shown = call(api, "GET", f"/notifications/{sent.id}", None, admin.headers()).json_body
    assert str(sent.variables["link"]) not in str(shown)
    assert "link" in sent.secret_variables
    with tenant_scope(admin.tenant_id):
        nobody = send_payment_link(
            admin.tenant_id, create_order_without_customer(api, admin), channel="email", key="job-9"
        )
    assert "has no customer" in nobody


def create_order_without_customer(api: Any, admin: Account) -> str:
    """An order nobody can be told about."""
    from tests.support.commerce import create_product

    product = create_product(api, admin, kind="service", name="Balcão", price={"amount": "5.00", "currency": "BRL"})
    body = {"items": [{"productId": product["id"], "quantity": 1}]}
    return str(call(api, "POST", "/orders", body, admin.headers()).json_body["id"])


def test_lists_refuse_what_they_cannot_answer_with_a_422_naming_the_parameter(api: Any, admin: Account) -> None:
    unknown = call(api, "GET", "/payment-links?orderId=01NOSUCHORDER0000000000000", None, admin.headers())
    assert unknown.status_code == 422
    assert unknown.json_body["errors"][0]["field"] == "query.orderId"
    backwards = call(api, "GET", "/payments?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", None, admin.headers())
    assert backwards.status_code == 422
    two = call(api, "GET", "/payments?status=failed&provider=stripe", None, admin.headers())
    assert two.status_code == 422
    assert call(
        api, "GET", "/payments?status=succeeded&from=2026-01-01T00:00:00Z", None, admin.headers()
    ).json_body == {
        "items": [],
        "nextCursor": None,
    }
