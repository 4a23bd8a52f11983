"""The event catalog: every event the code emits is declared, every declaration is emitted, filters and schemas."""

from __future__ import annotations

import ast
import importlib
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.catalog.store import BRANDS, CATEGORIES
from chalicelib.core.errors import InvalidInput
from chalicelib.core.events import DomainEvent
from chalicelib.webhooks.event_types import event_type, event_types, matches, normalize, validate_filters
from chalicelib.workflows.changes import CHANGED_ENTITIES
from chalicelib.workflows.defaults import all_defaults
from chalicelib.workflows.models import EntityType
from tests.support.contracts import event_violations

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted((ROOT / "chalicelib").rglob("*.py"))

# What the replacement fields of f-string event types can be (``f"{group.name}.created"``). A new dynamic call site adds
# its field here, so that the types it can emit are known and checked against the catalog.
FSTRING_FIELDS: dict[str, set[str]] = {
    "group.name": {CATEGORIES.name, BRANDS.name},
    "spec.entity_type.value": {e.value for e in EntityType},
    "ours": {"delivered", "read", "failed"},  # notifications.service.apply_status (a "sent" report is skipped)
    "changed_entity": {e.value for e in CHANGED_ENTITIES},  # workflows.changes.EntityChanges.save
}


class Unresolvable(Exception):
    """An event type argument this scan cannot enumerate."""


class Module:
    """A parsed source file, with each node's parent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        self.tree = ast.parse(path.read_text(), str(path))
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def function_of(self, node: ast.AST) -> ast.FunctionDef | None:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, ast.FunctionDef):
            current = self.parents.get(current)
        return current

    def functions(self, name: str) -> Iterator[ast.FunctionDef]:
        yield from (n for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef) and n.name == name)

    def calls_to(self, name: str) -> Iterator[ast.Call]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
                yield node

    def resolve(self, expr: ast.expr, scope: ast.FunctionDef | None, depth: int = 0) -> set[str]:
        if depth > 8:
            raise Unresolvable(ast.unparse(expr))
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            return self.resolve(expr.body, scope, depth + 1) | self.resolve(expr.orelse, scope, depth + 1)
        if isinstance(expr, ast.JoinedStr):
            parts: list[set[str]] = []
            for value in expr.values:
                if isinstance(value, ast.Constant):
                    parts.append({str(value.value)})
                elif isinstance(value, ast.FormattedValue) and ast.unparse(value.value) in FSTRING_FIELDS:
                    parts.append(FSTRING_FIELDS[ast.unparse(value.value)])
                else:
                    raise Unresolvable(f"{ast.unparse(expr)}: add its field to FSTRING_FIELDS")
            return {"".join(combination) for combination in itertools.product(*parts)}
        if isinstance(expr, ast.Name):
            return self._resolve_name(expr.id, scope, depth)
        raise Unresolvable(ast.unparse(expr))

    def _resolve_name(self, name: str, scope: ast.FunctionDef | None, depth: int) -> set[str]:
        if scope is not None:
            assigned = [
                node.value
                for node in ast.walk(scope)
                if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            ]
            if assigned:
                return set().union(*(self.resolve(value, scope, depth + 1) for value in assigned))
            parameters = [a.arg for a in (*scope.args.posonlyargs, *scope.args.args)]
            if name in parameters:
                return self._from_callers(scope, parameters.index(name), name, depth)
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                return self.resolve(node.value, None, depth + 1)
            if isinstance(node, ast.ImportFrom) and node.module and any(a.name == name for a in node.names):
                value = getattr(importlib.import_module(node.module), name)
                if isinstance(value, str):
                    return {value}
        raise Unresolvable(name)

    def _from_callers(self, function: ast.FunctionDef, position: int, name: str, depth: int) -> set[str]:
        found: set[str] = set()
        for call in self.calls_to(function.name):
            keyword = next((k.value for k in call.keywords if k.arg == name), None)
            argument = keyword if keyword is not None else call.args[position] if position < len(call.args) else None
            if argument is None:
                raise Unresolvable(f"a call of {function.name} without {name}")
            found |= self.resolve(argument, self.function_of(call), depth + 1)
        if not found:
            raise Unresolvable(f"{name} of {function.name}, which nothing in the module calls")
        return found


def _event_calls() -> Iterator[tuple[Module, ast.Call]]:
    for path in SOURCES:
        module = Module(path)
        for node in ast.walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if called == "new_event":
                yield module, node


def _emitted() -> dict[str, set[str]]:
    """Each ``new_event`` call site (file:line) → the event types it can emit."""
    sites: dict[str, set[str]] = {}
    unresolved: list[str] = []
    for module, call in _event_calls():
        where = f"{module.path.relative_to(ROOT)}:{call.lineno}"
        argument = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "type_"), None)
        assert argument is not None, f"{where}: new_event without a type"
        try:
            sites[where] = module.resolve(argument, module.function_of(call))
        except Unresolvable as exc:
            unresolved.append(f"{where}: {exc}")
    assert unresolved == [], "event types this test cannot enumerate (use a literal or a constant)"
    return sites


def test_every_event_the_code_emits_is_declared_in_the_catalog() -> None:
    sites = _emitted()
    assert len(sites) >= 20  # the scan really finds the call sites
    undeclared = sorted(f"{where}: {name}" for where, names in sites.items() for name in names if not event_type(name))
    assert undeclared == [], "declare these in chalicelib/webhooks/event_types/ (with the model of their data)"


def test_every_declared_domain_event_is_emitted_somewhere() -> None:
    emitted = set().union(*_emitted().values())
    stale = sorted(d.name for d in event_types() if d.origin == "domain" and d.name not in emitted)
    assert stale == []


def test_the_catalog_has_each_status_change_and_each_built_in_workflow_event() -> None:
    names = {d.name for d in event_types()}
    assert {f"{e.value}.status_changed" for e in EntityType} <= names
    emitted_by_flows = {
        action.event
        for _, definition in all_defaults()
        for status in definition.statuses
        for action in status.on_enter
        if action.kind == "emit_webhook"
    }
    assert "order.delivered" in emitted_by_flows
    assert {d.name for d in event_types() if d.origin == "workflow"} == emitted_by_flows


def test_every_type_has_a_json_schema_of_its_data() -> None:
    for declared in event_types():
        schema = declared.data.model_json_schema(by_alias=True, mode="serialization")
        assert schema["type"] == "object", declared.name
        assert schema.get("additionalProperties") is False, declared.name


def test_filters_match_exact_types_and_wildcard_prefixes() -> None:
    assert matches([], "order.created")
    assert matches(["order.created"], "order.created")
    assert not matches(["order.created"], "order.updated")
    assert matches(["order.*"], "order.status_changed")
    assert not matches(["order.*"], "orders.created")
    assert not matches(["order.*"], "service_job.status_changed")
    assert matches(["message.*"], "message.attempt.exhausted")


def test_filters_are_validated_against_the_catalog_and_deduplicated() -> None:
    assert validate_filters(["order.*", "customer.created", "order.*"]) == ["order.*", "customer.created"]
    with pytest.raises(InvalidInput) as refused:
        validate_filters(["order.created", "order.teleported", "nothing.*"])
    assert [e.loc for e in refused.value.errors] == ["body.eventTypes[1]", "body.eventTypes[2]"]


def test_data_is_normalised_by_its_model_or_left_alone_when_it_does_not_fit() -> None:
    declared = event_type("order.created")
    assert declared is not None
    from decimal import Decimal

    stored = {"number": Decimal(7), "total": {"amount": Decimal("12.5"), "currency": "BRL"}, "channel": "web"}
    assert normalize(declared.data, stored) == {
        "number": 7,
        "total": {"amount": "12.50", "currency": "BRL"},
        "channel": "web",
    }
    assert normalize(declared.data, {"number": 7}) is None


def _event(type_: str, data: dict[str, Any]) -> DomainEvent:
    # Built directly, not with new_event: the session's listener would fail this test for the broken one.
    return DomainEvent(
        id="01J0000000000000000000000", type=type_, tenant_id="T1", occurred_at="2026-01-01T00:00:00Z", data=data
    )


def test_events_are_checked_against_the_catalog_as_subscribers_receive_them() -> None:
    # A message with its own text has no template: the catalog says so (it declared a required string).
    free_text = _event("notification.requested", {"notificationId": "N1", "channel": "sms", "template": None})
    assert event_violations(free_text) == []
    from decimal import Decimal

    stored = {"number": Decimal(7), "total": {"amount": Decimal("12.5"), "currency": "BRL"}, "channel": "web"}
    assert event_violations(_event("order.created", stored)) == []
    broken = event_violations(_event("order.created", {"number": 7, "channel": None}))
    assert [v.split(":")[0] for v in broken] == ["total", "channel"]
    assert event_violations(_event("order.teleported", {})) != []
