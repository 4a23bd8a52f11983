"""PATCH bodies: null clears only clearable fields (else a 422 at the field), the schema says which, and a merge
the stored model refuses is a 422 naming the sent field."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from pydantic import Field, ValidationError

from chalicelib.core.api import ApiBlueprint
from chalicelib.core.errors import InvalidInput
from chalicelib.core.models import ApiModel
from chalicelib.core.patch import Clearable, PatchRequest, merge_patch


class Stored(ApiModel):
    id: str
    name: str
    time_zone: str
    notes: str | None = None
    version: int


class Change(PatchRequest):
    version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=2)
    time_zone: str | None = None
    notes: Annotated[str | None, Clearable()] = Field(default=None, max_length=200, description="Free text")


def _errors(raw: str) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as refused:
        Change.model_validate_json(raw)
    return [error["loc"] for error in refused.value.errors()]


def test_null_is_refused_at_each_field_that_may_not_be_empty() -> None:
    assert _errors('{"version": 1, "timeZone": null}') == [("timeZone",)]
    assert _errors('{"version": 1, "name": null}') == [("name",)]
    assert _errors('{"version": null, "name": "Ana"}') == [("version",)]


def test_null_clears_a_clearable_field_and_a_left_out_field_is_no_change() -> None:
    change = Change.model_validate_json('{"version": 3, "notes": null}')
    assert change.changes() == {"notes": None}
    assert Change.model_validate_json('{"version": 3, "name": "Ana"}').changes() == {"name": "Ana"}
    assert _errors('{"version": 3}') == [()]  # nothing to change
    assert Change.model_json_schema()["minProperties"] == 2  # the document says so: version and a change


def test_the_schema_allows_null_only_for_clearable_fields() -> None:
    properties = Change.model_json_schema()["properties"]
    assert properties["timeZone"]["type"] == "string"
    assert "anyOf" not in properties["timeZone"]
    assert "default" not in properties["timeZone"]
    assert properties["name"] == {"type": "string", "minLength": 2, "title": "Name"}
    assert {"type": "null"} in properties["notes"]["anyOf"]
    assert properties["notes"]["description"] == "Free text null clears it."


def test_a_merge_the_stored_model_refuses_names_the_sent_field() -> None:
    before = Stored(id="r1", name="Sala", time_zone="UTC", version=1)
    assert merge_patch(before, {"notes": "hi"}, version=2).notes == "hi"
    with pytest.raises(InvalidInput) as refused:
        merge_patch(before, {"timeZone": None}, version=2)
    assert [e.loc for e in refused.value.errors] == ["body.timeZone"]
    with pytest.raises(ValidationError):  # not what the client sent: a bug, not a 422
        merge_patch(before, {"notes": "hi"}, version="two")


def test_a_patch_route_must_take_a_patch_request() -> None:
    blueprint = ApiBlueprint(__name__, tag="things")
    with pytest.raises(TypeError, match="PatchRequest"):
        blueprint.operation("/things/{thing_id}", "PATCH", body=Stored)
    blueprint.operation("/things/{thing_id}", "PATCH", body=Change)
