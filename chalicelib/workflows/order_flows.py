"""The built-in flows of orders and service jobs: the seed's restaurant order and bike-shop quote, and the retail
order (paid by link, shipped and delivered by the carrier)."""

from __future__ import annotations

from chalicelib.workflows.flow_parts import (
    CONFIRMED,
    DAY,
    DELIVERED,
    FLOOR,
    IN_PROGRESS,
    KITCHEN,
    MANAGERS,
    PAID,
    PENDING,
    READY_FOR_PICKUP,
    cancelled,
    completed,
    flow,
    moves,
    notify,
    on_carrier,
    on_payment,
    remind,
    status,
    webhook,
)
from chalicelib.workflows.models import EntityType, WorkflowDefinition

__all__ = ["quote_service", "restaurant_order", "retail_order"]


def restaurant_order(entity_type: EntityType) -> WorkflowDefinition:
    """Seed flow: PENDING → CONFIRMED → PREPARING → READY → DELIVERED/COMPLETED; unconfirmed for 15 min: cancelled.
    An order paid through its payment link while PENDING moves to PAID by itself, then on as a confirmed one."""
    e = entity_type.value
    return flow(
        entity_type,
        "PENDING",
        [
            status(
                "PENDING",
                PENDING,
                on_enter=(notify(f"{e}.received", "customer"), notify(f"{e}.new", "tenant_admins", "push")),
                timers=({"afterSeconds": 15 * 60, "transitionTo": "CANCELLED"},),
            ),
            status("PAID", PAID),
            status("CONFIRMED", CONFIRMED, on_enter=(notify(f"{e}.confirmed", "customer"),)),
            status("PREPARING", ("Em preparo", "Preparing", "En preparación")),
            status("READY", ("Pronto", "Ready", "Listo"), on_enter=(notify(f"{e}.ready", "customer"),)),
            status(
                "DELIVERED",
                DELIVERED,
                terminal=True,
                on_enter=(webhook(f"{e}.delivered"),),
            ),
            completed(e),
            cancelled(e),
        ],
        [
            *moves(
                ("PENDING", "CONFIRMED", FLOOR),
                ("PAID", "CONFIRMED", FLOOR),
                ("PAID", "PREPARING", KITCHEN),
                ("CONFIRMED", "PREPARING", KITCHEN),
                ("PREPARING", "READY", KITCHEN),
                ("READY", "DELIVERED", FLOOR),
                ("READY", "COMPLETED", FLOOR),
                ("PENDING", "CANCELLED", FLOOR),
                ("PAID", "CANCELLED", MANAGERS),
                ("CONFIRMED", "CANCELLED", FLOOR),
                ("PREPARING", "CANCELLED", MANAGERS),
                ("READY", "CANCELLED", MANAGERS),
            ),
            on_payment("PENDING"),
        ],
    )


def quote_service(entity_type: EntityType) -> WorkflowDefinition:
    """Seed bike-shop flow: QUOTE_REQUESTED → QUOTE_SENT → QUOTE_APPROVED → IN_PROGRESS → READY_FOR_PICKUP →
    COMPLETED, or QUOTE_REJECTED / CANCELLED; a quote unanswered for 48 h reminds the customer."""
    e = entity_type.value
    return flow(
        entity_type,
        "QUOTE_REQUESTED",
        [
            status(
                "QUOTE_REQUESTED",
                ("Orçamento solicitado", "Quote requested", "Presupuesto solicitado"),
                on_enter=(notify(f"{e}.quote_requested", "tenant_admins", "push"),),
            ),
            status(
                "QUOTE_SENT",
                ("Orçamento enviado", "Quote sent", "Presupuesto enviado"),
                on_enter=(notify(f"{e}.quote_sent", "customer"),),
                timers=({"afterSeconds": 2 * DAY, "remind": remind(f"{e}.quote_reminder", "customer")},),
            ),
            status(
                "QUOTE_APPROVED",
                ("Orçamento aprovado", "Quote approved", "Presupuesto aprobado"),
                on_enter=(notify(f"{e}.quote_approved", "assigned_user", "push"),),
            ),
            status("QUOTE_REJECTED", ("Orçamento recusado", "Quote rejected", "Presupuesto rechazado"), terminal=True),
            status("IN_PROGRESS", IN_PROGRESS),
            status(
                "READY_FOR_PICKUP",
                READY_FOR_PICKUP,
                on_enter=(notify(f"{e}.ready_for_pickup", "customer"), {"kind": "send_payment_link"}),
            ),
            completed(e),
            cancelled(e),
        ],
        moves(
            ("QUOTE_REQUESTED", "QUOTE_SENT", FLOOR),
            ("QUOTE_SENT", "QUOTE_APPROVED", FLOOR),
            ("QUOTE_SENT", "QUOTE_REJECTED", FLOOR),
            ("QUOTE_APPROVED", "IN_PROGRESS", FLOOR),
            ("IN_PROGRESS", "READY_FOR_PICKUP", FLOOR),
            ("READY_FOR_PICKUP", "COMPLETED", FLOOR),
            ("QUOTE_REQUESTED", "CANCELLED", FLOOR),
            ("QUOTE_SENT", "CANCELLED", MANAGERS),
            ("QUOTE_APPROVED", "CANCELLED", MANAGERS),
            ("IN_PROGRESS", "CANCELLED", MANAGERS),
        ),
    )


def retail_order(entity_type: EntityType) -> WorkflowDefinition:
    """PENDING (payment link; reminder after 48 h) → PAID (by the payment itself) or CONFIRMED (by hand) → SHIPPED →
    DELIVERED (both also by the carrier's tracking of a label bought for the order), or READY_FOR_PICKUP →
    COMPLETED; CANCELLED before shipping."""
    e = entity_type.value
    return flow(
        entity_type,
        "PENDING",
        [
            status(
                "PENDING",
                PENDING,
                on_enter=({"kind": "send_payment_link"},),
                timers=({"afterSeconds": 2 * DAY, "remind": remind(f"{e}.payment_reminder", "customer")},),
            ),
            status("PAID", PAID),
            status("CONFIRMED", CONFIRMED, on_enter=(notify(f"{e}.confirmed", "customer"),)),
            status("SHIPPED", ("Enviado", "Shipped", "Enviado"), on_enter=(notify(f"{e}.shipped", "customer"),)),
            status(
                "READY_FOR_PICKUP",
                READY_FOR_PICKUP,
                on_enter=(notify(f"{e}.ready_for_pickup", "customer"),),
            ),
            status(
                "DELIVERED",
                DELIVERED,
                terminal=True,
                on_enter=(webhook(f"{e}.delivered"), notify(f"{e}.delivered", "customer")),
            ),
            completed(e),
            cancelled(e),
        ],
        [
            on_carrier("CONFIRMED", "SHIPPED", "shipped"),
            on_carrier("PAID", "SHIPPED", "shipped"),
            on_carrier("SHIPPED", "DELIVERED", "delivered"),
            *moves(
                ("PENDING", "CONFIRMED", FLOOR),
                ("CONFIRMED", "READY_FOR_PICKUP", FLOOR),
                ("PAID", "READY_FOR_PICKUP", FLOOR),
                ("READY_FOR_PICKUP", "COMPLETED", FLOOR),
                ("PENDING", "CANCELLED", FLOOR),
                ("CONFIRMED", "CANCELLED", MANAGERS),
                ("PAID", "CANCELLED", MANAGERS),
            ),
            on_payment("PENDING"),
        ],
    )
