"""Base pydantic models: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = ["ApiModel", "empty_list", "invalid_at"]


class ApiModel(BaseModel):
    """Base of every request/response model: camelCase JSON, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="forbid",
        str_strip_whitespace=True,
        # Validators are built when a model is first used, not when its module is imported: a Lambda that
        # serves one route pays for its own models only, which keeps cold starts short.
        defer_build=True,
    )

    @classmethod
    def from_attributes_of(cls, item: Mapping[str, Any]) -> Self:
        """The model of the attributes of ``item`` it declares (stored names), the others left out: a stored item
        that carries more than this model shows (storage keys, another capability's or the engine's fields)."""
        names = _stored_names(cls)
        return cls.model_validate({name: value for name, value in item.items() if name in names})


@cache
def _stored_names(model: type[BaseModel]) -> frozenset[str]:
    # Once per model (a page of a list reads as many items as it shows): its fields' names as they are stored.
    return frozenset(field.alias or name for name, field in model.model_fields.items())


def empty_list() -> list[Any]:
    """A new empty list: the ``default_factory`` of a model's list field, in place of ``list``. Building a model,
    pydantic reads its factories' signatures, and a builtin's is parsed from its text signature with ``tokenize``,
    whose regular expressions a process compiles on that first parse (on a new container's first request: the guard's
    tenant has such a field)."""
    return []


def invalid_at(loc: tuple[str | int, ...], message: str, value: object = None, *, title: str = "") -> ValidationError:
    """The error a model validator raises to name one of its fields (``body.price.amount``, not ``body.price``):
    pydantic locates a plain ``ValueError`` of a model validator at the model itself."""
    detail = InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=value)
    return ValidationError.from_exception_data(title or "invalid", [detail])
