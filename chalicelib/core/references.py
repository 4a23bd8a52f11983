"""References in request bodies: ids that name another entity, checked to exist in the caller's tenant.

A request model declares what an id field names with ``Annotated[EntityId, Ref("customer")]`` (on a list field, each
item is an id; ``EntityId`` gives it the shape of our ids, so the schema says it and a malformed one is a 422 before
anything reads it; one that reaches the check anyway is unknown without a read). After the body is parsed, the
declared operation (``core/api.py``) calls ``check_references`` with the caller's tenant: the ids of each kind are
looked up at once through the resolver the owning capability's service registered (``register_reference``), and an
id that is not there is a 422 naming the field (``body.serviceIds[0]``). The lookup uses the tenant's keys, so
another tenant's id is simply not found.

Fields whose id the service itself loads and refuses with a 422 naming the field (an order line's product, whose
price it needs) say so with ``CheckedInService(kind, reason)``; ids that name nothing of a tenant (a provider's ids, the
platform's plans) with ``NotAReference(reason)``. ``tests/integration/requests/test_references.py`` fails for a
field named ``…Id``/``…Ids`` that has none of the three.
"""

from __future__ import annotations

import typing
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from chalicelib.core import capabilities
from chalicelib.core.errors import FieldError, InvalidInput
from chalicelib.core.i18n import N_
from chalicelib.core.ids import is_entity_id

__all__ = [
    "CheckedInService",
    "NotAReference",
    "Ref",
    "Resolver",
    "check_references",
    "has_references",
    "register_reference",
    "registered_kinds",
]

# (tenant id, distinct ids) -> the ids among them that name an entity of the kind in that tenant.
Resolver = Callable[[str, Sequence[str]], set[str]]


@dataclass(frozen=True)
class Ref:
    """This field holds the id (or, on a list, ids) of an entity of ``kind`` in the caller's tenant."""

    kind: str


@dataclass(frozen=True)
class CheckedInService:
    """This id field names an entity of ``kind`` that the service loads anyway and refuses with a 422 naming the
    field when the caller's tenant has none; ``reason`` says where (the generic check would read it twice)."""

    kind: str
    reason: str


@dataclass(frozen=True)
class NotAReference:
    """This id field names nothing of the tenant (a provider's id, a platform plan)."""

    reason: str


_RESOLVERS: dict[str, Resolver] = {}


def register_reference(kind: str, resolver: Resolver) -> None:
    """Make ``Ref(kind)`` resolvable; called by the owning capability's service module when it is imported."""
    _RESOLVERS[kind] = resolver


def registered_kinds() -> frozenset[str]:
    """The kinds that have a resolver."""
    capabilities.load_registrations()
    return frozenset(_RESOLVERS)


@dataclass(frozen=True)
class _Slot:
    name: str  # Python attribute name
    alias: str  # JSON name
    kind: str | None  # Ref kind, or None for a field holding models that hold references
    nested: bool


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for argument in typing.get_args(annotation):
        yield from _models_in(argument)


@cache
def _slots(model: type[BaseModel]) -> tuple[_Slot, ...]:
    slots = []
    for name, info in model.model_fields.items():
        alias = info.alias or name
        ref = next((m for m in info.metadata if isinstance(m, Ref)), None)
        if ref is not None:
            slots.append(_Slot(name, alias, ref.kind, nested=False))
        elif any(inner is not model and _slots(inner) for inner in _models_in(info.annotation)):
            slots.append(_Slot(name, alias, None, nested=True))
    return tuple(slots)


def has_references(model: type[BaseModel]) -> bool:
    """True when bodies of ``model`` may hold references."""
    return bool(_slots(model))


def _found(value: Any, path: str) -> Iterator[tuple[str, str, str]]:
    """(field path, kind, id) of every reference in ``value``."""
    if not isinstance(value, BaseModel):
        return
    for slot in _slots(type(value)):
        held = getattr(value, slot.name)
        at = f"{path}.{slot.alias}"
        items = list(enumerate(held)) if isinstance(held, list | tuple) else [(None, held)]
        for index, item in items:
            where = at if index is None else f"{at}[{index}]"
            if slot.nested:
                yield from _found(item, where)
            elif isinstance(item, str) and slot.kind is not None:
                yield where, slot.kind, item


def check_references(tenant_id: str, body: BaseModel) -> None:
    """Raise ``InvalidInput`` naming each id of ``body`` that names no entity of its kind in ``tenant_id``."""
    found = list(_found(body, "body"))
    if not found:
        return
    wanted: dict[str, set[str]] = defaultdict(set)
    for _, kind, entity_id in found:
        if is_entity_id(entity_id):  # another shape names nothing, and could not be part of a key
            wanted[kind].add(entity_id)
    existing = {kind: _resolver(kind)(tenant_id, sorted(ids)) for kind, ids in wanted.items()}
    errors = tuple(
        FieldError(field, f"no {kind} with this id", "unknown-reference", N_("no {kind} with this id"), {"kind": kind})
        for field, kind, entity_id in found
        if entity_id not in existing.get(kind, ())
    )
    if errors:
        raise InvalidInput(
            detail=N_("{count} id(s) in the request body name nothing in this account."),
            params={"count": len(errors)},
            errors=errors,
            title=N_("Unknown reference"),
            code="unknown-reference",
        )


def _resolver(kind: str) -> Resolver:
    if kind not in _RESOLVERS:
        capabilities.load_registrations()  # its service is not imported yet
    try:
        return _RESOLVERS[kind]
    except KeyError:
        raise LookupError(f"no resolver of {kind!r} references: its service must call register_reference") from None
