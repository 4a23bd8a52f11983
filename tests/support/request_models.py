"""The request bodies the app declares, field by field (nested models and list items included), for tests
generated over them: adding a route or a field adds its cases."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from app import app
from chalicelib.core.api import Operation, operation_of

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class BodyField:
    """One field of a route's request body; ``loc`` is its JSON path (aliases, 0 for a list's item)."""

    method: str
    path: str
    operation: Operation
    loc: Loc
    info: FieldInfo

    @property
    def name(self) -> str:
        """The field's JSON name (``serviceIds``)."""
        return str(self.loc[-1])

    @property
    def field(self) -> str:
        """How problems name it (``body.items[0].discount``)."""
        text = "body"
        for part in self.loc:
            text += f"[{part}]" if isinstance(part, int) else f".{part}"
        return text

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.field}"

    def body_with(self, value: Any) -> dict[str, Any]:
        """A body holding ``value`` at this field (and nothing else)."""
        built: Any = value
        for part in reversed(self.loc):
            built = [built] if isinstance(part, int) else {part: built}
        return dict(built)


def declared_operations() -> Iterator[tuple[str, str, Operation]]:
    """Every (method, path, operation) the app serves."""
    for path, methods in sorted(app.routes.items()):
        for method, entry in sorted(methods.items()):
            operation = operation_of(entry.view_function)
            if operation is not None:
                yield method, path, operation


def models_in(annotation: Any) -> Iterator[tuple[type[BaseModel], bool]]:
    """The models an annotation holds, each with whether it sits in a list (``list[Line] | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, False
        return
    listed = typing.get_origin(annotation) in (list, tuple, set, frozenset)
    for argument in typing.get_args(annotation):
        for model, inner_list in models_in(argument):
            yield model, listed or inner_list


def fields_of(model: type[BaseModel], prefix: Loc = ()) -> Iterator[tuple[Loc, FieldInfo]]:
    """Every field of ``model`` and of the models it holds, by JSON path."""
    for name, info in model.model_fields.items():
        loc = (*prefix, info.alias or name)
        yield loc, info
        for inner, listed in models_in(info.annotation):
            if inner is not model:
                yield from fields_of(inner, (*loc, 0) if listed else loc)


def body_fields(method: str | None = None) -> list[BodyField]:
    """The fields of every declared request body (of ``method`` routes only, when given)."""
    return [
        BodyField(m, path, operation, loc, info)
        for m, path, operation in declared_operations()
        if operation.body is not None and method in (None, m)
        for loc, info in fields_of(operation.body)
    ]
