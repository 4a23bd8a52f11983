"""Customers over HTTP: unique email and phone, lookups, name search, documents, consents, stats, deletion."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.access.permissions import Role
from chalicelib.core import clock
from chalicelib.core.db.store import Table
from chalicelib.core.errors import InvalidInput
from chalicelib.core.money import Money
from chalicelib.customers import service
from tests.support.commerce import WrittenEvent, create_customer
from tests.support.identity import add_user, call, signup


def _field(response: Any) -> str:
    return str(response.json_body["errors"][0]["field"])


def test_customer_is_created_with_a_masked_document_and_stamped_consents(
    api: Any, written_events: list[WrittenEvent]
) -> None:
    admin, _ = signup(api)
    body = {
        "name": "João da Silva",
        "email": " Joao@Example.com ",
        "phone": "+55 11 98765-4321",
        "document": "529.982.247-25",
        "address": {
            "street": "Av. Paulista",
            "number": "1000",
            "city": "São Paulo",
            "state": "SP",
            "postalCode": "01310100",
            "country": "br",
        },
        "tags": ["VIP", "vip", "Atacado"],
        "consents": {"email": True, "whatsapp": False},
        "notes": "Prefere entrega à tarde",
    }
    created = call(api, "POST", "/customers", body, admin.headers())
    assert created.status_code == 201, created.body
    customer = created.json_body
    assert (customer["email"], customer["phone"]) == ("joao@example.com", "+5511987654321")
    assert (customer["documentType"], customer["documentMasked"]) == ("cpf", "****4725")
    assert customer["address"]["postalCode"] == "01310-100"
    assert customer["tags"] == ["VIP", "Atacado"]
    assert customer["consents"]["email"]["granted"] is True
    assert customer["consents"]["whatsapp"]["granted"] is False
    assert customer["consents"]["sms"] is None
    assert customer["stats"] == {
        "ordersCount": 0,
        "totalSpent": {"amount": "0.00", "currency": "BRL"},
        "lastOrderAt": None,
    }
    assert "52998224725" not in str(call(api, "GET", f"/customers/{customer['id']}", headers=admin.headers()).body)
    audit = call(api, "GET", f"/audit-log?entityType=customer&entityId={customer['id']}", headers=admin.headers())
    assert audit.json_body["items"][0]["after"]["documentEncrypted"] == "***"
    assert ("customer.created", customer["id"]) in [(e.type, e.subject) for e in written_events]


def test_invalid_customers_are_refused_naming_the_field(api: Any) -> None:
    admin, _ = signup(api)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"email": "not-an-email"}, "body.email"),
        ({"phone": "12345"}, "body.phone"),
        ({"document": "111.111.111-11"}, "body.document"),
        ({"document": "123"}, "body.document"),
        (
            {"address": {"street": "Rua A", "city": "Recife", "country": "BR", "postalCode": "123"}},
            "body.address.postalCode",
        ),
        ({"address": {"street": "Rua A", "city": "Recife", "country": "Brasil"}}, "body.address.country"),
        ({"tags": [f"t{i}" for i in range(21)]}, "body.tags"),
        ({"consents": {"fax": True}}, "body.consents.fax"),
        ({"name": "!!"}, "body.name"),
    ]
    for change, field in cases:
        response = call(api, "POST", "/customers", {"name": "Ana", **change}, admin.headers())
        assert response.status_code == 422, (change, response.body)
        assert _field(response) == field, change
    cnpj = create_customer(api, admin, name="Padaria Ltda", document="11.222.333/0001-81")
    assert cnpj["documentType"] == "cnpj"


def test_email_and_phone_are_unique_and_changing_them_moves_the_claim(api: Any) -> None:
    admin, _ = signup(api)
    ana = create_customer(api, admin, name="Ana", email="ana@example.com", phone="+5511999990001")
    taken = call(api, "POST", "/customers", {"name": "Outra", "email": "ANA@example.com"}, admin.headers())
    assert (taken.status_code, _field(taken)) == (409, "body.email")
    taken = call(api, "POST", "/customers", {"name": "Outra", "phone": "+55 11 99999-0001"}, admin.headers())
    assert (taken.status_code, _field(taken)) == (409, "body.phone")
    other_tenant, _ = signup(api)
    assert create_customer(api, other_tenant, name="Ana", email="ana@example.com")["email"] == "ana@example.com"

    path = f"/customers/{ana['id']}"
    changed = call(api, "PATCH", path, {"version": 1, "email": "ana.souza@example.com", "phone": None}, admin.headers())
    assert changed.status_code == 200, changed.body
    assert (changed.json_body["email"], changed.json_body["phone"]) == ("ana.souza@example.com", None)
    reused = create_customer(api, admin, name="Nova", email="ana@example.com", phone="+5511999990001")
    bea = create_customer(api, admin, name="Bea", email="bea@example.com")
    clash = call(
        api, "PATCH", f"/customers/{bea['id']}", {"version": 1, "email": "ana.souza@example.com"}, admin.headers()
    )
    assert (clash.status_code, _field(clash)) == (409, "body.email")
    stale = call(api, "PATCH", path, {"version": 1, "name": "Ana S."}, admin.headers())
    assert stale.status_code == 409

    def found(query: str) -> list[str]:
        response = call(api, "GET", f"/customers?{query}", headers=admin.headers())
        assert response.status_code == 200, response.body
        return [c["id"] for c in response.json_body["items"]]

    assert found("email=Ana.Souza@example.com") == [ana["id"]]
    assert found("email=ana@example.com") == [reused["id"]]
    assert found("phone=%2B5511999990001") == [reused["id"]]
    assert found("phone=5511999990001") == [reused["id"]]
    assert found("email=nobody@example.com") == []
    both = call(api, "GET", "/customers?email=a@example.com&q=a", headers=admin.headers())
    assert (both.status_code, _field(both)) == (422, "query.q")


def test_concurrent_creates_with_one_email_keep_one_customer(api: Any) -> None:
    admin, _ = signup(api)
    body = {"name": "Duplicada", "email": "dupla@example.com"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(
            pool.map(lambda _: call(api, "POST", "/customers", body, admin.headers()).status_code, range(6))
        )
    assert sorted(statuses) == [201] + [409] * 5
    assert len(call(api, "GET", "/customers?email=dupla@example.com", headers=admin.headers()).json_body["items"]) == 1


def test_lists_newest_first_and_finds_names_by_prefix_ignoring_accents(api: Any) -> None:
    admin, _ = signup(api)
    names = ["Álvaro Reis", "alice Souza", "Bruno", "ÂNGELA Dias"]
    for name in names:
        create_customer(api, admin, name=name)
    first = call(api, "GET", "/customers?limit=3", headers=admin.headers()).json_body
    rest = call(api, "GET", f"/customers?limit=3&cursor={first['nextCursor']}", headers=admin.headers()).json_body
    assert [c["name"] for c in first["items"] + rest["items"]] == list(reversed(names))
    matched = call(api, "GET", "/customers?q=al", headers=admin.headers()).json_body["items"]
    assert [c["name"] for c in matched] == ["alice Souza", "Álvaro Reis"]
    assert [c["name"] for c in call(api, "GET", "/customers?q=ANG", headers=admin.headers()).json_body["items"]] == [
        "ÂNGELA Dias"
    ]


def test_updates_merge_consents_replace_tags_and_clear_with_null(api: Any, written_events: list[WrittenEvent]) -> None:
    admin, _ = signup(api)
    customer = create_customer(
        api, admin, consents={"email": True, "sms": True}, tags=["a"], notes="x", document="52998224725"
    )
    path = f"/customers/{customer['id']}"
    changed = call(
        api,
        "PATCH",
        path,
        {"version": 1, "consents": {"sms": False, "email": True}, "tags": ["b", "c"], "notes": None, "document": None},
        admin.headers(),
    ).json_body
    assert changed["consents"]["email"] == customer["consents"]["email"]  # same answer: time unchanged
    assert changed["consents"]["sms"]["granted"] is False
    assert changed["consents"]["sms"]["updatedAt"] >= customer["consents"]["sms"]["updatedAt"]
    assert (changed["tags"], changed["notes"], changed["documentMasked"]) == (["b", "c"], None, None)
    assert call(api, "GET", path, headers=admin.headers()).json_body == changed
    updated = [e for e in written_events if e.type == "customer.updated"]
    assert updated[-1].data == {"changed": ["consents", "document", "notes", "tags"]}
    nulled = call(api, "PATCH", path, {"version": 2, "name": None}, admin.headers())
    assert (nulled.status_code, _field(nulled)) == (422, "body.name")


def test_order_stats_add_up_atomically(api: Any) -> None:
    admin, _ = signup(api)
    customer = create_customer(api, admin)
    tenant, cid = admin.tenant_id, customer["id"]
    moments = [f"2026-11-2{i}T12:00:00.000Z" for i in range(5)]

    def order(i: int) -> None:
        Table().transact(service.record_order_ops(tenant, cid, Money.of("10.25", "BRL"), moments[i]))

    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(order, range(5)))
    stats = call(api, "GET", f"/customers/{cid}", headers=admin.headers()).json_body["stats"]
    assert (stats["ordersCount"], stats["totalSpent"]) == (5, {"amount": "51.25", "currency": "BRL"})
    assert stats["lastOrderAt"] in moments
    with pytest.raises(InvalidInput) as mismatch:
        service.record_order_ops(tenant, cid, Money.of("1", "USD"), clock.now_iso())
    assert mismatch.value.errors[0].loc == "total.currency"
    assert service.record_order_ops(tenant, "01NOSUCHCUSTOMER", Money.of("1", "BRL"), moments[0]) == []


def test_deleting_a_customer_frees_email_and_phone(api: Any, written_events: list[WrittenEvent]) -> None:
    admin, _ = signup(api)
    staff = add_user(api, admin, Role.STAFF)
    viewer = add_user(api, admin, Role.VIEWER)
    customer = create_customer(api, staff, email="sai@example.com", phone="+5511999990002")
    path = f"/customers/{customer['id']}"
    assert call(api, "DELETE", path, headers=viewer.headers()).status_code == 403
    assert call(api, "DELETE", path, headers=staff.headers()).status_code == 204
    assert call(api, "GET", path, headers=staff.headers()).status_code == 404
    assert call(api, "DELETE", path, headers=staff.headers()).status_code == 404
    assert create_customer(api, staff, email="sai@example.com", phone="+5511999990002")["id"] != customer["id"]
    assert ("customer.deleted", customer["id"]) in [(e.type, e.subject) for e in written_events]


def test_idempotent_customer_create_replays(api: Any) -> None:
    admin, _ = signup(api)
    headers = admin.headers(**{"Idempotency-Key": "signup-form-1"})
    body = {"name": "Carla", "email": "carla@example.com"}
    first = call(api, "POST", "/customers", body, headers)
    again = call(api, "POST", "/customers", body, headers)
    assert (first.status_code, again.status_code, again.json_body) == (201, 201, first.json_body)
    with ThreadPoolExecutor(max_workers=4) as pool:
        raced = list(
            pool.map(
                lambda _: call(api, "POST", "/customers", {"name": "Duda"}, admin.headers(**{"Idempotency-Key": "k2"})),
                range(4),
            )
        )
    assert {r.status_code for r in raced} == {201}
    assert len({r.json_body["id"] for r in raced}) == 1
