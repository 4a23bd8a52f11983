"""Path parameters and ids as a request sends them, for ``core.api``'s operation wrapper.

A ``{…_id}`` parameter holding an id of another shape than ours, and a typed path parameter whose value does not
fit its type, name no resource (404 naming ``path.<name>``). An id that cannot be a key (empty, or holding the key
separator) is answered as the client's mistake — 404 in the path, 422 naming the query or body field — instead of
the key builders' ``InvalidKey`` (a 500).
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

from pydantic import TypeAdapter, ValidationError

from chalicelib.core.db.keys import InvalidKey
from chalicelib.core.errors import AppError, FieldError, InvalidInput, NotFound
from chalicelib.core.ids import is_entity_id
from chalicelib.core.problems import field_errors

__all__ = ["check_path_ids", "parse_path", "path_types", "unusable_id"]


def check_path_ids(params: Mapping[str, str]) -> None:
    """``NotFound`` naming each path parameter that names an entity (``{order_id}``) but holds an id of another
    shape than ours: it names nothing, and could not even be part of a key (DynamoDB refuses a key part over 2 KB;
    "#" would bend it)."""
    wrong = [name for name, value in params.items() if name.endswith("_id") and not is_entity_id(value)]
    if wrong:
        raise NotFound(
            detail=f"No such resource: {', '.join(f'{name} is not an id' for name in wrong)}.",
            errors=tuple(FieldError(f"path.{name}", "not an id", "not-found") for name in wrong),
        )


def path_types(view: Callable[..., Any], path: str) -> dict[str, Any]:
    """The path parameters ``view`` annotates with something narrower than str (validated and documented so)."""
    hints = typing.get_type_hints(view)
    return {name: hints[name] for name in re.findall(r"\{(\w+)\}", path) if hints.get(name, str) is not str}


def parse_path(params: Mapping[str, str], types: Mapping[str, Any]) -> dict[str, Any]:
    """The typed path parameters parsed; ``NotFound`` naming each that does not fit its type."""
    parsed: dict[str, Any] = {}
    errors: list[FieldError] = []
    wrong: list[str] = []
    for name, declared in types.items():
        try:
            parsed[name] = TypeAdapter(declared).validate_python(params[name])
        except ValidationError as exc:
            found = field_errors(exc, f"path.{name}")
            errors += found
            wrong.append(f"{name} {params[name]!r}: {'; '.join(e.message for e in found)}")
    if errors:
        # A path that does not fit its parameters' types names no resource.
        raise NotFound(detail=f"No such resource: {'; '.join(wrong)}.", errors=errors)
    return parsed


def _where(value: Any, sent: Any, loc: str) -> list[str]:
    # The places in a parsed JSON body that hold ``value`` (``body.items[0].productId``).
    if isinstance(sent, dict):
        return [w for key, item in sent.items() for w in _where(value, item, f"{loc}.{key}")]
    if isinstance(sent, list):
        return [w for i, item in enumerate(sent) for w in _where(value, item, f"{loc}[{i}]")]
    return [loc] if sent == value else []


def unusable_id(
    error: InvalidKey, query: Mapping[str, str] | None, raw_body: str | bytes | None, path_params: Mapping[str, str]
) -> AppError | None:
    """What to answer when an id the request sent cannot be a key (empty, or with the key separator): nothing has
    that id, so a path naming it is a 404 and a field holding it a 422 naming the field. Any other key failure is a
    bug, and stays one."""
    if error.part is None:
        return None
    value = error.part
    in_path = [f"path.{name}" for name, sent in path_params.items() if sent == value]
    if in_path:
        errors = [FieldError(loc, "no such id", "not-found") for loc in in_path]
        return NotFound(detail=f"Nothing has the id {value!r}.", errors=errors)
    places = [f"query.{name}" for name, sent in (query or {}).items() if sent == value]
    with suppress(ValueError):
        places += _where(value, json.loads(raw_body or b"null"), "body")
    if not places:
        return None
    errors = [FieldError(loc, "not an id: it is empty or contains '#'", "invalid-id") for loc in places]
    return InvalidInput(detail=f"{value!r} is not an id.", errors=errors)
