"""Domain errors and validation failures become RFC 9457 problems with the right status and fields."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ValidationError

from chalicelib.core import errors
from chalicelib.core.problems import (
    PROBLEM_CONTENT_TYPE,
    field_errors,
    gateway_problem,
    problem_for_status,
    problem_from_error,
    problem_response,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.MalformedRequest(), 400),
        (errors.InvalidInput(), 422),
        (errors.Unauthorized(), 401),
        (errors.Forbidden(), 403),
        (errors.NotFound(), 404),
        (errors.Conflict(), 409),
        (errors.LimitExceeded(limit="maxUsers"), 403),
        (errors.RateLimited(retry_after=60), 429),
        (errors.DependencyUnavailable(), 503),
    ],
)
def test_each_error_maps_to_its_status(error: errors.AppError, status: int) -> None:
    problem, _ = problem_from_error(error)
    assert problem.status == status
    assert problem.type.startswith("urn:btrix:problem:")


def test_rate_limit_carries_retry_after_and_plan_limit_names_the_limit() -> None:
    problem, headers = problem_from_error(errors.RateLimited(retry_after=42))
    assert headers == {"Retry-After": "42"}
    problem, _ = problem_from_error(errors.LimitExceeded(detail="plan Lojista allows 3 users", limit="maxUsers"))
    assert problem.limit == "maxUsers"
    assert "Lojista" in (problem.detail or "")


class _Line(BaseModel):
    quantity: int


class _Order(BaseModel):
    customer_id: str
    lines: list[_Line]


def test_validation_errors_name_each_field_path() -> None:
    with pytest.raises(ValidationError) as failure:
        _Order.model_validate({"lines": [{"quantity": 1}, {"quantity": "x"}]})
    paths = {e.loc for e in field_errors(failure.value, "body")}
    assert paths == {"body.customer_id", "body.lines[1].quantity"}


def test_problem_response_is_problem_json_without_nulls() -> None:
    response = problem_response(problem_for_status(405, "Unsupported method: POST"), instance="/health")
    assert response.headers["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = json.loads(response.body)
    assert body == {
        "type": "urn:btrix:problem:method-not-allowed",
        "title": "Method not allowed",
        "status": 405,
        "detail": "Unsupported method: POST",
        "instance": "/health",
    }


def test_server_errors_never_carry_details() -> None:
    assert "Traceback" not in (problem_for_status(500, "Traceback (most recent call last)").detail or "")


def test_gateway_missing_token_becomes_404() -> None:
    assert gateway_problem("MISSING_AUTHENTICATION_TOKEN").status == 404
    assert gateway_problem("UNAUTHORIZED").status == 401
