"""Categories and brands over HTTP: unique names, renames, lists, deletion only when empty."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.commerce import WrittenEvent, create_group, create_product
from tests.support.identity import call, signup


@pytest.mark.parametrize(("collection", "reference"), [("categories", "categoryId"), ("brands", "brandId")])
def test_names_are_unique_ignoring_case_and_accents_and_renames_move_the_claim(
    api: Any, collection: str, reference: str, written_events: list[WrittenEvent]
) -> None:
    admin, _ = signup(api)
    first = create_group(api, admin, collection, "Pães Artesanais")
    duplicate = call(api, "POST", f"/{collection}", {"name": "paes artesanais"}, admin.headers())
    assert duplicate.status_code == 409
    assert duplicate.json_body["errors"][0]["field"] == "body.name"

    path = f"/{collection}/{first['id']}"
    renamed = call(api, "PATCH", path, {"version": 1, "name": "Pães de Fermentação"}, admin.headers())
    assert (renamed.status_code, renamed.json_body["version"]) == (200, 2)
    assert call(api, "POST", f"/{collection}", {"name": "PÃES ARTESANAIS"}, admin.headers()).status_code == 201
    clash = call(api, "PATCH", path, {"version": 2, "name": "paes artesanais"}, admin.headers())
    assert (clash.status_code, clash.json_body["errors"][0]["field"]) == (409, "body.name")
    recased = call(api, "PATCH", path, {"version": 2, "name": "PÃES DE FERMENTAÇÃO"}, admin.headers())
    assert recased.status_code == 200  # same name folded: keeps its own claim
    stale = call(api, "PATCH", path, {"version": 1, "description": "x"}, admin.headers())
    assert stale.status_code == 409

    product = create_product(api, admin, **{reference: first["id"]})
    assert call(api, "GET", path, headers=admin.headers()).json_body["productCount"] == 1
    in_use = call(api, "DELETE", path, headers=admin.headers())
    assert (in_use.status_code, in_use.json_body["type"]) == (409, "urn:btrix:problem:in-use")
    call(api, "PATCH", f"/products/{product['id']}", {"version": 1, reference: None}, admin.headers())
    assert call(api, "DELETE", path, headers=admin.headers()).status_code == 204
    assert call(api, "GET", path, headers=admin.headers()).status_code == 404
    assert call(api, "POST", f"/{collection}", {"name": "Pães de fermentação"}, admin.headers()).status_code == 201
    kind = "category" if collection == "categories" else "brand"
    assert {f"{kind}.created", f"{kind}.updated", f"{kind}.deleted"} <= {e.type for e in written_events}


def test_groups_list_by_name_with_prefix_and_pages(api: Any) -> None:
    admin, _ = signup(api)
    for name in ("Doces", "bebidas", "Água e sucos", "Bolos"):
        create_group(api, admin, "categories", name)
    first = call(api, "GET", "/categories?limit=3", headers=admin.headers()).json_body
    assert [c["name"] for c in first["items"]] == ["Água e sucos", "bebidas", "Bolos"]
    rest = call(api, "GET", f"/categories?limit=3&cursor={first['nextCursor']}", headers=admin.headers()).json_body
    assert ([c["name"] for c in rest["items"]], rest["nextCursor"]) == (["Doces"], None)
    found = call(api, "GET", "/categories?q=B", headers=admin.headers()).json_body["items"]
    assert [c["name"] for c in found] == ["bebidas", "Bolos"]
    assert call(api, "GET", "/brands", headers=admin.headers()).json_body["items"] == []


def test_a_product_moved_between_categories_is_counted_and_listed_in_the_new_one(api: Any) -> None:
    admin, _ = signup(api)
    old = create_group(api, admin, "categories", "Antiga")
    new = create_group(api, admin, "categories", "Nova")
    product = create_product(api, admin, categoryId=old["id"])
    moved = call(api, "PATCH", f"/products/{product['id']}", {"version": 1, "categoryId": new["id"]}, admin.headers())
    assert moved.status_code == 200
    counts = {
        g["name"]: g["productCount"]
        for g in call(api, "GET", "/categories", headers=admin.headers()).json_body["items"]
    }
    assert counts == {"Antiga": 0, "Nova": 1}
    listed = call(api, "GET", f"/products?categoryId={new['id']}", headers=admin.headers()).json_body["items"]
    assert [p["id"] for p in listed] == [product["id"]]
    unknown = call(api, "PATCH", f"/products/{product['id']}", {"version": 2, "categoryId": "01NOPE"}, admin.headers())
    assert (unknown.status_code, unknown.json_body["errors"][0]["field"]) == (422, "body.categoryId")
