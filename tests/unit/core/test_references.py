"""References in request bodies: every declared id is looked up once per kind in the caller's tenant, and each
missing one is a 422 naming its field."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Annotated

import pytest
from pydantic import Field

from chalicelib.core import references
from chalicelib.core.api import ApiBlueprint
from chalicelib.core.errors import InvalidInput
from chalicelib.core.models import ApiModel
from chalicelib.core.references import Ref, check_references, has_references, register_reference


class Line(ApiModel):
    gadget_id: Annotated[str, Ref("gadget")]
    quantity: int = 1


class Booking(ApiModel):
    owner_id: Annotated[str | None, Ref("person")] = None
    helper_ids: Annotated[list[str], Ref("person")] = Field(default_factory=list)
    lines: list[Line] = Field(default_factory=list)
    note: str = ""


class Plain(ApiModel):
    note: str


Asked = list[tuple[str, str, tuple[str, ...]]]


@pytest.fixture
def lookups() -> Iterator[Asked]:
    """Resolvers for the test kinds (tenant T1 has people P1, P2 and gadget G1), recording what they were asked."""
    asked: Asked = []
    known = {("T1", "person"): {"P1", "P2"}, ("T1", "gadget"): {"G1"}}

    def resolver(kind: str) -> references.Resolver:
        def resolve(tenant_id: str, ids: Sequence[str]) -> set[str]:
            asked.append((kind, tenant_id, tuple(ids)))
            return known.get((tenant_id, kind), set()) & set(ids)

        return resolve

    saved = dict(references._RESOLVERS)
    register_reference("person", resolver("person"))
    register_reference("gadget", resolver("gadget"))
    try:
        yield asked
    finally:
        references._RESOLVERS.clear()
        references._RESOLVERS.update(saved)


def test_each_unknown_id_is_named_and_each_kind_is_looked_up_once(
    lookups: Asked,
) -> None:
    body = Booking(owner_id="P1", helper_ids=["P2", "P9", "P1"], lines=[Line(gadget_id="G1"), Line(gadget_id="G7")])
    with pytest.raises(InvalidInput) as refused:
        check_references("T1", body)
    assert [e.loc for e in refused.value.errors] == ["body.helperIds[1]", "body.lines[1].gadgetId"]
    assert sorted(lookups) == [("gadget", "T1", ("G1", "G7")), ("person", "T1", ("P1", "P2", "P9"))]


def test_ids_of_another_tenant_are_unknown(lookups: Asked) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_references("T2", Booking(owner_id="P1"))
    assert [e.loc for e in refused.value.errors] == ["body.ownerId"]
    check_references("T1", Booking(owner_id="P1", lines=[Line(gadget_id="G1")]))


def test_a_body_without_ids_reads_nothing(lookups: Asked) -> None:
    check_references("T1", Booking())
    check_references("T1", Plain(note="x"))
    assert lookups == []
    assert has_references(Booking)
    assert not has_references(Plain)


def test_a_kind_nobody_resolves_is_a_programming_error() -> None:
    class Orphan(ApiModel):
        thing_id: Annotated[str, Ref("nobody-resolves-this")]

    with pytest.raises(LookupError, match="register_reference"):
        check_references("T1", Orphan(thing_id="X"))


def test_a_public_route_cannot_take_references() -> None:
    blueprint = ApiBlueprint(__name__, tag="bookings", guard=lambda request, operation: None)
    with pytest.raises(TypeError, match="public route"):
        blueprint.operation("/bookings", "POST", body=Booking, public=True)
    blueprint.operation("/bookings", "POST", body=Booking, permission="bookings:write")


def test_an_id_of_another_shape_is_unknown_without_a_lookup(lookups: Asked) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_references("T1", Booking(owner_id="", helper_ids=["P#1", "P1"], lines=[Line(gadget_id="G" * 65)]))
    assert [e.loc for e in refused.value.errors] == ["body.ownerId", "body.helperIds[0]", "body.lines[0].gadgetId"]
    assert lookups == [("person", "T1", ("P1",))]
