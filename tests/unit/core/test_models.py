"""What the project's models cost a new container when they are first built (issue 20's cold path)."""

from __future__ import annotations

import inspect

from pydantic import BaseModel

import app  # noqa: F401  (the route table: every capability's models once its routes are loaded)
from chalicelib.core import capabilities
from chalicelib.route_table import ROUTES


def _subclasses(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = []
    for sub in model.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _has_text_signature(factory: object) -> bool:
    return inspect.isclass(factory) and factory.__module__ == "builtins" and factory.__text_signature__ is not None


def test_no_model_field_defaults_through_a_builtin_factory() -> None:
    # Building a model, pydantic reads each default_factory's signature; a builtin's (``list``, not ``dict``, which
    # has none) is parsed from its text signature with tokenize, whose regular expressions the process compiles on
    # that first parse: a new container's first request paid for it building the guard's tenant.
    # core.models.empty_list is the factory.
    capabilities.load_all_routes(ROUTES)
    import chalicelib.inbound.email  # noqa: F401  (a webhook function's models, outside the route table)

    builtin_factories = sorted(
        f"{model.__module__}.{model.__qualname__}.{name}"
        for model in _subclasses(BaseModel)
        if model.__module__.startswith("chalicelib.")
        for name, field in model.model_fields.items()
        if inspect.isbuiltin(field.default_factory) or _has_text_signature(field.default_factory)
    )

    assert builtin_factories == []
