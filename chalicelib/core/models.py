"""Base pydantic models: camelCase on the wire, snake_case in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["ApiModel"]


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
