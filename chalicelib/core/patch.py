"""PATCH bodies: what an omitted field and an explicit null mean, and merging a change into the stored model.

Every PATCH route's body is a ``PatchRequest`` (``ApiBlueprint.operation`` refuses one that is not). A field left
out stays as it is; null clears a field declared ``Clearable`` and is a 422 naming any other field, so a change
never reaches the stored model with a null it cannot hold. The OpenAPI document allows null exactly for the
clearable fields, and says that a body changes something (``minProperties``: ``version`` and one field more).
Services apply a change with ``merge_patch``, which answers a value the stored model still refuses with a 422
naming the sent field instead of an error out of the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ValidationError, ValidationInfo, field_validator, model_validator

from chalicelib.core.errors import InvalidInput
from chalicelib.core.i18n import N_
from chalicelib.core.models import ApiModel
from chalicelib.core.problems import field_errors

__all__ = ["Clearable", "PatchRequest", "merge_patch"]

M = TypeVar("M", bound=BaseModel)


class Clearable:
    """Marks a field of a ``PatchRequest`` that an explicit null clears: ``notes: Annotated[str | None,
    Clearable()] = None``. Without it, null is refused (422 naming the field)."""

    def __repr__(self) -> str:
        return "Clearable()"


def _patch_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    # Optional in Python means "may be omitted"; the document allows null only where null clears the field.
    clearable: frozenset[str] = getattr(model, "clearable_fields", frozenset())
    # A change besides what is required and not a change (version): nothing else is "nothing to change" (422).
    not_changes: frozenset[str] = getattr(model, "not_changes", frozenset())
    required = [name for name, info in model.model_fields.items() if info.is_required() and name in not_changes]
    schema["minProperties"] = len(required) + 1
    for name, info in model.model_fields.items():
        prop = schema.get("properties", {}).get(info.alias or name)
        if prop is None or "anyOf" not in prop:
            continue
        if name in clearable:
            prop["description"] = " ".join(filter(None, (prop.get("description"), "null clears it.")))
            continue
        branches = [b for b in prop.pop("anyOf") if b != {"type": "null"}]
        prop.pop("default", None)
        if len(branches) == 1:
            prop.update(branches[0])
        else:
            prop["anyOf"] = branches


class PatchRequest(ApiModel):
    """Base of every PATCH body (``ApiBlueprint.operation`` refuses a PATCH route without one).

    A field left out stays as it is. An explicit null clears a field declared ``Clearable`` and is a 422 naming
    any other field; the OpenAPI document allows null exactly for the clearable ones. ``version`` (the one the
    client read) is not a change: a body with nothing else is a 422.
    """

    model_config = ApiModel.model_config | {"json_schema_extra": _patch_schema}

    clearable_fields: ClassVar[frozenset[str]] = frozenset()
    not_changes: ClassVar[frozenset[str]] = frozenset({"version"})

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.clearable_fields = frozenset(
            name for name, info in cls.model_fields.items() if any(isinstance(m, Clearable) for m in info.metadata)
        )

    @field_validator("*", mode="before")
    @classmethod
    def _null_clears_only_clearable_fields(cls, value: Any, info: ValidationInfo) -> Any:
        # Runs for the fields that were sent only: a field left out keeps its default.
        if value is None and info.field_name not in cls.clearable_fields:
            raise ValueError("cannot be null (leave the field out to keep it as it is)")
        return value

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set - self.not_changes:
            raise ValueError("nothing to change")
        return self

    def changes(self, **dump: Any) -> dict[str, Any]:
        """What the client sent, by JSON name, besides ``version`` (a cleared field is None)."""
        excluded = set(dump.pop("exclude", set())) | set(self.not_changes)
        return self.model_dump(exclude_unset=True, exclude=excluded, **dump)


def merge_patch(before: M, changes: Mapping[str, Any], **fields: Any) -> M:
    """``before`` with ``changes`` (JSON names) and ``fields`` applied, validated as its own model.

    A sent value the stored model cannot hold is a 422 naming the field, not an error out of the service.
    """
    merged = {**before.model_dump(), **changes, **fields}
    try:
        return type(before).model_validate(merged)
    except ValidationError as exc:
        if not all(e["loc"] and e["loc"][0] in changes for e in exc.errors()):
            raise  # the stored item or the service's own fields are wrong: a bug, not the client's input
        errors = field_errors(exc, "body")
        raise InvalidInput(
            detail=N_("{count} invalid field(s) in the request {part}."),
            params={"count": len(errors), "part": "body"},
            errors=errors,
        ) from exc
