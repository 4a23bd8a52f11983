"""An operation documents every status it can answer, by construction; an undocumented answer is reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import StrEnum
from types import SimpleNamespace
from typing import Any

import pytest
from chalice.app import Chalice
from chalice.test import Client
from pydantic import Field

from chalicelib.core.api import (
    ApiBlueprint,
    Operation,
    http_middleware,
    listen_to_undocumented_statuses,
    operation_of,
)
from chalicelib.core.db import keys
from chalicelib.core.errors import Conflict
from chalicelib.core.ids import ID_PATTERN
from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import PageParams
from chalicelib.docs.openapi import build_openapi
from localdev.gateway import ProblemGateway
from tests.support import contracts


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class Line(ApiModel):
    product_id: str


class Basket(ApiModel):
    lines: list[Line] = Field(min_length=1)


class Rename(ApiModel):
    version: int
    name: str


class Out(ApiModel):
    id: str


def _app() -> Chalice:
    blueprint = ApiBlueprint(__name__, tag="things", guard=lambda request, operation: SimpleNamespace(tenant_id="T1"))

    @blueprint.operation("/things", "POST", body=Basket, response=Out, status=201, permission="things:write")
    def create(body: Basket) -> Out:
        """Create a thing from its lines (each product is looked up by its key)"""
        for line in body.lines:
            keys.entity_pk("T1", keys.Kind.PRODUCT, line.product_id)
        return Out(id="t1")

    @blueprint.operation("/things/{thing_id}", "PUT", body=Rename, response=Out, public=True)
    def rename(thing_id: str, body: Rename) -> Out:
        """Rename a thing"""
        keys.entity_pk("T1", keys.Kind.PRODUCT, thing_id)
        return Out(id=thing_id)

    @blueprint.operation("/colors/{color}", response=Out, query=PageParams, public=True)
    def color(color: Color, query: PageParams) -> Out:
        """A color (the path parameter is typed)"""
        assert isinstance(color, Color)
        return Out(id=color.value)

    @blueprint.operation("/clash", "POST", response=Out, public=True)
    def clash() -> Out:
        """Answers a 409 it does not declare"""
        raise Conflict(detail="taken")

    @blueprint.operation("/broken", response=Out, public=True)
    def broken() -> Out:
        """A key built from a constant, not from the request: a bug"""
        keys.entity_pk("T1", keys.Kind.PRODUCT, "")
        return Out(id="never")

    app = Chalice(app_name="statuses-test")
    app.register_middleware(http_middleware, "http")
    app.register_blueprint(blueprint)
    return app


APP = _app()


def _operation(path: str, method: str) -> Operation:
    operation = operation_of(APP.routes[path][method].view_function)
    assert operation is not None
    return operation


@pytest.fixture(scope="module")
def http() -> Iterator[Any]:
    with Client(APP) as client:
        client.http._local_gateway = ProblemGateway(APP, client._chalice_config)
        yield client.http


@pytest.fixture
def undocumented() -> Iterator[list[tuple[str, int]]]:
    heard: list[tuple[str, int]] = []
    stop = listen_to_undocumented_statuses(lambda op, status: heard.append((f"{op.method} {op.path}", status)))
    try:
        yield heard
    finally:
        stop()


def test_statuses_follow_from_the_declaration() -> None:
    # A guarded body: 401/403 from the guard, 415/422 from the body, 400, 429 (throttled) and 500 always.
    assert _operation("/things", "POST").statuses == {201, 400, 401, 403, 415, 422, 429, 500}
    # A path id (404, 422) and a versioned body (409: the version sent is stale).
    assert _operation("/things/{thing_id}", "PUT").statuses == {200, 400, 404, 409, 415, 422, 429, 500}
    assert _operation("/colors/{color}", "GET").statuses == {200, 400, 404, 422, 429, 500}


def test_the_document_lists_exactly_those_statuses_and_types_path_parameters() -> None:
    document = build_openapi(APP)
    for path, item in document["paths"].items():
        for method, described in item.items():
            documented = {int(status) for status in described["responses"]}
            assert documented == _operation(path, method.upper()).statuses, f"{method} {path}"
    (parameter,) = [p for p in document["paths"]["/colors/{color}"]["get"]["parameters"] if p["in"] == "path"]
    assert parameter["schema"]["enum"] == ["red", "blue"]
    # An id in the path has an id's shape (another shape is a 404 naming it).
    (thing,) = [p for p in document["paths"]["/things/{thing_id}"]["put"]["parameters"] if p["in"] == "path"]
    assert thing["schema"] == {"type": "string", "pattern": ID_PATTERN}


def test_a_typed_path_parameter_is_parsed_and_an_unknown_value_is_a_404_naming_it(http: Any) -> None:
    assert http.get("/colors/blue").json_body == {"id": "blue"}
    answer = http.get("/colors/green")
    assert answer.status_code == 404
    assert [e["field"] for e in answer.json_body["errors"]] == ["path.color"]


def test_an_id_that_cannot_be_a_key_is_a_422_naming_its_field(http: Any) -> None:
    sent = {"lines": [{"productId": "p1"}, {"productId": "a#b"}]}
    answer = http.post("/things", body=json.dumps(sent), headers={"Content-Type": "application/json"})
    assert answer.status_code == 422
    assert answer.json_body["errors"] == [
        {"field": "body.lines[1].productId", "message": "not an id: it is empty or contains '#'", "code": "invalid-id"}
    ]


def test_a_key_failure_the_request_did_not_cause_stays_a_500(http: Any) -> None:
    assert http.get("/broken").status_code == 500


def test_an_undocumented_answer_is_reported(http: Any, undocumented: list[tuple[str, int]]) -> None:
    assert http.post("/clash").status_code == 409
    assert undocumented == [("POST /clash", 409)]
    assert http.get("/colors/red").status_code == 200
    assert undocumented == [("POST /clash", 409)]
    # The test session's own listener heard it too, and would fail this test (tests/conftest.py): taken here.
    assert [v for v in contracts.take_violations() if "POST /clash answered 409" in v]
