"""Generated over every PATCH route: an explicit null in each field clears it (fields declared ``Clearable``) or
is a 422 naming it; never a 500. The OpenAPI document allows null exactly where null clears."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.core.patch import PatchRequest
from tests.support.entities import ENTITY_IDS
from tests.support.identity import Account, call, signup
from tests.support.request_models import declared_operations

PATCH_ROUTES = [(path, operation) for method, path, operation in declared_operations() if method == "PATCH"]


def _body(operation: Any) -> type[PatchRequest]:
    body = operation.body
    assert isinstance(body, type)
    assert issubclass(body, PatchRequest)
    return body


def _fields(response: Any) -> list[str]:
    return [str(error["field"]) for error in response.json_body.get("errors", [])]


@pytest.fixture(scope="module")
def owner(api: Any) -> Account:
    admin, _ = signup(api, plan="corporativo")
    return admin


def test_every_patch_route_is_covered() -> None:
    assert {path for path, _ in PATCH_ROUTES} >= {"/resources/{resource_id}", "/users/{user_id}", "/tenant"}


@pytest.mark.parametrize(("path", "operation"), PATCH_ROUTES, ids=[path for path, _ in PATCH_ROUTES])
def test_null_in_each_field_clears_it_or_is_a_422_naming_it(
    api: Any, owner: Account, path: str, operation: Any
) -> None:
    model = _body(operation)
    target = re.sub(r"\{(\w+)\}", lambda m: ENTITY_IDS[m.group(1)](api, owner), path)
    current = call(api, "GET", target, headers=owner.headers())
    assert current.status_code == 200, f"GET {path} reads what PATCH {path} changes: {current.status_code}"
    version = current.json_body.get("version")
    wrong = []
    for name, info in model.model_fields.items():
        alias = info.alias or name
        body: dict[str, Any] = {alias: None}
        if "version" in model.model_fields and alias != "version":
            body["version"] = version
        response = call(api, "PATCH", target, body, owner.headers())
        named = f"body.{alias}" in _fields(response)
        if name in model.clearable_fields:
            ok = 200 <= response.status_code < 300 or (response.status_code == 422 and named)
        else:
            ok = response.status_code == 422 and named
        if not ok:
            wrong.append(f"{alias}: {response.status_code} {response.body[:300]!r}")
        if 200 <= response.status_code < 300:
            version = response.json_body.get("version", version)
    assert wrong == []


def test_the_document_allows_null_exactly_for_the_clearable_fields(api: Any) -> None:
    document = api.get("/api-docs.json").json_body
    schemas = document["components"]["schemas"]
    for path, operation in PATCH_ROUTES:
        model = _body(operation)
        ref = document["paths"][path]["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        properties = schemas[ref.rsplit("/", 1)[-1]]["properties"]
        for name, info in model.model_fields.items():
            prop = properties[info.alias or name]
            nullable = {"type": "null"} in prop.get("anyOf", []) or prop.get("type") == "null"
            assert nullable == (name in model.clearable_fields), f"PATCH {path} {info.alias or name}: {prop}"
