"""RFC 9457 problem details: the one place where errors become HTTP responses.

Three sources are mapped here, so every error a client sees has the same shape:
``AppError``s raised by services, pydantic validation of requests, and the responses that API Gateway
(or Chalice itself) produces before or around the application (unknown path, wrong method, 500).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalice.app import Response
from pydantic import ValidationError

from chalicelib.core.errors import (
    AppError,
    Conflict,
    DependencyUnavailable,
    FieldError,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    MalformedRequest,
    NotFound,
    ProviderRefused,
    RateLimited,
    Unauthorized,
)
from chalicelib.core.models import ApiModel

__all__ = [
    "GATEWAY_RESPONSES",
    "PROBLEM_CONTENT_TYPE",
    "GatewayProblem",
    "Problem",
    "ProblemField",
    "field_errors",
    "gateway_problem",
    "problem_body",
    "problem_for_status",
    "problem_from_error",
    "problem_response",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:btrix:problem:"

# Most specific first: the first class the error is an instance of decides the status.
_STATUS_BY_ERROR: tuple[tuple[type[AppError], int], ...] = (
    (MalformedRequest, 400),
    (InvalidInput, 422),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RateLimited, 429),
    (LimitExceeded, 403),
    (DependencyUnavailable, 503),
    (ProviderRefused, 502),
)


class ProblemField(ApiModel):
    """One invalid field of the request."""

    field: str
    message: str
    code: str


class Problem(ApiModel):
    """An RFC 9457 problem (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemField] | None = None
    limit: str | None = None


def _problem(code: str, title: str, status: int, detail: str | None = None, **extra: Any) -> Problem:
    return Problem(type=f"{_TYPE_PREFIX}{code}", title=title, status=status, detail=detail, **extra)


def _fields(errors: Sequence[FieldError]) -> list[ProblemField] | None:
    return [ProblemField(field=e.loc, message=e.message, code=e.code) for e in errors] or None


def problem_from_error(error: AppError) -> tuple[Problem, dict[str, str]]:
    """The problem and extra headers for a domain error."""
    status = next((s for cls, s in _STATUS_BY_ERROR if isinstance(error, cls)), 500)
    headers: dict[str, str] = {}
    limit = None
    if isinstance(error, LimitExceeded):
        limit = error.limit or None
        if error.retry_after is not None:
            headers["Retry-After"] = str(error.retry_after)
    problem = _problem(error.code, error.title, status, error.detail or None, errors=_fields(error.errors), limit=limit)
    return problem, headers


def _loc(prefix: str, loc: Sequence[int | str]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def field_errors(error: ValidationError, prefix: str) -> list[FieldError]:
    """Pydantic's errors as field errors whose paths start with ``prefix`` (``body``, ``query``, ``path``)."""
    return [FieldError(_loc(prefix, e["loc"]), e["msg"], e["type"]) for e in error.errors()]


@dataclass(frozen=True)
class GatewayProblem:
    """How one API Gateway response type is rewritten as a problem (infra: Gateway Responses)."""

    status: int
    code: str
    title: str
    detail: str


GATEWAY_RESPONSES: dict[str, GatewayProblem] = {
    "MISSING_AUTHENTICATION_TOKEN": GatewayProblem(404, "not-found", "Not found", "No route matches this path."),
    "UNAUTHORIZED": GatewayProblem(401, "unauthorized", "Unauthorized", "A valid access token is required."),
    "ACCESS_DENIED": GatewayProblem(403, "forbidden", "Forbidden", "This token may not call this route."),
    "DEFAULT_4XX": GatewayProblem(400, "bad-request", "Bad request", "The request was refused."),
    "DEFAULT_5XX": GatewayProblem(500, "internal-error", "Internal error", "Something went wrong on our side."),
}


def gateway_problem(response_type: str) -> Problem:
    """The problem for API Gateway response type ``response_type`` (``MISSING_AUTHENTICATION_TOKEN``…)."""
    known = GATEWAY_RESPONSES.get(response_type, GATEWAY_RESPONSES["DEFAULT_4XX"])
    return _problem(known.code, known.title, known.status, known.detail)


_TITLES_BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
    500: ("internal-error", "Internal error"),
    503: ("service-unavailable", "Service unavailable"),
}


def problem_for_status(status: int, detail: str | None = None) -> Problem:
    """A problem for a bare status code (Chalice's own 405/415/500 responses)."""
    code, title = _TITLES_BY_STATUS.get(status, ("error", "Error"))
    if status >= 500:
        detail = "Something went wrong on our side; it has been logged."
    return _problem(code, title, status, detail)


def problem_response(
    problem: Problem, *, instance: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """The Chalice response carrying ``problem``."""
    if instance is not None:
        problem = problem.model_copy(update={"instance": instance})
    body = problem.model_dump_json(exclude_none=True)
    return Response(
        body=body,
        status_code=problem.status,
        headers={"Content-Type": PROBLEM_CONTENT_TYPE, **(headers or {})},
    )


def problem_body(problem: Problem) -> bytes:
    """The JSON bytes of ``problem`` (for servers that write raw bodies)."""
    return json.dumps(problem.model_dump(exclude_none=True)).encode()
