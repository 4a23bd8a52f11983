"""The building blocks of the built-in flows: who may move (role groups), a status with its labels in every locale
(da-DK from the en-US label), its actions and timers, the ends most flows share (completed, cancelled), a move, a
payment's and a carrier's move, a flow validated."""

from __future__ import annotations

from typing import Any

from chalicelib.workflows.models import EntityType, WorkflowDefinition

__all__ = [
    "BOOKERS",
    "CANCELLED",
    "COMPLETED",
    "CONFIRMED",
    "DAY",
    "DELIVERED",
    "FLOOR",
    "HOUR",
    "IN_PROGRESS",
    "KITCHEN",
    "MANAGERS",
    "NO_SHOW",
    "PAID",
    "PENDING",
    "READY_FOR_PICKUP",
    "REQUESTED",
    "SELLERS",
    "Json",
    "cancelled",
    "completed",
    "flow",
    "moves",
    "notify",
    "on_carrier",
    "on_payment",
    "remind",
    "status",
    "webhook",
]

HOUR = 3600
DAY = 24 * HOUR

MANAGERS = ("ADMIN", "MANAGER")
FLOOR = ("ADMIN", "MANAGER", "STAFF")
KITCHEN = ("ADMIN", "MANAGER", "KITCHEN")
SELLERS = ("ADMIN", "MANAGER", "SALES_REP")
BOOKERS = ("ADMIN", "MANAGER", "STAFF", "SALES_REP")

Json = dict[str, Any]

# The (pt-BR, en-US, es-ES) labels of statuses many flows share.
PAID = ("Pago", "Paid", "Pagado")
CANCELLED = ("Cancelado", "Cancelled", "Cancelado")
COMPLETED = ("Concluído", "Completed", "Completado")
PENDING = ("Pendente", "Pending", "Pendiente")
CONFIRMED = ("Confirmado", "Confirmed", "Confirmado")
IN_PROGRESS = ("Em andamento", "In progress", "En curso")
READY_FOR_PICKUP = ("Pronto para retirada", "Ready for pickup", "Listo para recoger")
DELIVERED = ("Entregue", "Delivered", "Entregado")
REQUESTED = ("Solicitado", "Requested", "Solicitada")
NO_SHOW = ("Não compareceu", "No show", "No asistió")


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


def status(
    name: str,
    labels: tuple[str, str, str],
    *,
    terminal: bool = False,
    on_enter: tuple[Json, ...] = (),
    timers: tuple[Json, ...] = (),
) -> Json:
    """A status labelled ``(pt-BR, en-US, es-ES)`` (da-DK from the en-US label); a terminal one ends cancelled when
    its name says it did not happen, completed otherwise."""
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


def notify(template: str, to: str, channel: str = "whatsapp") -> Json:
    """An on-enter action: send ``template`` to ``to`` on ``channel``."""
    return {"kind": "notify", "template": template, "channel": channel, "to": to}


def webhook(event: str) -> Json:
    """An on-enter action: emit the webhook ``event``."""
    return {"kind": "emit_webhook", "event": event}


def remind(template: str, to: str, channel: str = "whatsapp") -> Json:
    """A timer's reminder: ``template`` to ``to`` on ``channel``."""
    return {"template": template, "channel": channel, "to": to}


def completed(entity: str, *first: Json) -> Json:
    """COMPLETED, terminal: its ``first`` actions, then the ``<entity>.completed`` webhook."""
    return status("COMPLETED", COMPLETED, terminal=True, on_enter=(*first, webhook(f"{entity}.completed")))


def cancelled(entity: str | None = None) -> Json:
    """CANCELLED, terminal; the customer hears of it (``<entity>.cancelled``) unless ``entity`` is None."""
    return status(
        "CANCELLED", CANCELLED, terminal=True, on_enter=(notify(f"{entity}.cancelled", "customer"),) if entity else ()
    )


def moves(*moves: tuple[str, str, tuple[str, ...]]) -> list[Json]:
    """Transitions ``(from, to, roles)`` made by hand."""
    return [{"from": source, "to": target, "roles": list(roles)} for source, target, roles in moves]


def on_payment(source: str, target: str = "PAID") -> Json:
    """The move a payment through a payment link makes by itself (a manager may also make it, for cash)."""
    return {"from": source, "to": target, "roles": list(MANAGERS), "trigger": "payment"}


def on_carrier(source: str, target: str, trigger: str) -> Json:
    """A move the carrier's tracking makes by itself (``shipped``: the package was posted; ``delivered``), which the
    floor may also make by hand."""
    return {"from": source, "to": target, "roles": list(FLOOR), "trigger": trigger}


def flow(entity_type: EntityType, initial: str, statuses: list[Json], transitions: list[Json]) -> WorkflowDefinition:
    """The flow of ``entity_type``, validated as a tenant's own would be."""
    return WorkflowDefinition.model_validate(
        {"entityType": entity_type, "initial": initial, "statuses": statuses, "transitions": transitions}
    )
