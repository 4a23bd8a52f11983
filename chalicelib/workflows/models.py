"""Workflow models: a status flow as validated data (statuses, transitions, on-enter actions, timers), the API
views of a tenant's workflows, and the history of an entity's transitions (``EntityType`` and ``HistoryEntry`` live
in ``workflows/history.py``, which an order read imports without this module's models; re-exported here).

Pydantic checks the shape of a definition (names, types, ranges); ``validate_definition`` checks that it
holds together (every transition endpoint exists, terminal statuses are final, timers can fire) and names the
field that breaks a rule, e.g. ``body.transitions[3].to``.

One responsibility: the shape of a status flow and its views (the models, and the rules that make a definition
whole).
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, StringConstraints, model_validator

from chalicelib.access.permissions import Role
from chalicelib.core.errors import FieldError, InvalidInput
from chalicelib.core.i18n import fallback_chain
from chalicelib.core.models import ApiModel, empty_list
from chalicelib.core.validation import LocaleTag
from chalicelib.workflows.history import EntityType, HistoryEntry

__all__ = [
    "MAX_TIMER_SECONDS",
    "Action",
    "CreateCalendarEventAction",
    "CreateInvoiceAction",
    "EmitWebhookAction",
    "EntityType",
    "HistoryEntry",
    "NotifyAction",
    "Recipient",
    "Reminder",
    "SendPaymentLinkAction",
    "StatusDef",
    "TaskMessage",
    "Timer",
    "TransitionDef",
    "Workflow",
    "WorkflowBody",
    "WorkflowDefinition",
    "WorkflowList",
    "WorkflowQuery",
    "WorkflowRecord",
    "validate_definition",
]

# A Standard execution lives at most one year; a timer longer than that could never fire.
MAX_TIMER_SECONDS = 365 * 24 * 3600

StatusName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$", max_length=40),
]
TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")]
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z_]+(\.[a-z_]+)+$", max_length=80)]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][A-Za-z0-9]{0,39}$")]
Channel = Literal["email", "sms", "whatsapp", "push"]


class Recipient(StrEnum):
    """Who a workflow message goes to, resolved from the entity when it is sent."""

    CUSTOMER = "customer"
    ASSIGNED_USER = "assigned_user"
    TENANT_ADMINS = "tenant_admins"


class NotifyAction(ApiModel):
    """Send a templated message (notifications queue)."""

    kind: Literal["notify"] = "notify"
    template: TemplateName = Field(examples=["order.confirmed"])
    channel: Channel
    to: Recipient


class EmitWebhookAction(ApiModel):
    """Deliver an event to the tenant's webhook endpoints (webhook-deliveries queue)."""

    kind: Literal["emit_webhook"] = "emit_webhook"
    event: EventType = Field(examples=["order.ready"])


class CreateInvoiceAction(ApiModel):
    """Create an invoice with the tenant's invoicing integration (integrations queue)."""

    kind: Literal["create_invoice"] = "create_invoice"


class CreateCalendarEventAction(ApiModel):
    """Create a calendar event from a timestamp field of the entity (integrations queue)."""

    kind: Literal["create_calendar_event"] = "create_calendar_event"
    start_field: FieldName = "startsAt"


class SendPaymentLinkAction(ApiModel):
    """Send a single-use payment link for the entity's amount (integrations queue)."""

    kind: Literal["send_payment_link"] = "send_payment_link"
    channel: Channel = "whatsapp"
    to: Recipient = Recipient.CUSTOMER


Action = Annotated[
    NotifyAction | EmitWebhookAction | CreateInvoiceAction | CreateCalendarEventAction | SendPaymentLinkAction,
    Field(discriminator="kind"),
]


class Reminder(ApiModel):
    """The message a reminder timer sends."""

    template: TemplateName
    channel: Channel
    to: Recipient


class Timer(ApiModel):
    """What happens when an entity stays in a status: after a while, or some time before one of its timestamps.

    ``afterSeconds`` counts from entering the status; ``beforeField`` + ``beforeSeconds`` fire that long before
    the entity's timestamp field (``startsAt``). Then either ``transitionTo`` a status or send a ``remind``er.
    """

    after_seconds: int | None = Field(default=None, ge=1, le=MAX_TIMER_SECONDS)
    before_field: FieldName | None = None
    before_seconds: int | None = Field(default=None, ge=0, le=MAX_TIMER_SECONDS)
    transition_to: StatusName | None = None
    remind: Reminder | None = None

    @model_validator(mode="after")
    def _one_of_each(self) -> Self:
        if (self.after_seconds is None) == (self.before_field is None):
            raise ValueError("give either afterSeconds or beforeField (with beforeSeconds)")
        if (self.before_field is None) != (self.before_seconds is None):
            raise ValueError("beforeField and beforeSeconds go together")
        if (self.transition_to is None) == (self.remind is None):
            raise ValueError("give either transitionTo or remind")
        return self

    @property
    def relative(self) -> bool:
        """Whether the timer fires relative to a timestamp of the entity (else relative to entering)."""
        return self.before_field is not None


class StatusDef(ApiModel):
    """One status: its labels, whether it is final, what happens on entering it and while in it."""

    name: StatusName
    labels: dict[LocaleTag, Annotated[str, StringConstraints(min_length=1, max_length=80)]] = Field(
        default_factory=dict, examples=[{"pt-BR": "Pendente", "en-US": "Pending"}]
    )
    terminal: bool = False
    outcome: Literal["completed", "cancelled"] | None = Field(
        default=None,
        description="Terminal statuses only: how the entity ended (default completed). An order ending cancelled "
        "gives its reserved stock back; one ending completed consumes it.",
    )
    on_enter: list[Action] = Field(default_factory=empty_list, max_length=10)
    timers: list[Timer] = Field(default_factory=empty_list, max_length=5, description="In the order they fire")


class TransitionDef(ApiModel):
    """An allowed move between two statuses and the roles that may make it; a ``trigger`` transition is also
    made by BTRIX itself when that happens (``payment``: the entity was paid through a payment link)."""

    from_: StatusName = Field(alias="from")
    to: StatusName
    roles: list[Role] = Field(min_length=1)
    trigger: Literal["payment", "shipped", "delivered"] | None = Field(
        default=None,
        description="Made automatically when this happens to an entity in the from status (payment: it was paid; "
        "shipped / delivered: the carrier's tracking says the package was posted / delivered)",
    )


class WorkflowBody(ApiModel):
    """A status flow as a tenant writes it (``PUT /workflows/{entityType}``)."""

    initial: StatusName
    statuses: list[StatusDef] = Field(min_length=2, max_length=40)
    transitions: list[TransitionDef] = Field(min_length=1, max_length=200)


class WorkflowDefinition(WorkflowBody):
    """A status flow of one entity type."""

    entity_type: EntityType

    def status(self, name: str) -> StatusDef:
        """The status called ``name``; raises KeyError when there is none."""
        for status in self.statuses:
            if status.name == name:
                return status
        raise KeyError(name)

    def has_status(self, name: str) -> bool:
        """Whether the flow has a status called ``name``."""
        return any(s.name == name for s in self.statuses)

    def find_transition(self, from_: str, to: str) -> TransitionDef | None:
        """The declared transition from ``from_`` to ``to``, if any."""
        return next((t for t in self.transitions if t.from_ == from_ and t.to == to), None)

    def triggered_transition(self, from_: str, trigger: str) -> TransitionDef | None:
        """The transition ``trigger`` makes from ``from_``, if the flow declares one."""
        return next((t for t in self.transitions if t.from_ == from_ and t.trigger == trigger), None)

    def label(self, status: str, locale: str) -> str:
        """The status's label in ``locale``, along its fallback chain (``da-DK`` → any ``da`` → ``en-US``), else
        the status's name itself."""
        labels = self.status(status).labels
        for link in fallback_chain(locale):
            found = labels.get(link) or next((v for k, v in labels.items() if k.split("-")[0] == link), None)
            if found:
                return found
        return status

    def labelled(self, locale: str) -> dict[str, str]:
        """Every status's label in ``locale`` (``label``), by status name."""
        return {s.name: self.label(s.name, locale) for s in self.statuses}


class Workflow(WorkflowDefinition):
    """A tenant's workflow for an entity type as the API shows it."""

    version: int | None = Field(
        description="Stored version new entities start with; null while the built-in default is not in use yet"
    )
    customized: bool = Field(description="Whether the tenant wrote it (else a built-in default)")
    based_on: str | None = Field(default=None, description="The built-in default it is (or was) taken from")
    updated_at: str | None = None
    status_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Each status's label in the caller's language (Accept-Language, else the tenant's locale)",
        examples=[{"PENDING": "Pendente"}],
    )


class WorkflowRecord(ApiModel):
    """A stored version of a tenant's workflow: immutable once written (entities keep the one they started with)."""

    entity_type: EntityType
    version: int
    customized: bool
    based_on: str | None = None
    definition: WorkflowDefinition
    created_at: str
    created_by: str

    def view(self) -> Workflow:
        """The API view of this version."""
        return Workflow.model_validate(
            {
                **self.definition.model_dump(),
                "version": self.version,
                "customized": self.customized,
                "basedOn": self.based_on,
                "updatedAt": self.created_at,
            }
        )


class WorkflowList(ApiModel):
    """The tenant's workflows, one per entity type (a fixed, short list: not paginated)."""

    items: list[Workflow]


class WorkflowQuery(ApiModel):
    """Which version of a workflow to read."""

    version: int | None = Field(default=None, ge=1, description="A stored version (default: the current one)")


class TaskMessage(ApiModel):
    """A park or timer task a machine sends to the workflow-tasks queue (with the token that resumes it)."""

    kind: Literal["park", "timer"]
    task_token: str
    tenant_id: str
    entity_type: EntityType
    entity_id: str
    status: str
    timer: int = Field(ge=0)
    parked_at: str
    execution_id: str | None = None


def _fields(definition: WorkflowBody, prefix: str) -> list[FieldError]:
    errors: list[FieldError] = []
    names: dict[str, int] = {}
    for i, status in enumerate(definition.statuses):
        if status.name in names:
            errors.append(FieldError(f"{prefix}.statuses[{i}].name", f"duplicate status {status.name}", "duplicate"))
        names.setdefault(status.name, i)
    terminal = {s.name for s in definition.statuses if s.terminal}

    if definition.initial not in names:
        errors.append(FieldError(f"{prefix}.initial", f"{definition.initial} is not a status", "unknown-status"))
    elif definition.initial in terminal:
        errors.append(FieldError(f"{prefix}.initial", "the initial status cannot be terminal", "terminal"))

    seen: set[tuple[str, str]] = set()
    triggered: set[tuple[str, str]] = set()
    outgoing: dict[str, set[str]] = {}
    for i, transition in enumerate(definition.transitions):
        where = f"{prefix}.transitions[{i}]"
        for end, name in (("from", transition.from_), ("to", transition.to)):
            if name not in names:
                errors.append(FieldError(f"{where}.{end}", f"{name} is not a status", "unknown-status"))
        if transition.from_ in terminal:
            errors.append(
                FieldError(f"{where}.from", f"{transition.from_} is terminal: terminal statuses are final", "terminal")
            )
        if transition.from_ == transition.to:
            errors.append(FieldError(f"{where}.to", "a transition must change the status", "same-status"))
        if (transition.from_, transition.to) in seen:
            errors.append(FieldError(where, f"duplicate transition {transition.from_} → {transition.to}", "duplicate"))
        seen.add((transition.from_, transition.to))
        if Role.PLATFORM_ADMIN in transition.roles:
            errors.append(FieldError(f"{where}.roles", "only roles of the tenant's users may be named", "role"))
        if len(set(transition.roles)) != len(transition.roles):
            errors.append(FieldError(f"{where}.roles", "a role is listed twice", "duplicate"))
        outgoing.setdefault(transition.from_, set()).add(transition.to)
        if transition.trigger is not None:
            if (transition.from_, transition.trigger) in triggered:
                message = f"{transition.from_} already has a {transition.trigger} transition: one per status"
                errors.append(FieldError(f"{where}.trigger", message, "duplicate"))
            triggered.add((transition.from_, transition.trigger))

    for i, status in enumerate(definition.statuses):
        where = f"{prefix}.statuses[{i}]"
        if status.outcome is not None and not status.terminal:
            errors.append(FieldError(f"{where}.outcome", "only a terminal status has an outcome", "not-terminal"))
        if status.terminal:
            if status.timers:
                errors.append(FieldError(f"{where}.timers", "a terminal status cannot have timers", "terminal"))
            continue
        if not outgoing.get(status.name):
            errors.append(
                FieldError(f"{where}.terminal", f"{status.name} has no way out: add a transition or mark it terminal")
            )
        errors.extend(_timer_errors(status, outgoing.get(status.name, set()), where))

    reachable = _reachable(definition.initial, outgoing)
    for i, status in enumerate(definition.statuses):
        if status.name not in reachable and definition.initial in names:
            errors.append(
                FieldError(
                    f"{prefix}.statuses[{i}].name",
                    f"{status.name} cannot be reached from {definition.initial}",
                    "unreachable",
                )
            )
    return errors


def _timer_errors(status: StatusDef, targets: set[str], where: str) -> list[FieldError]:
    errors: list[FieldError] = []
    timers = status.timers
    if not timers:
        return errors
    if len({t.relative for t in timers}) > 1 or len({t.before_field for t in timers}) > 1:
        errors.append(
            FieldError(f"{where}.timers", "timers of a status count either from entering it or from one field")
        )
        return errors
    # Timers fire in list order: each one arms the next (afterSeconds growing, beforeSeconds shrinking).
    moments = [t.after_seconds if t.after_seconds is not None else -(t.before_seconds or 0) for t in timers]
    for j in range(1, len(timers)):
        if moments[j] <= moments[j - 1]:
            errors.append(FieldError(f"{where}.timers[{j}]", "list timers in the order they fire, without ties"))
    for j, timer in enumerate(timers):
        if timer.transition_to is None:
            continue
        if timer.transition_to not in targets:
            errors.append(
                FieldError(
                    f"{where}.timers[{j}].transitionTo",
                    f"no transition {status.name} → {timer.transition_to} is declared",
                    "unknown-transition",
                )
            )
        if j != len(timers) - 1:
            errors.append(
                FieldError(f"{where}.timers[{j}]", "a timer that changes the status must be the last one", "order")
            )
    return errors


def _reachable(initial: str, outgoing: dict[str, set[str]]) -> set[str]:
    found = {initial}
    queue = deque([initial])
    while queue:
        for following in outgoing.get(queue.popleft(), set()):
            if following not in found:
                found.add(following)
                queue.append(following)
    return found


def validate_definition(definition: WorkflowBody, *, prefix: str = "body") -> None:
    """Raise ``InvalidInput`` listing every rule ``definition`` breaks, each naming its field under ``prefix``."""
    errors = _fields(definition, prefix)
    if errors:
        raise InvalidInput(
            detail=f"the workflow breaks {len(errors)} rule(s): {errors[0].loc}: {errors[0].message}",
            errors=tuple(errors),
            title="Invalid workflow",
            code="invalid-workflow",
        )
