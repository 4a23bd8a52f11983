"""Real entities of a tenant, created as its ADMIN would, by the path parameter that names them (``{order_id}``):
for tests generated over the routes (isolation probes, PATCH nulls, references)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from chalicelib.core.ids import new_id
from tests.support.commerce import create_customer, create_group, create_product
from tests.support.identity import Account, call
from tests.support.webhooks import create_endpoint, send_test

IdSource = Callable[[Any, Account], str]

# How to create, through the API as the account's ADMIN, the thing each path parameter names.
ENTITY_IDS: dict[str, IdSource] = {
    "user_id": lambda api, owner: owner.user_id,
    "product_id": lambda api, owner: create_product(api, owner)["id"],
    "category_id": lambda api, owner: create_group(api, owner, "categories", f"Category {new_id()}")["id"],
    "brand_id": lambda api, owner: create_group(api, owner, "brands", f"Brand {new_id()}")["id"],
    "customer_id": lambda api, owner: create_customer(api, owner)["id"],
    "order_id": lambda api, owner: create_order(api, owner),
    "resource_id": lambda api, owner: create_resource(api, owner),
    "appointment_id": lambda api, owner: create_appointment(api, owner),
    "endpoint_id": lambda api, owner: create_endpoint(api, owner, _NOBODY)["id"],
    "delivery_id": lambda api, owner: send_test(api, owner, create_endpoint(api, owner, _NOBODY)["id"])["id"],
    "notification_id": lambda api, owner: create_notification(api, owner),
    "channel_id": lambda api, owner: create_channel(api, owner),
    "conversation_id": lambda api, owner: create_conversation(owner)[0],
    "message_id": lambda api, owner: create_conversation(owner)[1],
    "sale_id": lambda api, owner: create_sale(api, owner),
    "lead_id": lambda api, owner: create_lead(api, owner),
    "export_id": lambda api, owner: create_export(api, owner),
    "privacy_export_id": lambda api, owner: _privacy_request(api, owner, "/privacy/exports", "user", owner.user_id),
    "erasure_id": lambda api, owner: _privacy_request(
        api, owner, "/privacy/erasures", "customer", create_customer(api, owner)["id"]
    ),
    "payment_id": lambda api, owner: create_payment(api, owner),
    "listing_id": lambda api, owner: create_listing(api, owner),
    "account_id": lambda api, owner: create_bank_account(api, owner),
    "payout_id": lambda api, owner: create_payout(api, owner),
    "purchase_id": lambda api, owner: create_market_order(api, buyer=owner)["id"],
    "market_sale_id": lambda api, owner: create_market_order(api, seller=owner)["id"],
}

# A webhook target nobody listens on (loopback is allowed in tests): its test messages fail and are retried.
_NOBODY = "http://127.0.0.1:9/probe"
_ALWAYS_OPEN = {day: [{"start": "00:00", "end": "23:55"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def create_resource(api: Any, owner: Account) -> str:
    """A room open every day, all day; its id."""
    body = {"name": f"Probe {new_id()}", "kind": "room", "workingHours": _ALWAYS_OPEN}
    response = call(api, "POST", "/resources", body, owner.headers())
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def create_appointment(api: Any, owner: Account) -> str:
    """A 30-minute service booked with a new resource three days from now; its id."""
    from datetime import UTC, datetime, timedelta

    service = create_product(api, owner, kind="service", name="Probe visit", durationMinutes=30)
    start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
    body = {"resourceId": create_resource(api, owner), "serviceId": service["id"], "startsAt": start.isoformat()}
    response = call(api, "POST", "/appointments", body, owner.headers())
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def create_notification(api: Any, owner: Account) -> str:
    """An SMS to a fixed number; its id."""
    body = {"channel": "sms", "address": "+5511987654321", "text": "Probe"}
    response = call(api, "POST", "/notifications", body, owner.headers())
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def create_channel(api: Any, owner: Account) -> str:
    """A WhatsApp number channel with a fresh phone number id; its id."""
    number = str(int(new_id().encode().hex(), 16) % 10**15).zfill(15)
    body = {
        "phoneNumberId": number,
        "wabaId": "102290129340398",
        "accessToken": "EAAG-probe-token-0123456789",
        "appSecret": "probe-app-secret-0123",
        "verifyToken": "probe-verify-token",
    }
    response = call(api, "POST", "/channels/whatsapp", body, owner.headers())
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def create_conversation(owner: Account) -> tuple[str, str]:
    """A conversation with one received message; their ids."""
    # Written through the gateway's store (as its relay does): a conversation exists only once a customer wrote.
    from chalicelib.conversations import store
    from chalicelib.conversations.models import ConversationRecord, MessageRecord
    from chalicelib.core import clock
    from chalicelib.core.db.store import tenant_scope

    now = clock.now()
    at = clock.isoformat(now)
    conversation = ConversationRecord(
        id=store.conversation_id(new_id(), "5511987654321"),
        tenant_id=owner.tenant_id,
        channel_id=new_id(),
        phone_number_id="100000000000009",
        wa_id="5511987654321",
        last_message_at=at,
        created_at=at,
    )
    message = MessageRecord(
        id=store.message_id(now, f"wamid.{new_id()}"),
        tenant_id=owner.tenant_id,
        conversation_id=conversation.id,
        direction="in",
        source="whatsapp",
        text="probe",
        status="failed",
        sent_at=at,
        created_at=at,
        updated_at=at,
    )
    with tenant_scope(owner.tenant_id):
        store.create_conversation(conversation)
        store.create_message(message)
    return conversation.id, message.id


def create_order(api: Any, owner: Account) -> str:
    """An order of one service; its id."""
    product = create_product(api, owner, kind="service", name="Probe service")
    response = call(api, "POST", "/orders", {"items": [{"productId": product["id"], "quantity": 1}]}, owner.headers())
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def create_sale(api: Any, owner: Account) -> str:
    """A sale of a new service to a new customer, by the ADMIN; its id."""
    service = create_product(api, owner, kind="service", name="Probe cleaning")
    body = {"serviceId": service["id"], "customerId": create_customer(api, owner)["id"]}
    response = call(api, "POST", "/sales", body, owner.headers())
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def create_lead(api: Any, owner: Account) -> str:
    """A lead owned by the ADMIN; its id."""
    response = call(api, "POST", "/leads", {"contactName": "Probe Lead"}, owner.headers())
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def create_export(api: Any, owner: Account) -> str:
    """An export of the customers (queued); its id."""
    response = call(api, "POST", "/exports", {"kind": "customers"}, owner.headers())
    assert response.status_code == 202, response.body
    return str(response.json_body["id"])


def create_payment(api: Any, owner: Account, order_id: str | None = None, *, sale_id: str | None = None) -> str:
    """A succeeded Stripe payment of the order (default: a new one), or of the sale; its id."""
    # Written through the ledger's store (as the confirmation of a provider's webhook does).
    from chalicelib.core import clock
    from chalicelib.core.db.store import Table, tenant_scope
    from chalicelib.core.money import Money
    from chalicelib.payments import store
    from chalicelib.payments.models import Payment

    at = clock.now_iso()
    payment = Payment(
        id=new_id(),
        tenant_id=owner.tenant_id,
        order_id=None if sale_id else (order_id or create_order(api, owner)),
        sale_id=sale_id,
        provider="stripe",
        provider_payment_id=f"pi_{new_id().lower()}",
        status="succeeded",
        amount=Money.of("10.00", "BRL"),
        amount_refunded=Money.zero("BRL"),
        captured=True,
        created_at=at,
        updated_at=at,
    )
    with tenant_scope(owner.tenant_id):
        Table().transact(store.new_payment_ops(payment))
    return payment.id


def create_paid_link(api: Any, owner: Account, kind: Literal["order", "sale"] = "order") -> str:
    """An order (or a sale) with a used Stripe payment link and the payment made through it; the order's id."""
    # Written through the ledger's store (as a link made at the fake and paid there would leave them).
    import hashlib
    import time

    from chalicelib.core import clock
    from chalicelib.core.db.store import Table, unscoped
    from chalicelib.core.money import Money
    from chalicelib.payments import store
    from chalicelib.payments.models import PaymentLink, paid_ids

    paid_id = create_order(api, owner) if kind == "order" else create_sale(api, owner)
    order_id, sale_id = paid_ids((kind, paid_id))
    payment_id = create_payment(api, owner, order_id, sale_id=sale_id)
    at = clock.now_iso()
    link = PaymentLink(
        id=new_id(),
        tenant_id=owner.tenant_id,
        order_id=order_id,
        sale_id=sale_id,
        provider="stripe",
        status="used",
        amount=Money.of("10.00", "BRL"),
        locale="pt-BR",
        valid_until=at,
        provider_checkout_id=f"cs_test_{new_id().lower()}",
        created_by=owner.user_id,
        created_at=at,
        updated_at=at,
        used_at=at,
        payment_id=payment_id,
    )
    token_hash = hashlib.sha256(new_id().encode()).hexdigest()
    with unscoped():  # the link's route is the platform's (ROUTE#), written with the link
        Table().transact(store.new_link_ops(link, token_hash, int(time.time()) + 3600))
    return paid_id


def create_listing(api: Any, owner: Account) -> str:
    """A visible marketplace listing of a new product with 10 units; its id."""
    from tests.support.commerce import stocked_product
    from tests.support.marketplace import publish

    return str(publish(api, owner, stocked_product(api, owner, 10, name=f"Probe {new_id()}")["id"], "9.90")["id"])


def create_market_order(api: Any, *, buyer: Account | None = None, seller: Account | None = None) -> dict[str, Any]:
    """A marketplace order of one unit (a new tenant on the side not given); the buyer's purchase."""
    from tests.support.identity import signup

    seller = seller or signup(api)[0]
    buyer = buyer or signup(api)[0]
    body = {"listingId": create_listing(api, seller), "quantity": 1}
    response = call(api, "POST", "/marketplace/orders", body, buyer.headers())
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def create_bank_account(api: Any, owner: Account) -> str:
    """A bank account in BRL with 1000.00; its id."""
    body = {"name": "Probe bank", "number": "12345-6", "openingBalance": {"amount": "1000.00", "currency": "BRL"}}
    response = call(api, "POST", "/finance/accounts", body, owner.headers())
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def create_payout(api: Any, owner: Account) -> str:
    """A pending payout of 10.00 from a new account; its id."""
    body = {
        "accountId": create_bank_account(api, owner),
        "amount": {"amount": "10.00", "currency": "BRL"},
        "date": "2026-01-05",
        "beneficiary": "Probe",
        "number": "777-1",
    }
    response = call(api, "POST", "/finance/payouts", body, owner.headers())
    assert response.status_code == 201, response.body
    return str(response.json_body["id"])


def _privacy_request(api: Any, owner: Account, path: str, subject: str, subject_id: str) -> str:
    """A data export or an erasure of a person of the owner's tenant (queued); its id."""
    response = call(api, "POST", path, {"subject": subject, "id": subject_id}, owner.headers())
    assert response.status_code == 202, response.body
    return str(response.json_body["id"])
