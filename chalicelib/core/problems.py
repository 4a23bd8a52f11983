"""RFC 9457 problem details: the one place where errors become HTTP responses.

Three sources are mapped here, so every error a client sees has the same shape:
``AppError``s raised by services, pydantic validation of requests, and the responses that API Gateway
(or Chalice itself) produces before or around the application (unknown path, wrong method, 500).

Being the one place, it is also where problems are translated (``core.i18n``): the ``title``, the ``detail`` and
each ``errors[].message`` are rendered in the locale the request resolved to (the field paths and the ``type``
stay as they are), so every capability's errors are translated without the capability doing anything. A message
no catalogue has (a service's own sentence) stays in English; pydantic's messages are translated from their
templates.
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
from chalicelib.core.i18n import DEFAULT_LOCALE, N_, fields_of, translate
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


def _problem(
    code: str,
    title: str,
    status: int,
    detail: str | None = None,
    *,
    locale: str | None = None,
    params: dict[str, Any] | None = None,
    **extra: Any,
) -> Problem:
    return Problem(
        type=f"{_TYPE_PREFIX}{code}",
        title=translate(title, locale),
        status=status,
        detail=translate(detail, locale, params) if detail else detail,
        **extra,
    )


def _message(error: FieldError, locale: str | None) -> str:
    if error.template is not None:
        return translate(error.template, locale, error.params or {})
    return translate(error.message, locale)


def _fields(errors: Sequence[FieldError], locale: str | None) -> list[ProblemField] | None:
    return [ProblemField(field=e.loc, message=_message(e, locale), code=e.code) for e in errors] or None


def problem_from_error(error: AppError, locale: str | None = DEFAULT_LOCALE) -> tuple[Problem, dict[str, str]]:
    """The problem and extra headers for a domain error, in ``locale``."""
    status = next((s for cls, s in _STATUS_BY_ERROR if isinstance(error, cls)), 500)
    headers: dict[str, str] = {}
    limit = None
    if isinstance(error, LimitExceeded):
        limit = error.limit or None
        if error.retry_after is not None:
            headers["Retry-After"] = str(error.retry_after)
    problem = _problem(
        error.code,
        error.title,
        status,
        error.detail or None,
        locale=locale,
        params=error.params,
        errors=_fields(error.errors, locale),
        limit=limit,
    )
    return problem, headers


def _loc(prefix: str, loc: Sequence[int | str]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


# Pydantic's messages translated from their templates (pydantic_core's ``message_template_python``), by error type.
_PYDANTIC_TEMPLATES: dict[str, str] = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "too_short": N_(
        "{field_type} should have at least {min_length} item{expected_plural} after validation, not {actual_length}"
    ),
    "too_long": N_(
        "{field_type} should have at most {max_length} item{expected_plural} after validation, not {actual_length}"
    ),
    "string_type": N_("Input should be a valid string"),
    "string_too_short": N_("String should have at least {min_length} character{expected_plural}"),
    "string_too_long": N_("String should have at most {max_length} character{expected_plural}"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "enum": N_("Input should be {expected}"),
    "literal_error": N_("Input should be {expected}"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or instance of {class_name}"),
    "list_type": N_("Input should be a valid list"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "decimal_parsing": N_("Input should be a valid decimal"),
    "decimal_max_digits": N_("Decimal input should have no more than {max_digits} digit{expected_plural} in total"),
    "decimal_max_places": N_("Decimal input should have no more than {decimal_places} decimal place{expected_plural}"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD, {error}"),
    "datetime_parsing": N_("Input should be a valid datetime, {error}"),
    "value_error": N_("Value error, {error}"),
}


def _field_error(prefix: str, error: Any) -> FieldError:
    template = _PYDANTIC_TEMPLATES.get(error["type"])
    params = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    params.setdefault("expected_plural", "" if params.get("min_length", params.get("max_length")) == "1" else "s")
    if template is not None and not fields_of(template) <= params.keys():
        template = None  # the error lacks what its template names (a validator's own error): its message as is
    return FieldError(_loc(prefix, error["loc"]), error["msg"], error["type"], template, params)


def field_errors(error: ValidationError, prefix: str) -> list[FieldError]:
    """Pydantic's errors as field errors whose paths start with ``prefix`` (``body``, ``query``, ``path``)."""
    return [_field_error(prefix, e) for e in error.errors()]


@dataclass(frozen=True)
class GatewayProblem:
    """How one API Gateway response type is rewritten as a problem (infra: Gateway Responses)."""

    status: int
    code: str
    title: str
    detail: str


GATEWAY_RESPONSES: dict[str, GatewayProblem] = {
    "MISSING_AUTHENTICATION_TOKEN": GatewayProblem(
        404, "not-found", N_("Not found"), N_("No route matches this path.")
    ),
    "UNAUTHORIZED": GatewayProblem(401, "unauthorized", N_("Unauthorized"), N_("A valid access token is required.")),
    "ACCESS_DENIED": GatewayProblem(403, "forbidden", N_("Forbidden"), N_("This token may not call this route.")),
    "DEFAULT_4XX": GatewayProblem(400, "bad-request", N_("Bad request"), N_("The request was refused.")),
    "DEFAULT_5XX": GatewayProblem(500, "internal-error", N_("Internal error"), N_("Something went wrong on our side.")),
}


def gateway_problem(response_type: str) -> Problem:
    """The problem for API Gateway response type ``response_type`` (``MISSING_AUTHENTICATION_TOKEN``…)."""
    known = GATEWAY_RESPONSES.get(response_type, GATEWAY_RESPONSES["DEFAULT_4XX"])
    return _problem(known.code, known.title, known.status, known.detail)


_TITLES_BY_STATUS: dict[int, tuple[str, str]] = {
    400: ("bad-request", N_("Bad request")),
    401: ("unauthorized", N_("Unauthorized")),
    403: ("forbidden", N_("Forbidden")),
    404: ("not-found", N_("Not found")),
    405: ("method-not-allowed", N_("Method not allowed")),
    413: ("payload-too-large", N_("Payload too large")),
    415: ("unsupported-media-type", N_("Unsupported media type")),
    429: ("too-many-requests", N_("Too many requests")),
    500: ("internal-error", N_("Internal error")),
    503: ("service-unavailable", N_("Service unavailable")),
}


def problem_for_status(status: int, detail: str | None = None, locale: str | None = DEFAULT_LOCALE) -> Problem:
    """A problem for a bare status code (Chalice's own 405/415/500 responses), in ``locale``."""
    code, title = _TITLES_BY_STATUS.get(status, ("error", N_("Error")))
    if status >= 500:
        detail = N_("Something went wrong on our side; it has been logged.")
    return _problem(code, title, status, detail, locale=locale)


def problem_response(
    problem: Problem,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    locale: str | None = None,
) -> Response:
    """The Chalice response carrying ``problem`` (with ``Content-Language`` when it was rendered in ``locale``)."""
    if instance is not None:
        problem = problem.model_copy(update={"instance": instance})
    body = problem.model_dump_json(exclude_none=True)
    language = {"Content-Language": locale, "Vary": "Accept-Language"} if locale else {}
    return Response(
        body=body,
        status_code=problem.status,
        headers={"Content-Type": PROBLEM_CONTENT_TYPE, **language, **(headers or {})},
    )


def problem_body(problem: Problem) -> bytes:
    """The JSON bytes of ``problem`` (for servers that write raw bodies)."""
    return json.dumps(problem.model_dump(exclude_none=True)).encode()
