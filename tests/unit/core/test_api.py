"""Declared operations: request parsing and validation, camelCase output, errors as problem+json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.app import Chalice
from chalice.test import Client
from pydantic import Field

from chalicelib.core.api import ApiBlueprint, http_middleware
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.models import ApiModel
from chalicelib.core.money import Money
from chalicelib.core.pagination import Page, PageParams
from chalicelib.core.problems import PROBLEM_CONTENT_TYPE
from localdev.gateway import ProblemGateway


class LineIn(ApiModel):
    product_id: str
    quantity: int = Field(ge=1)


class OrderIn(ApiModel):
    customer_id: str
    lines: list[LineIn] = Field(min_length=1)


class OrderOut(ApiModel):
    order_id: str
    line_count: int
    total: Money


def make_app() -> Chalice:
    """A small app with the shared middleware and one blueprint of declared operations.

    Built anew on each call: Chalice consumes a blueprint's registrations when an app registers it.
    """
    blueprint = ApiBlueprint(__name__, tag="orders")

    @blueprint.operation("/orders", "POST", body=OrderIn, response=OrderOut, status=201, problems=(409,))
    def create_order(body: OrderIn) -> OrderOut:
        """Create an order"""
        if body.customer_id == "taken":
            raise Conflict(detail="that order exists")
        return OrderOut(order_id="o1", line_count=len(body.lines), total=Money.of("10.5", "BRL"))

    @blueprint.operation("/orders", "GET", query=PageParams, response=Page[OrderOut])
    def list_orders(query: PageParams) -> Page[OrderOut]:
        """List orders"""
        order = OrderOut(order_id=f"limit-{query.limit}", line_count=0, total=Money.zero("BRL"))
        return Page[OrderOut](items=[order], next_cursor=None)

    @blueprint.operation("/orders/{order_id}", response=OrderOut, problems=(404,))
    def get_order(order_id: str) -> OrderOut:
        """Get an order"""
        raise NotFound(detail=f"order {order_id} not found")

    @blueprint.operation("/boom")
    def boom() -> None:
        """Fails unexpectedly"""
        raise RuntimeError("secret internals /etc/passwd")

    app = Chalice(app_name="api-test")
    app.register_middleware(http_middleware, "http")
    app.register_blueprint(blueprint)
    return app


@pytest.fixture(scope="module")
def http() -> Iterator[Any]:
    app = make_app()
    with Client(app) as client:
        client.http._local_gateway = ProblemGateway(app, client._chalice_config)
        yield client.http


def _post(http: Any, body: Any) -> Any:
    raw = body if isinstance(body, str) else json.dumps(body)
    return http.post("/orders", body=raw, headers={"Content-Type": "application/json"})


def test_valid_body_is_parsed_and_the_answer_is_camel_case(http: Any) -> None:
    response = _post(http, {"customerId": "c1", "lines": [{"productId": "p1", "quantity": 2}]})
    assert response.status_code == 201
    assert response.json_body == {"orderId": "o1", "lineCount": 1, "total": {"amount": "10.50", "currency": "BRL"}}


def test_invalid_fields_are_a_422_naming_each_field(http: Any) -> None:
    response = _post(http, {"lines": [{"productId": "p1", "quantity": 0}], "extra": 1})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    fields = {e["field"] for e in response.json_body["errors"]}
    assert fields == {"body.customerId", "body.lines[0].quantity", "body.extra"}


def test_malformed_json_is_a_400(http: Any) -> None:
    response = _post(http, '{"customerId": ')
    assert response.status_code == 400
    assert response.json_body["type"] == "urn:btrix:problem:malformed-request"


def test_wrong_content_type_is_a_415_problem(http: Any) -> None:
    response = http.post("/orders", body="customerId=c1", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE


def test_query_parameters_are_validated(http: Any) -> None:
    page = http.get("/orders?limit=7").json_body
    assert page == {
        "items": [{"orderId": "limit-7", "lineCount": 0, "total": {"amount": "0.00", "currency": "BRL"}}],
        "nextCursor": None,
    }
    response = http.get("/orders?limit=500")
    assert response.status_code == 422
    assert [e["field"] for e in response.json_body["errors"]] == ["query.limit"]


def test_domain_errors_become_their_problem(http: Any) -> None:
    assert _post(http, {"customerId": "taken", "lines": [{"productId": "p", "quantity": 1}]}).status_code == 409
    response = http.get("/orders/o9")
    assert response.status_code == 404
    assert response.json_body["detail"] == "order o9 not found"
    assert response.json_body["instance"] == "/orders/o9"


def test_unexpected_failure_is_a_500_problem_without_internals(http: Any) -> None:
    response = http.get("/boom")
    assert response.status_code == 500
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    text = response.body.decode()
    assert "passwd" not in text
    assert "Traceback" not in text
