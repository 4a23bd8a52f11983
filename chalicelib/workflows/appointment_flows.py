"""The built-in flows of appointments: the clinic's and the pet store's care visits, and the generic one (reminders
before ``startsAt``)."""

from __future__ import annotations

from chalicelib.workflows.flow_parts import (
    BOOKERS,
    DAY,
    FLOOR,
    HOUR,
    NO_SHOW,
    REQUESTED,
    Json,
    cancelled,
    completed,
    flow,
    moves,
    notify,
    remind,
    status,
)
from chalicelib.workflows.models import EntityType, WorkflowDefinition

__all__ = ["appointment", "clinic_appointment", "pet_store_appointment"]


def _reminders() -> tuple[Json, ...]:
    return (
        {"beforeField": "startsAt", "beforeSeconds": DAY, "remind": remind("appointment.reminder_24h", "customer")},
        {"beforeField": "startsAt", "beforeSeconds": HOUR, "remind": remind("appointment.reminder_1h", "customer")},
    )


def _care_appointment(
    entity_type: EntityType, in_service: tuple[str, str, str], done: tuple[Json, ...]
) -> WorkflowDefinition:
    return flow(
        entity_type,
        "REQUESTED",
        [
            status(
                "REQUESTED",
                REQUESTED,
                on_enter=(notify("appointment.requested", "tenant_admins", "push"),),
            ),
            status(
                "CONFIRMED",
                ("Confirmado", "Confirmed", "Confirmada"),
                on_enter=(notify("appointment.confirmed", "customer"), {"kind": "create_calendar_event"}),
                timers=_reminders(),
            ),
            status("CHECKED_IN", ("Check-in feito", "Checked in", "Registrada")),
            status("IN_SERVICE", in_service),
            completed("appointment", *done),
            status("NO_SHOW", NO_SHOW, terminal=True),
            cancelled("appointment"),
        ],
        moves(
            ("REQUESTED", "CONFIRMED", FLOOR),
            ("CONFIRMED", "CHECKED_IN", FLOOR),
            ("CHECKED_IN", "IN_SERVICE", FLOOR),
            ("IN_SERVICE", "COMPLETED", FLOOR),
            ("CONFIRMED", "NO_SHOW", FLOOR),
            ("REQUESTED", "CANCELLED", FLOOR),
            ("CONFIRMED", "CANCELLED", FLOOR),
        ),
    )


def clinic_appointment(entity_type: EntityType) -> WorkflowDefinition:
    """REQUESTED → CONFIRMED → CHECKED_IN → IN_SERVICE → COMPLETED, NO_SHOW, CANCELLED; reminders 24 h and 1 h
    before ``startsAt``."""
    return _care_appointment(entity_type, ("Em atendimento", "In consultation", "En consulta"), ())


def pet_store_appointment(entity_type: EntityType) -> WorkflowDefinition:
    """The clinic's flow for grooming and vet visits; the owner hears when the pet is ready."""
    return _care_appointment(
        entity_type,
        ("Em atendimento", "In service", "En atención"),
        (notify("appointment.pet_ready", "customer"),),
    )


def appointment(entity_type: EntityType) -> WorkflowDefinition:
    """Generic: REQUESTED → CONFIRMED → COMPLETED, NO_SHOW, CANCELLED; a reminder 24 h before ``startsAt``."""
    return flow(
        entity_type,
        "REQUESTED",
        [
            status("REQUESTED", REQUESTED),
            status(
                "CONFIRMED",
                ("Confirmado", "Confirmed", "Confirmada"),
                on_enter=(notify("appointment.confirmed", "customer"),),
                timers=(_reminders()[0],),
            ),
            completed("appointment"),
            status("NO_SHOW", NO_SHOW, terminal=True),
            cancelled("appointment"),
        ],
        moves(
            ("REQUESTED", "CONFIRMED", BOOKERS),
            ("CONFIRMED", "COMPLETED", BOOKERS),
            ("CONFIRMED", "NO_SHOW", BOOKERS),
            ("REQUESTED", "CANCELLED", BOOKERS),
            ("CONFIRMED", "CANCELLED", BOOKERS),
        ),
    )
