"""The built-in flows of selling: Tekup's sale and lead, and the StockTech marketplace transaction."""

from __future__ import annotations

from chalicelib.workflows.flow_parts import (
    DAY,
    FLOOR,
    IN_PROGRESS,
    MANAGERS,
    PENDING,
    SELLERS,
    cancelled,
    completed,
    flow,
    moves,
    notify,
    remind,
    status,
)
from chalicelib.workflows.models import EntityType, WorkflowDefinition

__all__ = ["lead", "marketplace_transaction", "sale"]


def sale(entity_type: EntityType) -> WorkflowDefinition:
    """Tekup sales: PENDING → ACCEPTED → SCHEDULED (calendar event) → IN_PROGRESS → COMPLETED (invoice)."""
    e = entity_type.value
    return flow(
        entity_type,
        "PENDING",
        [
            status("PENDING", PENDING),
            status("ACCEPTED", ("Aceita", "Accepted", "Aceptada")),
            status(
                "SCHEDULED",
                ("Agendada", "Scheduled", "Programada"),
                on_enter=(
                    {"kind": "create_calendar_event", "startField": "scheduledAt"},
                    notify(f"{e}.scheduled", "customer", "email"),
                ),
            ),
            status("IN_PROGRESS", IN_PROGRESS),
            completed(e, {"kind": "create_invoice"}),
            cancelled(),
        ],
        moves(
            ("PENDING", "ACCEPTED", SELLERS),
            ("ACCEPTED", "SCHEDULED", SELLERS),
            ("ACCEPTED", "IN_PROGRESS", SELLERS),
            ("SCHEDULED", "IN_PROGRESS", SELLERS),
            ("IN_PROGRESS", "COMPLETED", SELLERS),
            ("PENDING", "CANCELLED", SELLERS),
            ("ACCEPTED", "CANCELLED", SELLERS),
            ("SCHEDULED", "CANCELLED", SELLERS),
            ("IN_PROGRESS", "CANCELLED", MANAGERS),
        ),
    )


def lead(entity_type: EntityType) -> WorkflowDefinition:
    """Tekup leads: NEW → CONTACTED → QUALIFIED → CONVERTED, or LOST; while open, the owner is reminded (email) at the
    lead's follow-up time (``followUpAt``, a day after creation unless set). CONVERTED is reached through the
    conversion, whose ``lead.converted`` event is a domain event (with the sale and the customer)."""
    e = entity_type.value
    follow_up = (
        {
            "beforeField": "followUpAt",
            "beforeSeconds": 0,
            "remind": remind(f"{e}.follow_up", "assigned_user", "email"),
        },
    )
    return flow(
        entity_type,
        "NEW",
        [
            status("NEW", ("Novo", "New", "Nuevo"), timers=follow_up),
            status("CONTACTED", ("Contatado", "Contacted", "Contactado"), timers=follow_up),
            status("QUALIFIED", ("Qualificado", "Qualified", "Calificado"), timers=follow_up),
            status("CONVERTED", ("Convertido", "Converted", "Convertido"), terminal=True),
            status("LOST", ("Perdido", "Lost", "Perdido"), terminal=True),
        ],
        moves(
            ("NEW", "CONTACTED", SELLERS),
            ("CONTACTED", "QUALIFIED", SELLERS),
            ("QUALIFIED", "CONVERTED", SELLERS),
            ("NEW", "LOST", SELLERS),
            ("CONTACTED", "LOST", SELLERS),
            ("QUALIFIED", "LOST", SELLERS),
        ),
    )


def marketplace_transaction(entity_type: EntityType) -> WorkflowDefinition:
    """StockTech: PENDING (not confirmed by the seller in 72 h → CANCELLED) → CONFIRMED → COMPLETED. Buyer and
    seller settle payment between them (the purchase's WhatsApp link); the marketplace service notifies both."""
    e = entity_type.value
    return flow(
        entity_type,
        "PENDING",
        [
            status(
                "PENDING",
                PENDING,
                timers=({"afterSeconds": 3 * DAY, "transitionTo": "CANCELLED"},),
            ),
            status("CONFIRMED", ("Confirmada", "Confirmed", "Confirmada")),
            completed(e),
            cancelled(),
        ],
        moves(
            ("PENDING", "CONFIRMED", FLOOR),
            ("CONFIRMED", "COMPLETED", FLOOR),
            ("PENDING", "CANCELLED", FLOOR),
            ("CONFIRMED", "CANCELLED", MANAGERS),
        ),
    )
