"""Generated over every request body and query string: each date-time a request names refuses instants outside
the years the services can compute with (a 422 naming the field), never with an exception out of a service (a
500). An offset may carry a valid local time out of Python's range once in UTC: ``0001-01-01T00:30:00+01:00``."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import BaseModel, ValidationError

from tests.support.entities import create_resource
from tests.support.identity import call, signup
from tests.support.request_models import BodyField, body_fields, declared_operations, fields_of

HOSTILE = ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00", "9999-12-31T23:55:00Z", "0001-01-01T00:00:00Z"]


def _holds_a_datetime(annotation: Any) -> bool:
    return annotation is datetime or any(_holds_a_datetime(arg) for arg in typing.get_args(annotation))


BODY_INSTANTS = [f for f in body_fields() if _holds_a_datetime(f.info.annotation) and isinstance(f.loc[-1], str)]


def _query_instants() -> Iterator[tuple[str, type[BaseModel], str]]:
    for method, path, operation in declared_operations():
        if operation.query is not None:
            for loc, info in fields_of(operation.query):
                if _holds_a_datetime(info.annotation):
                    yield f"{method} {path} query.{loc[-1]}", operation.query, str(loc[-1])


QUERY_INSTANTS = list(_query_instants())


def test_requests_name_instants() -> None:
    assert {str(field) for field in BODY_INSTANTS} >= {
        "POST /appointments body.startsAt",
        "POST /leads body.followUpAt",
        "POST /sales body.scheduledAt",
    }
    assert {label for label, _, _ in QUERY_INSTANTS} >= {"GET /availability query.from", "GET /sales query.to"}


@pytest.mark.parametrize("field", BODY_INSTANTS, ids=str)
def test_every_instant_of_a_body_refuses_what_the_services_cannot_compute_with(field: BodyField) -> None:
    assert field.operation.body is not None
    for moment in HOSTILE:
        with pytest.raises(ValidationError) as refused:
            field.operation.body.model_validate(field.body_with(moment))
        assert field.loc in [error["loc"] for error in refused.value.errors()], moment


@pytest.mark.parametrize(("label", "model", "name"), QUERY_INSTANTS, ids=[q[0] for q in QUERY_INSTANTS])
def test_every_instant_of_a_query_refuses_what_the_services_cannot_compute_with(
    label: str, model: type[BaseModel], name: str
) -> None:
    for moment in HOSTILE:
        with pytest.raises(ValidationError) as refused:
            model.model_validate({name: moment})
        assert (name,) in [error["loc"] for error in refused.value.errors()], moment


def test_an_offset_that_leaves_the_calendar_is_a_422_naming_the_field(api: Any) -> None:
    admin, _ = signup(api)
    resource = create_resource(api, admin)
    early = "0001-01-01T00:30:00+01:00"
    booking = {"resourceId": resource, "serviceId": "01M96XY34JVZB2RHNWZM6XEHN4", "startsAt": early}
    for method, path, body, field in (
        ("POST", "/appointments", booking, "body.startsAt"),
        ("POST", "/leads", {"contactName": "Ana", "followUpAt": early}, "body.followUpAt"),
        ("GET", f"/sales?from={quote(early)}", None, "query.from"),
        ("GET", f"/appointments?to={quote('9999-12-31T23:30:00-01:00')}", None, "query.to"),
        # a time without an offset is no instant (compared with one that has, it was a 500)
        ("GET", "/conversations?since=2026-01-01T00:00:00&until=2026-02-01T00:00:00Z", None, "query.since"),
    ):
        answer = call(api, method, path, body, admin.headers())
        assert answer.status_code == 422, f"{method} {path}: {answer.body!r}"
        assert field in [error["field"] for error in answer.json_body["errors"]], path
