"""The explicit list of entity types the engine runs: one owner each, each stored under its own kind."""

from __future__ import annotations

import pytest

from chalicelib.core.db.keys import Kind
from chalicelib.workflows.entities import entity_specs, find_spec, spec_of
from chalicelib.workflows.models import EntityType


def test_orders_and_appointments_run_on_the_engine_under_their_own_kind() -> None:
    specs = entity_specs()
    assert {EntityType.ORDER, EntityType.APPOINTMENT} <= set(specs)
    for entity_type, spec in specs.items():
        assert spec.entity_type is entity_type
        assert spec.kind is Kind[entity_type.name]
        assert spec.on_transition is not None


def test_a_type_nobody_owns_is_not_found() -> None:
    assert find_spec("invoice") is None
    with pytest.raises(LookupError):
        spec_of("invoice")
