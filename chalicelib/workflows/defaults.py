"""The built-in workflows: one per business type and entity type, with a generic one per entity type.

A tenant runs the built-in workflow of its business type until its ADMIN writes its own. The flows come from
the platform seed (restaurant, bike shop) and the business types BTRIX serves (clinic, pet store, retail,
sales and leads, marketplace). Roles follow the permission matrix: only roles that may transition the entity
at all are named (orders: ADMIN, MANAGER, STAFF, KITCHEN; appointments: ADMIN, MANAGER, STAFF, SALES_REP).

This module is the registry: which built-in flow each business type runs per entity type. The flows themselves are
built in ``order_flows``, ``appointment_flows`` and ``sales_flows`` from the parts of ``flow_parts``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from chalicelib.tenants.models import BusinessType
from chalicelib.workflows.appointment_flows import appointment, clinic_appointment, pet_store_appointment
from chalicelib.workflows.models import EntityType, WorkflowDefinition
from chalicelib.workflows.order_flows import quote_service, restaurant_order, retail_order
from chalicelib.workflows.sales_flows import lead, marketplace_transaction, sale

__all__ = ["BUILT_IN", "DEFAULT_FLOWS", "all_defaults", "default_definition"]


# Built-in flows by name; each builds the flow for the entity type it is used for.
BUILT_IN: dict[str, Callable[[EntityType], WorkflowDefinition]] = {
    "restaurant_order": restaurant_order,
    "quote_service": quote_service,
    "clinic_appointment": clinic_appointment,
    "pet_store_appointment": pet_store_appointment,
    "appointment": appointment,
    "retail_order": retail_order,
    "sale": sale,
    "lead": lead,
    "marketplace_transaction": marketplace_transaction,
}

# Which built-in flow a business type runs per entity type; ``None`` is every other business type.
DEFAULT_FLOWS: dict[tuple[BusinessType | None, EntityType], str] = {
    (BusinessType.RESTAURANT, EntityType.ORDER): "restaurant_order",
    (BusinessType.BIKE_SHOP, EntityType.ORDER): "quote_service",
    (BusinessType.BIKE_SHOP, EntityType.SERVICE_JOB): "quote_service",
    (BusinessType.CLINIC, EntityType.APPOINTMENT): "clinic_appointment",
    (BusinessType.PET_STORE, EntityType.APPOINTMENT): "pet_store_appointment",
    (None, EntityType.ORDER): "retail_order",
    (None, EntityType.APPOINTMENT): "appointment",
    (None, EntityType.SERVICE_JOB): "quote_service",
    (None, EntityType.SALE): "sale",
    (None, EntityType.LEAD): "lead",
    (None, EntityType.MARKETPLACE_TRANSACTION): "marketplace_transaction",
}


@cache
def _built(name: str, entity_type: EntityType) -> WorkflowDefinition:
    return BUILT_IN[name](entity_type)


def default_definition(business_type: BusinessType, entity_type: EntityType) -> tuple[str, WorkflowDefinition]:
    """The built-in flow a tenant of ``business_type`` runs for ``entity_type``: (its name, the definition)."""
    name = DEFAULT_FLOWS.get((business_type, entity_type)) or DEFAULT_FLOWS[(None, entity_type)]
    return name, _built(name, entity_type)


def all_defaults() -> list[tuple[str, WorkflowDefinition]]:
    """Every (built-in name, definition) some tenant may run, once each (what infra deploys ahead of use)."""
    pairs = {(name, entity_type) for (_, entity_type), name in DEFAULT_FLOWS.items()}
    return [(name, _built(name, entity_type)) for name, entity_type in sorted(pairs)]
