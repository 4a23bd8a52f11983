"""What the code promises, checked on everything the tests make it do.

Two promises: every event emitted matches its declaration in the catalog, and every answer of a declared
operation has a status its OpenAPI documents. The session registers ``check_event`` with
``core.events.listen_to_new_events`` and ``check_status`` with ``core.api.listen_to_undocumented_statuses``; an
autouse fixture (tests/conftest.py) fails the test during which (or during whose fixtures) a promise broke.

An event fits when what a subscriber receives is what ``GET /webhook-event-types`` declares: its data, as the
outbox publishes it (JSON, numbers from DynamoDB), parses with the type's model (as webhook delivery does) and,
rendered by that model, validates against the published JSON Schema.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import ValidationError

from chalicelib.core.api import Operation, listen_to_undocumented_statuses
from chalicelib.core.events import DomainEvent, event_detail, listen_to_new_events
from chalicelib.webhooks.event_types import event_type

__all__ = ["event_violations", "listen", "status_changed", "take_violations"]

_lock = threading.Lock()
_violations: list[str] = []


def _record(violation: str) -> None:
    with _lock:
        _violations.append(violation)


def event_violations(event: DomainEvent) -> list[str]:
    """What is wrong with ``event`` against the catalog (empty: it fits)."""
    declared = event_type(event.type)
    if declared is None:
        return ["its type is not in the catalog (chalicelib/webhooks/event_types/)"]
    try:
        published: dict[str, Any] = json.loads(event_detail(event))["data"]
    except TypeError as exc:
        return [f"its data is not JSON: {exc}"]
    try:
        parsed = declared.data.model_validate(published)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']} (sent {e.get('input')!r})" for e in exc.errors()]
    rendered = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return [
        f"{'.'.join(map(str, e.absolute_path)) or 'data'}: {e.message} (published schema)"
        for e in _published_schema(event.type).iter_errors(rendered)
    ]


@cache
def _published_schema(type_: str) -> Draft202012Validator:
    # As GET /webhook-event-types publishes it (webhooks.service.list_event_types).
    declared = event_type(type_)
    assert declared is not None
    return Draft202012Validator(declared.data.model_json_schema(by_alias=True, mode="serialization"))


def _check_event(event: DomainEvent) -> None:
    # A listener never raises into the code under test: it records, and the test fails afterwards.
    found = event_violations(event)
    if found:
        _record(f"event {event.type} (data {event.data!r}) breaks its catalog: " + "; ".join(found))


def _check_status(operation: Operation, status: int) -> None:
    documented = ", ".join(map(str, sorted(operation.statuses)))
    _record(
        f"{operation.method} {operation.path} answered {status}, which its OpenAPI does not document ({documented}):"
        " declare it in problems=, or answer a documented status"
    )


def listen() -> Callable[[], None]:
    """Start checking both promises; returns the function that stops."""
    stops = [listen_to_new_events(_check_event), listen_to_undocumented_statuses(_check_status)]

    def stop() -> None:
        for each in stops:
            each()

    return stop


def take_violations() -> list[str]:
    """The broken promises recorded since the last call."""
    with _lock:
        taken = list(_violations)
        _violations.clear()
    return taken


def status_changed(entity_type: str, before: str, after: str) -> dict[str, Any]:
    """The data of a ``<entity>.status_changed`` event as the catalog declares it, for tests that emit one."""
    return {
        "entityType": entity_type,
        "from": before,
        "to": after,
        "actorId": "u1",
        "trigger": "user",
        "version": 2,
        "at": "2026-01-01T00:00:00Z",
    }
