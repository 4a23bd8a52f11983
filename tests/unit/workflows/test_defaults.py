"""Built-in workflows: every one is coherent, and each business type gets the flow the seeds describe."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.access.permissions import MATRIX, Permission, Role
from chalicelib.core.errors import InvalidInput
from chalicelib.core.i18n import SUPPORTED_LOCALES
from chalicelib.tenants.models import BusinessType
from chalicelib.workflows.defaults import all_defaults, default_definition
from chalicelib.workflows.models import EntityType, WorkflowDefinition, validate_definition


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
    seed = ["PENDING", "CONFIRMED", "PREPARING", "READY"]
    assert [s.name for s in flow.statuses if s.name != "PAID"][:4] == seed
    assert {t.to for t in flow.transitions if t.from_ == "READY"} == {"DELIVERED", "COMPLETED", "CANCELLED"}
    (timer,) = flow.status("PENDING").timers
    assert (timer.after_seconds, timer.transition_to) == (900, "CANCELLED")
    preparing = flow.find_transition("CONFIRMED", "PREPARING")
    assert preparing is not None
    assert Role.KITCHEN in preparing.roles
    assert Role.KITCHEN not in (flow.find_transition("PENDING", "CONFIRMED") or preparing).roles


@pytest.mark.parametrize("business", [BusinessType.RESTAURANT, BusinessType.RETAIL, BusinessType.SERVICES])
def test_flows_that_sell_move_a_pending_order_to_paid_when_it_is_paid(business: BusinessType) -> None:
    _, flow = default_definition(business, EntityType.ORDER)
    paid = flow.triggered_transition("PENDING", "payment")
    assert paid is not None
    assert paid.to == "PAID"
    assert not flow.status("PAID").terminal
    assert flow.triggered_transition("CONFIRMED", "payment") is None
    assert flow.find_transition("PAID", "CANCELLED") is not None


def test_a_flow_may_not_declare_two_payment_transitions_from_one_status() -> None:
    _, flow = default_definition(BusinessType.RETAIL, EntityType.ORDER)
    body = flow.model_dump(by_alias=True)
    body["transitions"].append({"from": "PENDING", "to": "CONFIRMED", "roles": ["ADMIN"], "trigger": "payment"})
    body["transitions"] = [
        t for t in body["transitions"] if (t["from"], t["to"], t["trigger"]) != ("PENDING", "CONFIRMED", None)
    ]
    with pytest.raises(InvalidInput) as raised:
        validate_definition(WorkflowDefinition.model_validate(body))
    assert raised.value.errors[0].code == "duplicate"
    assert raised.value.errors[0].loc.endswith(".trigger")


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
    assert flow.label("PREPARING", "da-DK") == "Tilberedes"
    assert flow.label("PREPARING", "da") == "Tilberedes"
    assert flow.label("PREPARING", "fr-FR") == "Preparing"  # fr-FR → fr → en-US


def test_every_built_in_status_has_a_label_in_every_supported_locale() -> None:
    for name, flow in all_defaults():
        for status in flow.statuses:
            assert set(status.labels) == set(SUPPORTED_LOCALES), (name, status.name)


def test_a_custom_flow_without_the_locale_falls_back_along_the_chain() -> None:
    _, flow = default_definition(BusinessType.RESTAURANT, EntityType.ORDER)
    custom = flow.model_copy(deep=True)
    custom.statuses[0].labels = {"pt-BR": "Aguardando"}
    assert custom.label(custom.statuses[0].name, "da-DK") == custom.statuses[0].name  # no da, no en-US: the name
    assert custom.labelled("pt-PT")[custom.statuses[0].name] == "Aguardando"  # pt-PT → pt
