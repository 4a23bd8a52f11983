"""The event catalog: every event type BTRIX emits, with the one declaration of its ``data`` payload.

This module is the single place an event's payload shape is declared. ``GET /webhook-event-types`` publishes a
JSON Schema per type generated from these models; outgoing webhooks normalise each event's data through its model
(money as strings, no storage artefacts); endpoint filters are validated against the catalog. A unit test scans
``chalicelib`` for ``new_event(...)`` calls and fails on a type that is not registered here, or registered here
and emitted nowhere.

Three origins: ``domain`` events are written through the outbox by the capabilities (``new_event``); ``workflow``
events are the ``emit_webhook`` actions of the built-in status flows (a tenant's own flow may emit other names,
matched by wildcard filters such as ``order.*``); ``webhooks`` events are about the webhooks themselves.

The declarations live by family (``account``, ``commerce``, ``workflows``, ``sales``, ``messaging``, ``delivery``;
``base`` holds what they share); this package joins them into one registry, checked for a name declared twice,
and holds the lookups over it. Import from here: ``from chalicelib.webhooks.event_types import event_type``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from chalicelib.core.errors import FieldError, InvalidInput
from chalicelib.webhooks.event_types import account, commerce, delivery, messaging, sales, workflows
from chalicelib.webhooks.event_types.base import EventData, EventTypeDef, Origin
from chalicelib.webhooks.event_types.delivery import (
    ENDPOINT_DISABLED,
    MESSAGE_ATTEMPT_EXHAUSTED,
    WEBHOOK_TEST,
    EndpointDisabledData,
    MessageAttemptExhaustedData,
    WebhookTestData,
)
from chalicelib.webhooks.event_types.workflows import WorkflowActionData

__all__ = [
    "ENDPOINT_DISABLED",
    "MESSAGE_ATTEMPT_EXHAUSTED",
    "WEBHOOK_TEST",
    "EndpointDisabledData",
    "EventData",
    "EventTypeDef",
    "MessageAttemptExhaustedData",
    "Origin",
    "WebhookTestData",
    "WorkflowActionData",
    "event_type",
    "event_types",
    "matches",
    "normalize",
    "validate_filters",
]


@cache
def _registry() -> dict[str, EventTypeDef]:
    registry: dict[str, EventTypeDef] = {}
    families = (account, commerce, workflows, sales, messaging, delivery)
    for definition in (*(d for family in families for d in family.EVENTS), *workflows.workflow_events()):
        if definition.name in registry:
            raise ValueError(f"event type {definition.name} is declared twice")
        registry[definition.name] = definition
    return registry


def event_types() -> list[EventTypeDef]:
    """Every event type, sorted by name."""
    return sorted(_registry().values(), key=lambda d: d.name)


def event_type(name: str) -> EventTypeDef | None:
    """The declaration of ``name``, or None for a type the catalog does not know (a tenant's own flow event)."""
    return _registry().get(name)


def matches(filters: Iterable[str], name: str) -> bool:
    """Whether an endpoint with ``filters`` receives events of type ``name`` (no filters: every event).

    A filter is a type (``order.created``) or a prefix ending in ``.*`` (``order.*``: every ``order.`` type).
    """
    listed = list(filters)
    if not listed:
        return True
    return any(f == name or (f.endswith(".*") and name.startswith(f[:-1])) for f in listed)


def validate_filters(filters: Iterable[str], field: str = "body.eventTypes") -> list[str]:
    """``filters`` without duplicates, each a catalog type or a wildcard matching at least one; else 422."""
    known = [d.name for d in event_types()]
    errors: list[FieldError] = []
    unique: list[str] = []
    for i, value in enumerate(filters):
        valid = any(n.startswith(value[:-1]) for n in known) if value.endswith(".*") else value in known
        if not valid:
            errors.append(FieldError(f"{field}[{i}]", "not an event type of GET /webhook-event-types", "unknown-event"))
        elif value not in unique:
            unique.append(value)
    if errors:
        raise InvalidInput(detail=f"{len(errors)} unknown event type(s)", errors=tuple(errors))
    return unique


def normalize(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any] | None:
    """``data`` as its declared model renders it (only the fields present), or None when it does not fit."""
    try:
        parsed = model.model_validate(dict(data))
    except ValidationError:
        return None
    rendered: dict[str, Any] = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return rendered
