"""The built-in workflows: one per business type and entity type, with a generic one per entity type.

A tenant runs the built-in workflow of its business type until its ADMIN writes its own. The flows come from
the platform seed (restaurant, bike shop) and the business types BTRIX serves (clinic, pet store, retail,
sales and leads, marketplace). Roles follow the permission matrix: only roles that may transition the entity
at all are named (orders: ADMIN, MANAGER, STAFF, KITCHEN; appointments: ADMIN, MANAGER, STAFF, SALES_REP).

One responsibility: the built-in flows, as data (one builder per business type and entity type).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from chalicelib.tenants.models import BusinessType
from chalicelib.workflows.models import EntityType, WorkflowDefinition

__all__ = ["BUILT_IN", "DEFAULT_FLOWS", "all_defaults", "default_definition"]

HOUR = 3600
DAY = 24 * HOUR

_MANAGERS = ("ADMIN", "MANAGER")
_FLOOR = ("ADMIN", "MANAGER", "STAFF")
_KITCHEN = ("ADMIN", "MANAGER", "KITCHEN")
_SELLERS = ("ADMIN", "MANAGER", "SALES_REP")
_BOOKERS = ("ADMIN", "MANAGER", "STAFF", "SALES_REP")

Json = dict[str, Any]


_CANCELLING = frozenset({"CANCELLED", "QUOTE_REJECTED", "NO_SHOW", "LOST"})


# da-DK (Tekup) labels of the built-in statuses, by their en-US label.
_DANISH = {
    "Accepted": "Accepteret",
    "Cancelled": "Annulleret",
    "Checked in": "Tjekket ind",
    "Completed": "Afsluttet",
    "Confirmed": "Bekræftet",
    "Contacted": "Kontaktet",
    "Converted": "Konverteret",
    "Delivered": "Leveret",
    "In consultation": "I konsultation",
    "In progress": "I gang",
    "In service": "Under service",
    "Lost": "Tabt",
    "New": "Ny",
    "No show": "Udeblevet",
    "Paid": "Betalt",
    "Pending": "Afventer",
    "Preparing": "Tilberedes",
    "Qualified": "Kvalificeret",
    "Quote approved": "Tilbud godkendt",
    "Quote rejected": "Tilbud afvist",
    "Quote requested": "Tilbud ønsket",
    "Quote sent": "Tilbud sendt",
    "Ready": "Klar",
    "Ready for pickup": "Klar til afhentning",
    "Requested": "Anmodet",
    "Scheduled": "Planlagt",
    "Shipped": "Afsendt",
}


def _status(
    name: str,
    labels: tuple[str, str, str],
    *,
    terminal: bool = False,
    on_enter: tuple[Json, ...] = (),
    timers: tuple[Json, ...] = (),
) -> Json:
    pt, en, es = labels
    # Terminal statuses that mean "it did not happen" end cancelled (stock goes back); the others completed.
    cancelled = terminal and name in _CANCELLING
    return {
        "name": name,
        "labels": {"pt-BR": pt, "en-US": en, "es-ES": es, "da-DK": _DANISH[en]},
        "terminal": terminal,
        **({"outcome": "cancelled"} if cancelled else {"outcome": "completed"} if terminal else {}),
        "onEnter": list(on_enter),
        "timers": list(timers),
    }


def _notify(template: str, to: str, channel: str = "whatsapp") -> Json:
    return {"kind": "notify", "template": template, "channel": channel, "to": to}


def _webhook(event: str) -> Json:
    return {"kind": "emit_webhook", "event": event}


def _remind(template: str, to: str, channel: str = "whatsapp") -> Json:
    return {"template": template, "channel": channel, "to": to}


def _moves(*moves: tuple[str, str, tuple[str, ...]]) -> list[Json]:
    return [{"from": source, "to": target, "roles": list(roles)} for source, target, roles in moves]


def _on_payment(source: str, target: str = "PAID") -> Json:
    """The move a payment through a payment link makes by itself (a manager may also make it, for cash)."""
    return {"from": source, "to": target, "roles": list(_MANAGERS), "trigger": "payment"}


def _on_carrier(source: str, target: str, trigger: str) -> Json:
    """A move the carrier's tracking makes by itself (``shipped``: the package was posted; ``delivered``), which the
    floor may also make by hand."""
    return {"from": source, "to": target, "roles": list(_FLOOR), "trigger": trigger}


_PAID = ("Pago", "Paid", "Pagado")


def _flow(entity_type: EntityType, initial: str, statuses: list[Json], transitions: list[Json]) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate(
        {"entityType": entity_type, "initial": initial, "statuses": statuses, "transitions": transitions}
    )


_CANCELLED = ("Cancelado", "Cancelled", "Cancelado")
_COMPLETED = ("Concluído", "Completed", "Completado")


def restaurant_order(entity_type: EntityType) -> WorkflowDefinition:
    """Seed flow: PENDING → CONFIRMED → PREPARING → READY → DELIVERED/COMPLETED; unconfirmed for 15 min: cancelled.
    An order paid through its payment link while PENDING moves to PAID by itself, then on as a confirmed one."""
    e = entity_type.value
    return _flow(
        entity_type,
        "PENDING",
        [
            _status(
                "PENDING",
                ("Pendente", "Pending", "Pendiente"),
                on_enter=(_notify(f"{e}.received", "customer"), _notify(f"{e}.new", "tenant_admins", "push")),
                timers=({"afterSeconds": 15 * 60, "transitionTo": "CANCELLED"},),
            ),
            _status("PAID", _PAID),
            _status(
                "CONFIRMED",
                ("Confirmado", "Confirmed", "Confirmado"),
                on_enter=(_notify(f"{e}.confirmed", "customer"),),
            ),
            _status("PREPARING", ("Em preparo", "Preparing", "En preparación")),
            _status("READY", ("Pronto", "Ready", "Listo"), on_enter=(_notify(f"{e}.ready", "customer"),)),
            _status(
                "DELIVERED",
                ("Entregue", "Delivered", "Entregado"),
                terminal=True,
                on_enter=(_webhook(f"{e}.delivered"),),
            ),
            _status("COMPLETED", _COMPLETED, terminal=True, on_enter=(_webhook(f"{e}.completed"),)),
            _status("CANCELLED", _CANCELLED, terminal=True, on_enter=(_notify(f"{e}.cancelled", "customer"),)),
        ],
        [
            *_moves(
                ("PENDING", "CONFIRMED", _FLOOR),
                ("PAID", "CONFIRMED", _FLOOR),
                ("PAID", "PREPARING", _KITCHEN),
                ("CONFIRMED", "PREPARING", _KITCHEN),
                ("PREPARING", "READY", _KITCHEN),
                ("READY", "DELIVERED", _FLOOR),
                ("READY", "COMPLETED", _FLOOR),
                ("PENDING", "CANCELLED", _FLOOR),
                ("PAID", "CANCELLED", _MANAGERS),
                ("CONFIRMED", "CANCELLED", _FLOOR),
                ("PREPARING", "CANCELLED", _MANAGERS),
                ("READY", "CANCELLED", _MANAGERS),
            ),
            _on_payment("PENDING"),
        ],
    )


def quote_service(entity_type: EntityType) -> WorkflowDefinition:
    """Seed bike-shop flow: QUOTE_REQUESTED → QUOTE_SENT → QUOTE_APPROVED → IN_PROGRESS → READY_FOR_PICKUP →
    COMPLETED, or QUOTE_REJECTED / CANCELLED; a quote unanswered for 48 h reminds the customer."""
    e = entity_type.value
    return _flow(
        entity_type,
        "QUOTE_REQUESTED",
        [
            _status(
                "QUOTE_REQUESTED",
                ("Orçamento solicitado", "Quote requested", "Presupuesto solicitado"),
                on_enter=(_notify(f"{e}.quote_requested", "tenant_admins", "push"),),
            ),
            _status(
                "QUOTE_SENT",
                ("Orçamento enviado", "Quote sent", "Presupuesto enviado"),
                on_enter=(_notify(f"{e}.quote_sent", "customer"),),
                timers=({"afterSeconds": 2 * DAY, "remind": _remind(f"{e}.quote_reminder", "customer")},),
            ),
            _status(
                "QUOTE_APPROVED",
                ("Orçamento aprovado", "Quote approved", "Presupuesto aprobado"),
                on_enter=(_notify(f"{e}.quote_approved", "assigned_user", "push"),),
            ),
            _status("QUOTE_REJECTED", ("Orçamento recusado", "Quote rejected", "Presupuesto rechazado"), terminal=True),
            _status("IN_PROGRESS", ("Em andamento", "In progress", "En curso")),
            _status(
                "READY_FOR_PICKUP",
                ("Pronto para retirada", "Ready for pickup", "Listo para recoger"),
                on_enter=(_notify(f"{e}.ready_for_pickup", "customer"), {"kind": "send_payment_link"}),
            ),
            _status("COMPLETED", _COMPLETED, terminal=True, on_enter=(_webhook(f"{e}.completed"),)),
            _status("CANCELLED", _CANCELLED, terminal=True, on_enter=(_notify(f"{e}.cancelled", "customer"),)),
        ],
        _moves(
            ("QUOTE_REQUESTED", "QUOTE_SENT", _FLOOR),
            ("QUOTE_SENT", "QUOTE_APPROVED", _FLOOR),
            ("QUOTE_SENT", "QUOTE_REJECTED", _FLOOR),
            ("QUOTE_APPROVED", "IN_PROGRESS", _FLOOR),
            ("IN_PROGRESS", "READY_FOR_PICKUP", _FLOOR),
            ("READY_FOR_PICKUP", "COMPLETED", _FLOOR),
            ("QUOTE_REQUESTED", "CANCELLED", _FLOOR),
            ("QUOTE_SENT", "CANCELLED", _MANAGERS),
            ("QUOTE_APPROVED", "CANCELLED", _MANAGERS),
            ("IN_PROGRESS", "CANCELLED", _MANAGERS),
        ),
    )


def _reminders() -> tuple[Json, ...]:
    return (
        {"beforeField": "startsAt", "beforeSeconds": DAY, "remind": _remind("appointment.reminder_24h", "customer")},
        {"beforeField": "startsAt", "beforeSeconds": HOUR, "remind": _remind("appointment.reminder_1h", "customer")},
    )


def _care_appointment(
    entity_type: EntityType, in_service: tuple[str, str, str], done: tuple[Json, ...]
) -> WorkflowDefinition:
    return _flow(
        entity_type,
        "REQUESTED",
        [
            _status(
                "REQUESTED",
                ("Solicitado", "Requested", "Solicitada"),
                on_enter=(_notify("appointment.requested", "tenant_admins", "push"),),
            ),
            _status(
                "CONFIRMED",
                ("Confirmado", "Confirmed", "Confirmada"),
                on_enter=(_notify("appointment.confirmed", "customer"), {"kind": "create_calendar_event"}),
                timers=_reminders(),
            ),
            _status("CHECKED_IN", ("Check-in feito", "Checked in", "Registrada")),
            _status("IN_SERVICE", in_service),
            _status("COMPLETED", _COMPLETED, terminal=True, on_enter=(*done, _webhook("appointment.completed"))),
            _status("NO_SHOW", ("Não compareceu", "No show", "No asistió"), terminal=True),
            _status("CANCELLED", _CANCELLED, terminal=True, on_enter=(_notify("appointment.cancelled", "customer"),)),
        ],
        _moves(
            ("REQUESTED", "CONFIRMED", _FLOOR),
            ("CONFIRMED", "CHECKED_IN", _FLOOR),
            ("CHECKED_IN", "IN_SERVICE", _FLOOR),
            ("IN_SERVICE", "COMPLETED", _FLOOR),
            ("CONFIRMED", "NO_SHOW", _FLOOR),
            ("REQUESTED", "CANCELLED", _FLOOR),
            ("CONFIRMED", "CANCELLED", _FLOOR),
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
        (_notify("appointment.pet_ready", "customer"),),
    )


def appointment(entity_type: EntityType) -> WorkflowDefinition:
    """Generic: REQUESTED → CONFIRMED → COMPLETED, NO_SHOW, CANCELLED; a reminder 24 h before ``startsAt``."""
    return _flow(
        entity_type,
        "REQUESTED",
        [
            _status("REQUESTED", ("Solicitado", "Requested", "Solicitada")),
            _status(
                "CONFIRMED",
                ("Confirmado", "Confirmed", "Confirmada"),
                on_enter=(_notify("appointment.confirmed", "customer"),),
                timers=(_reminders()[0],),
            ),
            _status("COMPLETED", _COMPLETED, terminal=True, on_enter=(_webhook("appointment.completed"),)),
            _status("NO_SHOW", ("Não compareceu", "No show", "No asistió"), terminal=True),
            _status("CANCELLED", _CANCELLED, terminal=True, on_enter=(_notify("appointment.cancelled", "customer"),)),
        ],
        _moves(
            ("REQUESTED", "CONFIRMED", _BOOKERS),
            ("CONFIRMED", "COMPLETED", _BOOKERS),
            ("CONFIRMED", "NO_SHOW", _BOOKERS),
            ("REQUESTED", "CANCELLED", _BOOKERS),
            ("CONFIRMED", "CANCELLED", _BOOKERS),
        ),
    )


def retail_order(entity_type: EntityType) -> WorkflowDefinition:
    """PENDING (payment link; reminder after 48 h) → PAID (by the payment itself) or CONFIRMED (by hand) → SHIPPED →
    DELIVERED (both also by the carrier's tracking of a label bought for the order), or READY_FOR_PICKUP →
    COMPLETED; CANCELLED before shipping."""
    e = entity_type.value
    return _flow(
        entity_type,
        "PENDING",
        [
            _status(
                "PENDING",
                ("Pendente", "Pending", "Pendiente"),
                on_enter=({"kind": "send_payment_link"},),
                timers=({"afterSeconds": 2 * DAY, "remind": _remind(f"{e}.payment_reminder", "customer")},),
            ),
            _status("PAID", _PAID),
            _status(
                "CONFIRMED",
                ("Confirmado", "Confirmed", "Confirmado"),
                on_enter=(_notify(f"{e}.confirmed", "customer"),),
            ),
            _status("SHIPPED", ("Enviado", "Shipped", "Enviado"), on_enter=(_notify(f"{e}.shipped", "customer"),)),
            _status(
                "READY_FOR_PICKUP",
                ("Pronto para retirada", "Ready for pickup", "Listo para recoger"),
                on_enter=(_notify(f"{e}.ready_for_pickup", "customer"),),
            ),
            _status(
                "DELIVERED",
                ("Entregue", "Delivered", "Entregado"),
                terminal=True,
                on_enter=(_webhook(f"{e}.delivered"), _notify(f"{e}.delivered", "customer")),
            ),
            _status("COMPLETED", _COMPLETED, terminal=True, on_enter=(_webhook(f"{e}.completed"),)),
            _status("CANCELLED", _CANCELLED, terminal=True, on_enter=(_notify(f"{e}.cancelled", "customer"),)),
        ],
        [
            _on_carrier("CONFIRMED", "SHIPPED", "shipped"),
            _on_carrier("PAID", "SHIPPED", "shipped"),
            _on_carrier("SHIPPED", "DELIVERED", "delivered"),
            *_moves(
                ("PENDING", "CONFIRMED", _FLOOR),
                ("CONFIRMED", "READY_FOR_PICKUP", _FLOOR),
                ("PAID", "READY_FOR_PICKUP", _FLOOR),
                ("READY_FOR_PICKUP", "COMPLETED", _FLOOR),
                ("PENDING", "CANCELLED", _FLOOR),
                ("CONFIRMED", "CANCELLED", _MANAGERS),
                ("PAID", "CANCELLED", _MANAGERS),
            ),
            _on_payment("PENDING"),
        ],
    )


def sale(entity_type: EntityType) -> WorkflowDefinition:
    """Tekup sales: PENDING → ACCEPTED → SCHEDULED (calendar event) → IN_PROGRESS → COMPLETED (invoice)."""
    e = entity_type.value
    return _flow(
        entity_type,
        "PENDING",
        [
            _status("PENDING", ("Pendente", "Pending", "Pendiente")),
            _status("ACCEPTED", ("Aceita", "Accepted", "Aceptada")),
            _status(
                "SCHEDULED",
                ("Agendada", "Scheduled", "Programada"),
                on_enter=(
                    {"kind": "create_calendar_event", "startField": "scheduledAt"},
                    _notify(f"{e}.scheduled", "customer", "email"),
                ),
            ),
            _status("IN_PROGRESS", ("Em andamento", "In progress", "En curso")),
            _status(
                "COMPLETED",
                _COMPLETED,
                terminal=True,
                on_enter=({"kind": "create_invoice"}, _webhook(f"{e}.completed")),
            ),
            _status("CANCELLED", _CANCELLED, terminal=True),
        ],
        _moves(
            ("PENDING", "ACCEPTED", _SELLERS),
            ("ACCEPTED", "SCHEDULED", _SELLERS),
            ("ACCEPTED", "IN_PROGRESS", _SELLERS),
            ("SCHEDULED", "IN_PROGRESS", _SELLERS),
            ("IN_PROGRESS", "COMPLETED", _SELLERS),
            ("PENDING", "CANCELLED", _SELLERS),
            ("ACCEPTED", "CANCELLED", _SELLERS),
            ("SCHEDULED", "CANCELLED", _SELLERS),
            ("IN_PROGRESS", "CANCELLED", _MANAGERS),
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
            "remind": _remind(f"{e}.follow_up", "assigned_user", "email"),
        },
    )
    return _flow(
        entity_type,
        "NEW",
        [
            _status("NEW", ("Novo", "New", "Nuevo"), timers=follow_up),
            _status("CONTACTED", ("Contatado", "Contacted", "Contactado"), timers=follow_up),
            _status("QUALIFIED", ("Qualificado", "Qualified", "Calificado"), timers=follow_up),
            _status("CONVERTED", ("Convertido", "Converted", "Convertido"), terminal=True),
            _status("LOST", ("Perdido", "Lost", "Perdido"), terminal=True),
        ],
        _moves(
            ("NEW", "CONTACTED", _SELLERS),
            ("CONTACTED", "QUALIFIED", _SELLERS),
            ("QUALIFIED", "CONVERTED", _SELLERS),
            ("NEW", "LOST", _SELLERS),
            ("CONTACTED", "LOST", _SELLERS),
            ("QUALIFIED", "LOST", _SELLERS),
        ),
    )


def marketplace_transaction(entity_type: EntityType) -> WorkflowDefinition:
    """StockTech: PENDING (not confirmed by the seller in 72 h → CANCELLED) → CONFIRMED → COMPLETED. Buyer and
    seller settle payment between them (the purchase's WhatsApp link); the marketplace service notifies both."""
    e = entity_type.value
    return _flow(
        entity_type,
        "PENDING",
        [
            _status(
                "PENDING",
                ("Pendente", "Pending", "Pendiente"),
                timers=({"afterSeconds": 3 * DAY, "transitionTo": "CANCELLED"},),
            ),
            _status("CONFIRMED", ("Confirmada", "Confirmed", "Confirmada")),
            _status("COMPLETED", _COMPLETED, terminal=True, on_enter=(_webhook(f"{e}.completed"),)),
            _status("CANCELLED", _CANCELLED, terminal=True),
        ],
        _moves(
            ("PENDING", "CONFIRMED", _FLOOR),
            ("CONFIRMED", "COMPLETED", _FLOOR),
            ("PENDING", "CANCELLED", _FLOOR),
            ("CONFIRMED", "CANCELLED", _MANAGERS),
        ),
    )


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
