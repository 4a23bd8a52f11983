"""Builds the OpenAPI 3.1 document from the Chalice route table and the operations routes declare."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

from chalice.app import Chalice
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.core.api import ALWAYS_POSSIBLE, CSRF_HEADER, IDEMPOTENCY_HEADER, JSON, Operation, operation_of
from chalicelib.core.config import get_settings
from chalicelib.core.problems import PROBLEM_CONTENT_TYPE, Problem

__all__ = ["build_openapi"]

_REF = "#/components/schemas/{model}"
_PROBLEM_REF = {"$ref": _REF.format(model="Problem")}
# 1 to 255 printable ASCII characters (core/idempotency.py), neither starting nor ending with a space (HTTP drops it).
_IDEMPOTENCY_KEY = r"^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$"

_STANDARD_PROBLEMS = {
    400: "Malformed request (invalid JSON, forged cursor)",
    401: "Missing or invalid credentials",
    403: "Not allowed: the role lacks the permission, the plan lacks the module or reached a limit, the"
    " tenant is suspended, or a browser session's CSRF token or Origin is missing or wrong",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict: the version sent is stale, a duplicate, a lost race, or an Idempotency-Key reused with"
    " another body",
    415: "Unsupported media type",
    422: "Validation failed: errors[] names each field",
    429: "Too many requests: over the tenant's plan rate or burst, the API's overall throttle or the operation's own"
    " limit; Retry-After says in how many seconds to try again",
    500: "Internal error (logged, no details)",
    503: "A dependency is unavailable",
}
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 1},
}
Mode = Literal["validation", "serialization"]


def _models(app: Chalice) -> list[tuple[type[BaseModel], Mode]]:
    wanted: list[tuple[type[BaseModel], Mode]] = [(Problem, "serialization")]
    for methods in app.routes.values():
        for entry in methods.values():
            operation = operation_of(entry.view_function)
            if operation is None:
                continue
            for model, mode in ((operation.body, "validation"), (operation.query, "validation")):
                if model is not None:
                    wanted.append((model, mode))  # type: ignore[arg-type]
            wanted += [(model, "serialization") for model in _response_models(operation.response)]
    return list(dict.fromkeys(wanted))


def _response_models(response: Any) -> list[type[BaseModel]]:
    """The models of an operation's response: one, or each of a union (``TokenPair | BrowserSession``)."""
    if isinstance(response, type) and issubclass(response, BaseModel):
        return [response]
    if isinstance(response, types.UnionType):
        members = typing.get_args(response)
        if all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
            return list(members)
    return []


def _query_parameters(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": prop.get("description", ""),
            "schema": {k: v for k, v in prop.items() if k not in ("description", "title")},
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(
    operation: Operation | None,
    method: str,
    path_params: list[str],
    refs: Mapping[Any, dict[str, Any]],
    components: dict[str, Any],
    operation_id: str,
) -> dict[str, Any]:
    result: dict[str, Any] = {"operationId": operation_id}
    codes: set[int] = set(ALWAYS_POSSIBLE)
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": operation.path_schema(name) if operation is not None else {"type": "string"},
        }
        for name in path_params
    ]
    responses: dict[str, Any] = {}
    if operation is None:
        result.update(summary=operation_id, tags=["other"])
        responses["200"] = {"description": "OK"}
    else:
        result.update(summary=operation.summary, tags=[operation.tag])
        notes = [operation.description] if operation.description else []
        codes = set(operation.statuses) - {operation.status, *operation.extra_responses}
        if not operation.public:
            # Either an access token in the Authorization header, or a browser session's access cookie with (on a
            # state change) the CSRF header.
            result["security"] = [{"bearerAuth": []}, {"cookieAuth": [], "csrfHeader": []}]
            needed = [operation.permission, *operation.also_requires]
            shown = " and ".join(f"`{p}`" for p in needed)
            notes.append(f"Requires the permission{'s' if len(needed) > 1 else ''} {shown}.")
            if operation.module:
                notes.append(f"Needs the plan module `{operation.module}`.")
        if notes:
            result["description"] = "\n\n".join(notes)
        if operation.query is not None:
            parameters += _query_parameters(refs[(operation.query, "validation")], components)
        if operation.idempotent:
            parameters.append(
                {
                    "name": IDEMPOTENCY_HEADER,
                    "in": "header",
                    "required": False,
                    "description": "Repeat the create safely for 24 h: the same key and body get the same answer and"
                    " nothing is created twice; the same key with another body is a 409.",
                    "schema": {"type": "string", "pattern": _IDEMPOTENCY_KEY},
                }
            )
        if operation.body is not None:
            result["requestBody"] = {
                "required": True,
                "content": {JSON: {"schema": refs[(operation.body, "validation")]}},
            }
        success: dict[str, Any] = {"description": "OK" if operation.status < 300 else "Done"}
        models = _response_models(operation.response)
        if len(models) == 1:
            success["content"] = {operation.produces: {"schema": refs[(models[0], "serialization")]}}
        elif models:
            schemas = [refs[(model, "serialization")] for model in models]
            success["content"] = {operation.produces: {"schema": {"oneOf": schemas}}}
        elif operation.produces != JSON:
            success["content"] = {operation.produces: {"schema": {"type": "string"}}}
        responses[str(operation.status)] = success
        for status, description in operation.extra_responses.items():
            extra: dict[str, Any] = {"description": description}
            if "content" in success:
                extra["content"] = success["content"]
            responses[str(status)] = extra
    if parameters:
        result["parameters"] = parameters
    for status in sorted(codes):
        responses.setdefault(
            str(status),
            {
                "description": _STANDARD_PROBLEMS.get(status, "Problem"),
                "content": {PROBLEM_CONTENT_TYPE: {"schema": _PROBLEM_REF}},
            },
        )
    # Every route can be throttled (the stage's throttle; the tenant's plan on an authenticated one): say when to retry.
    responses["429"].setdefault("headers", {"Retry-After": _RETRY_AFTER})
    result["responses"] = dict(sorted(responses.items()))
    return result


def build_openapi(app: Chalice) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route ``app`` serves."""
    settings = get_settings()
    refs, definitions = models_json_schema(_models(app), ref_template=_REF, by_alias=True)
    components: dict[str, Any] = definitions.get("$defs", {})
    paths: dict[str, Any] = {}
    for path, methods in sorted(app.routes.items()):
        item: dict[str, Any] = {}
        for method, entry in sorted(methods.items()):
            item[method.lower()] = _operation(
                operation_of(entry.view_function),
                method,
                list(entry.view_args),
                refs,
                components,
                entry.view_name,
            )
        paths[path] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "BTRIX API",
            "version": settings.version,
            "description": (
                "Multi-tenant back end for small businesses. JSON in camelCase; errors are RFC 9457 "
                "problem details (application/problem+json); lists take limit (1-100, default 25) and an "
                "opaque cursor."
            ),
        },
        "servers": [{"url": "/", "description": f"this deployment ({settings.stage})"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "__Host-btrix_access",
                    "description": "A browser session (POST /auth/login with session=cookie): the access token in an "
                    "HttpOnly; Secure; SameSite cookie (btrix_access without Secure on the local stage's loopback "
                    "host). Only from an origin the tenant allows (allowedOrigins); see docs/SECURITY.md.",
                },
                "csrfHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": CSRF_HEADER,
                    "description": "With the access cookie, every state-changing request (not GET/HEAD) sends the "
                    "csrfToken of the login or refresh answer, equal to the CSRF cookie (double submit); else 403.",
                },
            },
        },
    }
