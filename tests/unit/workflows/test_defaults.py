"""Built-in workflows: every one is coherent, and each business type gets the flow the seeds describe."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.access.permissions import MATRIX, Permission, Role
from chalicelib.tenants.models import BusinessType
from chalicelib.workflows.defaults import all_defaults, default_definition
from chalicelib.workflows.models import EntityType, validate_definition


@pytest.mark.parametrize(("name", "definition"), all_defaults(), ids=lambda v: getattr(v, "entity_type", v))
def test_every_built_in_flow_is_valid(name: str, definition: object) -> None:
    validate_definition(definition)  # type: ignore[arg-type]


@pytest.mark.parametrize("business", list(BusinessType))
@pytest.mark.parametrize("entity_type", list(EntityType))
def test_every_business_type_has_a_flow_for_every_entity_type(business: BusinessType, entity_type: EntityType) -> None:
    _, definition = default_definition(business, entity_type)
    assert definition.entity_type is entity_type


def test_restaurant_orders_follow_the_seed_and_cancel_after_15_minutes() -> None:
    name, flow = default_definition(BusinessType.RESTAURANT, EntityType.ORDER)
    assert name == "restaurant_order"
    assert [s.name for s in flow.statuses][:4] == ["PENDING", "CONFIRMED", "PREPARING", "READY"]
    assert {t.to for t in flow.transitions if t.from_ == "READY"} == {"DELIVERED", "COMPLETED", "CANCELLED"}
    (timer,) = flow.status("PENDING").timers
    assert (timer.after_seconds, timer.transition_to) == (900, "CANCELLED")
    preparing = flow.find_transition("CONFIRMED", "PREPARING")
    assert preparing is not None
    assert Role.KITCHEN in preparing.roles
    assert Role.KITCHEN not in (flow.find_transition("PENDING", "CONFIRMED") or preparing).roles


def test_bike_shop_quotes_remind_after_48_hours() -> None:
    name, flow = default_definition(BusinessType.BIKE_SHOP, EntityType.SERVICE_JOB)
    assert name == "quote_service"
    chain = ["QUOTE_REQUESTED", "QUOTE_SENT", "QUOTE_APPROVED", "IN_PROGRESS", "READY_FOR_PICKUP", "COMPLETED"]
    assert all(flow.find_transition(a, b) for a, b in itertools.pairwise(chain))
    (timer,) = flow.status("QUOTE_SENT").timers
    assert timer.after_seconds == 48 * 3600
    assert timer.remind is not None
    assert timer.remind.to == "customer"


@pytest.mark.parametrize("business", [BusinessType.CLINIC, BusinessType.PET_STORE])
def test_clinic_and_pet_store_appointments_remind_24h_and_1h_before_they_start(business: BusinessType) -> None:
    _, flow = default_definition(business, EntityType.APPOINTMENT)
    assert {"REQUESTED", "CONFIRMED", "CHECKED_IN", "IN_SERVICE", "COMPLETED", "NO_SHOW", "CANCELLED"} <= {
        s.name for s in flow.statuses
    }
    timers = flow.status("CONFIRMED").timers
    assert [(t.before_field, t.before_seconds) for t in timers] == [("startsAt", 86400), ("startsAt", 3600)]


def test_roles_named_in_order_flows_may_transition_orders_at_all() -> None:
    for business in BusinessType:
        _, flow = default_definition(business, EntityType.ORDER)
        for transition in flow.transitions:
            for role in transition.roles:
                assert Permission.ORDERS_TRANSITION in MATRIX[role], (business, transition)


def test_labels_are_given_in_the_platform_locales() -> None:
    _, flow = default_definition(BusinessType.RESTAURANT, EntityType.ORDER)
    assert flow.label("PREPARING", "pt-BR") == "Em preparo"
    assert flow.label("PREPARING", "es-AR") == "En preparación"
    assert flow.label("PREPARING", "da-DK") == "PREPARING"
