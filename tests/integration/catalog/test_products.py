"""Products and services over HTTP: codes, validation, search, lists, versions, deactivation, plan limit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.access.permissions import Role
from chalicelib.catalog.codes import is_valid_code
from chalicelib.core.db.store import Table, counter_op
from chalicelib.tenants.store import tenant_key
from tests.support.commerce import WrittenEvent, create_group, create_product
from tests.support.identity import add_user, call, signup


def _field(response: Any) -> str:
    return str(response.json_body["errors"][0]["field"])


def test_created_product_has_a_valid_code_and_reads_back_as_sent(api: Any, written_events: list[WrittenEvent]) -> None:
    admin, _ = signup(api, companyName="Rota do Pão")
    body = {
        "kind": "product",
        "name": "Pão de queijo",
        "description": "Assado na hora",
        "price": {"amount": "6.5", "currency": "brl"},
        "taxRate": "18.5",
        "imageUrls": ["https://cdn.example.com/pao.jpg"],
        "specifications": {"peso": "80 g"},
    }
    created = call(api, "POST", "/products", body, admin.headers())
    assert created.status_code == 201
    product = created.json_body
    assert product["code"].startswith("RP")
    assert is_valid_code(product["code"])
    assert product["price"] == {"amount": "6.50", "currency": "BRL"}
    assert (product["taxRate"], product["active"], product["version"]) == ("18.5", True, 1)
    assert call(api, "GET", f"/products/{product['id']}", headers=admin.headers()).json_body == product
    assert call(api, "GET", "/tenant", headers=admin.headers()).json_body["productCount"] == 1
    assert ("product.created", product["id"]) in [(e.type, e.subject) for e in written_events]
    trail = call(api, "GET", f"/audit-log?entityType=product&entityId={product['id']}", headers=admin.headers())
    assert [e["action"] for e in trail.json_body["items"]] == ["product.created"]

    service = create_product(api, admin, kind="service", name="Entrega", durationMinutes=45)
    assert (service["code"][:2], service["durationMinutes"]) == ("RS", 45)


def test_invalid_products_are_refused_naming_the_field(api: Any) -> None:
    admin, _ = signup(api)
    base = {"kind": "product", "name": "Bolo", "price": {"amount": "10.00", "currency": "BRL"}}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "service"}, "body.durationMinutes"),
        ({"durationMinutes": 30}, "body.durationMinutes"),
        ({"price": {"amount": "10.00", "currency": "USD"}}, "body.price.currency"),
        ({"price": {"amount": "-1", "currency": "BRL"}}, "body.price.amount"),
        ({"price": {"amount": 10.5, "currency": "BRL"}}, "body.price.amount"),
        ({"price": {"amount": "999999999999", "currency": "BRL"}}, "body.price.amount"),
        ({"price": {"amount": "10.005", "currency": "BRL"}}, "body.price.amount"),
        ({"taxRate": "100.5"}, "body.taxRate"),
        ({"imageUrls": ["http://cdn.example.com/a.jpg"]}, "body.imageUrls[0]"),
        ({"imageUrls": [f"https://cdn.example.com/{i}.jpg" for i in range(11)]}, "body.imageUrls"),
        ({"specifications": {f"k{i}": "v" for i in range(31)}}, "body.specifications"),
        ({"name": "  "}, "body.name"),
        ({"categoryId": "01NOSUCHCATEGORY"}, "body.categoryId"),
        ({"kind": "gift"}, "body.kind"),
        ({"sku": "x"}, "body.sku"),
    ]
    for change, field in cases:
        response = call(api, "POST", "/products", {**base, **change}, admin.headers())
        assert (response.status_code, _field(response)) == (422, field), change
        assert response.headers["Content-Type"] == "application/problem+json"
    assert call(api, "GET", "/tenant", headers=admin.headers()).json_body["productCount"] == 0


def test_huge_or_exotic_prices_are_a_422_naming_the_amount_on_create_and_update(api: Any) -> None:
    # Before: "1e26" and longer raised decimal.InvalidOperation while validating (500); "1e-25" was stored as 0.00.
    admin, _ = signup(api)
    product = create_product(api, admin, name="Coxinha")
    path = f"/products/{product['id']}"
    base = {"kind": "product", "name": "Bolo"}
    for amount in ("1e100", "1e26", "1E+5000", "1" * 40, "NaN", "Infinity", "-0.00", "0.0000000000000000000000001"):
        price = {"amount": amount, "currency": "BRL"}
        created = call(api, "POST", "/products", {**base, "price": price}, admin.headers())
        assert (created.status_code, _field(created)) == (422, "body.price.amount"), amount
        updated = call(api, "PATCH", path, {"version": 1, "price": price}, admin.headers())
        assert (updated.status_code, _field(updated)) == (422, "body.price.amount"), amount
    assert call(api, "GET", path, headers=admin.headers()).json_body["version"] == 1


def test_name_search_ignores_case_and_accents(api: Any) -> None:
    admin, _ = signup(api)
    for name in ("Café Expresso", "CAFÉ com leite", "Cafeteira", "Chá mate", "Bolo de café"):
        create_product(api, admin, name=name)

    def names(query: str) -> list[str]:
        response = call(api, "GET", f"/products?{query}", headers=admin.headers())
        assert response.status_code == 200, response.body
        return [p["name"] for p in response.json_body["items"]]

    assert names("q=cafe") == ["CAFÉ com leite", "Café Expresso", "Cafeteira"]
    assert names("q=CAF%C3%89%20c") == ["CAFÉ com leite"]
    assert names("q=cha") == ["Chá mate"]
    assert names("q=expresso") == []  # a prefix of the name, not of any word
    assert names("") == ["Bolo de café", "CAFÉ com leite", "Café Expresso", "Cafeteira", "Chá mate"]
    assert call(api, "GET", "/products?q=%23", headers=admin.headers()).status_code == 422


def test_lists_by_category_brand_and_active_page_through_every_item(api: Any) -> None:
    admin, _ = signup(api)
    drinks = create_group(api, admin, "categories", "Bebidas")
    other = create_group(api, admin, "categories", "Doces")
    brand = create_group(api, admin, "brands", "Serra Azul")
    in_drinks = [
        create_product(api, admin, name=n, categoryId=drinks["id"], brandId=brand["id"] if n == "Água" else None)
        for n in ("Água", "Cerveja", "Suco", "Refrigerante", "Chá")
    ]
    create_product(api, admin, name="Brigadeiro", categoryId=other["id"], brandId=brand["id"])
    retired = next(p for p in in_drinks if p["name"] == "Cerveja")
    assert call(api, "DELETE", f"/products/{retired['id']}", headers=admin.headers()).json_body["active"] is False

    def listed(query: str, limit: int = 2) -> list[str]:
        seen: list[str] = []
        cursor = ""
        for _ in range(10):
            response = call(api, "GET", f"/products?{query}&limit={limit}{cursor}", headers=admin.headers())
            assert response.status_code == 200, response.body
            seen += [p["name"] for p in response.json_body["items"]]
            if not response.json_body["nextCursor"]:
                return seen
            cursor = f"&cursor={response.json_body['nextCursor']}"
        raise AssertionError("the pages did not end")

    category = f"categoryId={drinks['id']}"
    assert listed(category) == ["Água", "Chá", "Refrigerante", "Suco", "Cerveja"]  # active first, then by name
    assert listed(f"{category}&active=true") == ["Água", "Chá", "Refrigerante", "Suco"]
    assert listed(f"{category}&active=false") == ["Cerveja"]
    assert listed(f"{category}&q=c") == ["Chá", "Cerveja"]
    assert listed(f"brandId={brand['id']}") == ["Água", "Brigadeiro"]
    assert listed("active=false", limit=1) == ["Cerveja"]
    assert len(listed("active=true", limit=3)) == 5
    both = call(api, "GET", f"/products?{category}&brandId={brand['id']}", headers=admin.headers())
    assert (both.status_code, _field(both)) == (422, "query.brandId")

    first = call(api, "GET", f"/products?{category}&limit=1", headers=admin.headers()).json_body
    replayed = call(api, "GET", f"/products?active=true&limit=1&cursor={first['nextCursor']}", headers=admin.headers())
    assert (replayed.status_code, _field(replayed)) == (400, "query.cursor")
    stranger, _ = signup(api)
    foreign = call(api, "GET", f"/products?{category}&limit=1&cursor={first['nextCursor']}", headers=stranger.headers())
    assert foreign.status_code == 400


def test_code_lookup_finds_the_item_and_rejects_a_mistyped_code(api: Any) -> None:
    admin, _ = signup(api)
    product = create_product(api, admin, name="Coxinha")
    found = call(api, "GET", f"/products?code={product['code'].lower()}", headers=admin.headers()).json_body
    assert [p["id"] for p in found["items"]] == [product["id"]]
    digits = product["code"][2:8]
    swapped = product["code"][:2] + digits[1] + digits[0] + digits[2:] + product["code"][8]
    if swapped != product["code"]:
        response = call(api, "GET", f"/products?code={swapped}", headers=admin.headers())
        assert (response.status_code, _field(response)) == (422, "query.code")


def test_update_checks_the_version_keeps_kind_and_code_and_clears_with_null(api: Any) -> None:
    admin, _ = signup(api)
    category = create_group(api, admin, "categories", "Salgados")
    product = create_product(api, admin, name="Empada", categoryId=category["id"], description="Frango")
    path = f"/products/{product['id']}"
    changed = call(
        api, "PATCH", path, {"version": 1, "name": "Empada de palmito", "description": None}, admin.headers()
    )
    assert changed.status_code == 200, changed.body
    assert (changed.json_body["name"], changed.json_body["version"]) == ("Empada de palmito", 2)
    assert "description" not in {k for k, v in changed.json_body.items() if v is not None}
    assert changed.json_body["code"] == product["code"]
    stale = call(api, "PATCH", path, {"version": 1, "name": "Outra"}, admin.headers())
    assert stale.status_code == 409
    kind = call(api, "PATCH", path, {"version": 2, "kind": "service"}, admin.headers())
    assert (kind.status_code, _field(kind)) == (422, "body.kind")
    nulled = call(api, "PATCH", path, {"version": 2, "price": None}, admin.headers())
    assert (nulled.status_code, _field(nulled)) == (422, "body.price")
    cleared = call(api, "PATCH", path, {"version": 2, "categoryId": None}, admin.headers())
    assert cleared.json_body["categoryId"] is None
    assert call(api, "GET", f"/categories/{category['id']}", headers=admin.headers()).json_body["productCount"] == 0
    listed = call(api, "GET", f"/products?categoryId={category['id']}", headers=admin.headers()).json_body
    assert listed["items"] == []
    assert (
        call(api, "PATCH", "/products/01NOSUCHPRODUCT", {"version": 1, "name": "X"}, admin.headers()).status_code == 404
    )


def _set_product_count(tenant_id: str, count: int) -> None:
    Table().transact([counter_op(*tenant_key(tenant_id), "productCount", count)])


def test_max_products_is_enforced_and_deactivation_frees_a_slot(api: Any) -> None:
    admin, _ = signup(api, plan="lojista")  # Lojista: 100 products
    first = create_product(api, admin, name="Primeiro")
    _set_product_count(admin.tenant_id, 98)  # as if 99 were active
    create_product(api, admin, name="Centésimo")
    refused = call(
        api,
        "POST",
        "/products",
        {"kind": "product", "name": "Demais", "price": {"amount": "1", "currency": "BRL"}},
        admin.headers(),
    )
    assert refused.status_code == 403
    assert refused.json_body["limit"] == "maxProducts"
    assert "Lojista" in refused.json_body["detail"]
    inactive = call(
        api,
        "POST",
        "/products",
        {"kind": "product", "name": "Rascunho", "price": {"amount": "1", "currency": "BRL"}, "active": False},
        admin.headers(),
    )
    assert inactive.status_code == 201  # inactive items do not count
    call(api, "DELETE", f"/products/{first['id']}", headers=admin.headers())
    assert call(api, "GET", "/tenant", headers=admin.headers()).json_body["productCount"] == 99
    back = call(api, "PATCH", f"/products/{inactive.json_body['id']}", {"version": 1, "active": True}, admin.headers())
    assert back.status_code == 200
    again = call(api, "PATCH", f"/products/{first['id']}", {"version": 2, "active": True}, admin.headers())
    assert (again.status_code, again.json_body["limit"]) == (403, "maxProducts")


def test_concurrent_creates_at_the_limit_take_exactly_the_free_slots(api: Any) -> None:
    admin, _ = signup(api, plan="lojista")
    _set_product_count(admin.tenant_id, 97)
    body = {"kind": "product", "name": "Corrida", "price": {"amount": "1", "currency": "BRL"}}
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: call(api, "POST", "/products", body, admin.headers()).status_code, range(8)))
    assert sorted(statuses) == [201] * 3 + [403] * 5
    assert call(api, "GET", "/tenant", headers=admin.headers()).json_body["productCount"] == 100


def test_only_catalog_writers_change_the_catalog(api: Any) -> None:
    admin, _ = signup(api)
    staff = add_user(api, admin, Role.STAFF)
    product = create_product(api, admin)
    assert call(api, "GET", f"/products/{product['id']}", headers=staff.headers()).status_code == 200
    body = {"kind": "product", "name": "X", "price": {"amount": "1", "currency": "BRL"}}
    assert call(api, "POST", "/products", body, staff.headers()).status_code == 403
    assert call(api, "DELETE", f"/products/{product['id']}", headers=staff.headers()).status_code == 403


def test_idempotency_key_replays_the_create_and_refuses_another_body(api: Any) -> None:
    admin, _ = signup(api)
    body = {"kind": "product", "name": "Quibe", "price": {"amount": "7", "currency": "BRL"}}
    headers = admin.headers(**{"Idempotency-Key": "order-form-7f3a"})
    first = call(api, "POST", "/products", body, headers)
    again = call(api, "POST", "/products", body, headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json_body == first.json_body
    other = call(api, "POST", "/products", {**body, "name": "Esfiha"}, headers)
    assert (other.status_code, _field(other)) == (409, "header.Idempotency-Key")
    listed = call(api, "GET", "/products", headers=admin.headers()).json_body["items"]
    assert [p["name"] for p in listed] == ["Quibe"]
    fresh = call(api, "POST", "/products", body, admin.headers(**{"Idempotency-Key": "another-key"}))
    assert fresh.json_body["id"] != first.json_body["id"]
    bad = call(api, "POST", "/products", body, admin.headers(**{"Idempotency-Key": "x" * 256}))
    assert (bad.status_code, _field(bad)) == (422, "header.Idempotency-Key")


def test_racing_requests_with_one_idempotency_key_create_once(api: Any) -> None:
    admin, _ = signup(api)
    body = {"kind": "product", "name": "Pastel", "price": {"amount": "9", "currency": "BRL"}}
    headers = admin.headers(**{"Idempotency-Key": "double-click"})
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda _: call(api, "POST", "/products", body, headers), range(6)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json_body["id"] for r in responses}) == 1
    assert call(api, "GET", "/tenant", headers=admin.headers()).json_body["productCount"] == 1
