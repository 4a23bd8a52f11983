"""HTTP plumbing shared by every capability: declared operations and the middleware around them.

A capability declares its routes with ``ApiBlueprint.operation``: the body, query and response models, the
status and a summary. The wrapper parses and validates the request, calls the view, renders the result
as camelCase JSON and maps every ``AppError`` to problem+json. The same declarations feed the OpenAPI
document, so what is served and what is documented cannot drift apart.

Every status an operation can answer follows from its declaration (``Operation.statuses``): a body, a query or
a path parameter can be invalid (422; a body also malformed, 400, or of another media type, 415), a path
parameter can name nothing (404; ``core/paths.py``), the guard refuses (401, 403; plan limits are 403 too; 429 over
the tenant's plan rate, which every route can answer as the stage's throttle does), a
versioned write or an idempotency key can conflict (409); what the service adds (a 409 for a duplicate, 429, 503)
the route declares in ``problems``. An answer outside that set is logged, counted and reported to the listeners
(the tests fail on it).
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from chalice.app import Blueprint, Chalice, Request, Response
from pydantic import BaseModel, TypeAdapter, ValidationError

from chalicelib.core import cors
from chalicelib.core.capabilities import RouteLine, resolve_view
from chalicelib.core.db.keys import InvalidKey
from chalicelib.core.db.store import read_ahead, tenant_scope
from chalicelib.core.errors import AppError, InvalidInput, MalformedRequest
from chalicelib.core.i18n import N_, answered_in, end_answer, resolve_locale, start_answer
from chalicelib.core.ids import EntityId
from chalicelib.core.observability import MetricUnit, logger, metrics
from chalicelib.core.patch import PatchRequest
from chalicelib.core.paths import check_path_ids, parse_path, path_types, unusable_id
from chalicelib.core.problems import field_errors, problem_for_status, problem_from_error, problem_response
from chalicelib.core.references import check_references, has_references
from chalicelib.core.request_info import CSRF_HEADER, RequestMeta, request_meta

__all__ = [
    "CSRF_HEADER",
    "IDEMPOTENCY_HEADER",
    "ApiBlueprint",
    "Guard",
    "Operation",
    "RequestMeta",
    "UndocumentedStatusListener",
    "http_middleware",
    "listen_to_undocumented_statuses",
    "operation_of",
    "request_meta",
]

JSON = "application/json"


# Statuses any operation can answer: 400 (API Gateway refuses a request it cannot read), 429 (the stage's throttle
# on every route; on an authenticated one also the tenant's plan rate and burst, core/throttle.py) and 500.
ALWAYS_POSSIBLE = (400, 429, 500)
VERSION_FIELD = "version"


@dataclass(frozen=True)
class Operation:
    """What a route declares about itself (read by the wrapper and by the OpenAPI generator)."""

    method: str
    summary: str
    description: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    produces: str = JSON
    problems: tuple[int, ...] = ()
    extra_responses: dict[int, str] = field(default_factory=dict)
    public: bool = True
    permission: str | None = None
    also_requires: tuple[str, ...] = ()
    module: str | None = None
    allow_suspended: bool = False
    idempotent: bool = False
    path: str = ""
    path_types: dict[str, Any] = field(default_factory=dict)

    @property
    def path_params(self) -> list[str]:
        """The names of the path's parameters (``/orders/{order_id}`` → ``order_id``)."""
        return re.findall(r"\{(\w+)\}", self.path)

    def path_schema(self, name: str) -> dict[str, Any]:
        """The JSON Schema of path parameter ``name``: its view's annotation (an enum, a constrained string), or an
        id's shape for a ``{…_id}``; a value that does not fit is a 404 naming the parameter."""
        declared = self.path_types.get(name)
        if declared is None and name.endswith("_id"):
            declared = EntityId
        if declared is None:
            return {"type": "string"}
        schema: dict[str, Any] = TypeAdapter(declared).json_schema()
        schema.pop("title", None)
        return schema

    @functools.cached_property
    def statuses(self) -> frozenset[int]:
        """Every status this operation can answer: its success, those its declaration implies, its ``problems``."""
        codes = {self.status, *ALWAYS_POSSIBLE, *self.problems, *self.extra_responses}
        if not self.public:
            codes.update((401, 403))  # the guard: no or bad token; role, module, suspended tenant, plan limit
        if self.path_params:
            codes.update((404, 422))
        if self.query is not None:
            codes.add(422)
        if self.body is not None:
            codes.update((415, 422))
            if VERSION_FIELD in self.body.model_fields:
                codes.add(409)  # the version sent is not the stored one any more
        if self.idempotent:
            codes.add(409)  # the same Idempotency-Key with another body
        return frozenset(codes)


UndocumentedStatusListener = Callable[[Operation, int], None]
_undocumented_listeners: list[UndocumentedStatusListener] = []


def listen_to_undocumented_statuses(listener: UndocumentedStatusListener) -> Callable[[], None]:
    """Call ``listener`` whenever an operation answers a status it does not document; returns its stop function."""
    _undocumented_listeners.append(listener)
    return lambda: _undocumented_listeners.remove(listener)


def _undocumented(operation: Operation, status: int) -> None:
    logger.error(
        "answered a status its OpenAPI does not document",
        extra={"operation": f"{operation.method} {operation.path}", "status": status},
    )
    metrics.add_metric(name="UndocumentedStatus", unit=MetricUnit.Count, value=1)
    for listener in tuple(_undocumented_listeners):
        listener(operation, status)


IDEMPOTENCY_HEADER = "Idempotency-Key"
# Resolves who is calling (or raises Unauthorized/Forbidden) for a protected operation. Supplied by the
# access-control capability, so that core stays free of identity code.
Guard = Callable[[Request, Operation], Any]


def operation_of(view: Callable[..., Any]) -> Operation | None:
    """The operation declared for a Chalice view function (or its stand-in) with ``ApiBlueprint``, if any."""
    return getattr(resolve_view(view), "btrix_operation", None)


def _invalid(exc: ValidationError, part: str) -> InvalidInput:
    fields = field_errors(exc, part)
    return InvalidInput(
        detail=N_("{count} invalid field(s) in the request {part}."),
        params={"count": len(fields), "part": part},
        errors=fields,
        title=N_("Validation failed"),
        code="validation-failed",
    )


def _parse_body(request: Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate_json(request.raw_body or b"")
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise MalformedRequest(detail=N_("The request body is not valid JSON.")) from exc
        raise _invalid(exc, "body") from exc


def _parse_query(request: Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(dict(request.query_params or {}))
    except ValidationError as exc:
        raise _invalid(exc, "query") from exc


def _instance(request: Request) -> str:
    # Request.path is the route template (/orders/{id}); the problem names the path actually asked for
    # (requestContext.path, which in API Gateway includes the stage prefix the client used).
    return str((request.context or {}).get("path") or request.path)


def _accept_language(request: Request) -> str | None:
    return request.headers.get("accept-language") if request.headers else None


def _render(result: Any, operation: Operation) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(body="", status_code=204 if operation.status == 200 else operation.status)
    if isinstance(result, BaseModel):
        body = result.model_dump_json()
    else:
        body = TypeAdapter(type(result)).dump_json(result).decode()
    return Response(body=body, status_code=operation.status, headers={"Content-Type": operation.produces})


def _say_language(response: Response) -> None:
    """A body a service wrote in the caller's language (``i18n.answer_in``) says which, and that it varies by it."""
    language = answered_in()
    if language is not None and response.status_code < 300:
        response.headers.setdefault("Content-Language", language)
        cors.add_vary(response.headers, "Accept-Language")


class ApiBlueprint(Blueprint):
    """A Chalice blueprint whose routes declare their models (see module docstring)."""

    def __init__(self, import_name: str, tag: str, guard: Guard | None = None) -> None:
        super().__init__(import_name)
        self.tag = tag
        self.guard = guard
        self.declared: list[RouteLine] = []  # in order: this capability's lines of chalicelib/route_table.py

    def attach(self, app: Chalice) -> None:
        """Serve the views from ``app``, which already routes to them (``core/capabilities.py``)."""
        self._current_app = app

    def operation(
        self,
        path: str,
        method: str = "GET",
        *,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        produces: str = JSON,
        problems: tuple[int, ...] = (),
        extra_responses: dict[int, str] | None = None,
        permission: str | None = None,
        also_requires: tuple[str, ...] = (),
        module: str | None = None,
        public: bool = False,
        allow_suspended: bool = False,
        idempotent: bool = False,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare and register a route; the view receives path params and ``body=``/``query=`` models.

        On a guarded blueprint every operation is protected unless ``public``: the guard authenticates the
        caller and checks ``permission`` (and ``also_requires``: an operation that reads another capability's data,
        checked before anything is read) and ``module``; the view gets the result as ``principal=`` if it
        declares that parameter. An ``idempotent`` operation (a create) documents the ``Idempotency-Key``
        header and passes its value (or None) to the view as ``idempotency_key=``.
        """
        protected = self.guard is not None and not public
        if protected and permission is None:
            raise ValueError(f"{method} {path}: a protected operation must declare its permission")
        if method == "PATCH" and not (isinstance(body, type) and issubclass(body, PatchRequest)):
            # What null means in a change is decided once, by PatchRequest (core/patch.py).
            raise TypeError(f"{method} {path}: the body of a PATCH route must be a PatchRequest")
        references = body is not None and has_references(body)
        if references and not protected:
            raise TypeError(f"{method} {path}: a public route has no tenant to check the ids of its body in")

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            doc = inspect.getdoc(view) or view.__name__.replace("_", " ")
            summary, _, description = doc.partition("\n")
            declared = Operation(
                method=method,
                summary=summary.strip(),
                description=description.strip(),
                tag=self.tag,
                body=body,
                query=query,
                response=response,
                status=status,
                produces=produces,
                problems=problems,
                extra_responses=extra_responses or {},
                public=not protected,
                permission=permission,
                also_requires=also_requires,
                module=module,
                allow_suspended=allow_suspended,
                idempotent=idempotent,
                path=path,
                path_types=path_types(view, path),
            )
            parameters = inspect.signature(view).parameters
            wants_principal = "principal" in parameters
            wants_meta = "meta" in parameters
            guard = self.guard if protected else None

            @functools.wraps(view)
            def handle(**path_params: str) -> Response:
                request = self.current_request
                language = start_answer()
                try:
                    return _answer(request, path_params)
                finally:
                    end_answer(language)

            def _answer(request: Request, path_params: dict[str, str]) -> Response:
                kwargs: dict[str, Any] = dict(path_params)
                preferred: str | None = None  # the caller's own locale, once the guard knows who calls
                try:
                    if wants_meta:
                        kwargs["meta"] = request_meta(request)
                    if idempotent:
                        sent = request.headers
                        kwargs["idempotency_key"] = sent.get(IDEMPOTENCY_HEADER.lower()) if sent else None
                    scope: AbstractContextManager[None] = nullcontext()
                    tenant_id: str | None = None
                    if guard is not None:
                        principal = guard(request, declared)
                        preferred = getattr(principal, "locale", None)
                        if wants_principal:
                            kwargs["principal"] = principal
                        # From here on the request acts as its tenant: its credentials, its keys only.
                        tenant_id = principal.tenant_id
                        scope = tenant_scope(tenant_id)
                    # After the guard: who may not call the operation learns nothing from its path.
                    check_path_ids(path_params)
                    if declared.path_types:
                        kwargs.update(parse_path(path_params, declared.path_types))
                    if body is not None:
                        kwargs["body"] = _parse_body(request, body)
                    if query is not None:
                        kwargs["query"] = _parse_query(request, query)
                    try:
                        with scope:
                            if references and tenant_id is not None:
                                # Every id the body names must be one of the caller's tenant (core/references.py).
                                check_references(tenant_id, kwargs["body"])
                            response = _render(view(**kwargs), declared)
                            _say_language(response)
                    except InvalidKey as exc:
                        answer = unusable_id(exc, request.query_params, request.raw_body, path_params)
                        if answer is None:
                            raise
                        raise answer from exc
                except AppError as exc:
                    locale = resolve_locale(_accept_language(request), preferred)
                    problem, headers = problem_from_error(exc, locale)
                    log = logger.error if problem.status >= 500 else logger.info
                    log("request refused", extra={"status": problem.status, "problem": problem.type})
                    response = problem_response(problem, instance=_instance(request), headers=headers, locale=locale)
                if response.status_code not in declared.statuses:
                    _undocumented(declared, response.status_code)
                return response

            handle.btrix_operation = declared  # type: ignore[attr-defined]
            self.declared.append((method, path, view.__name__))
            content_types = [JSON] if body is not None else None
            if content_types:
                self.route(path, methods=[method], content_types=content_types)(handle)
            else:
                self.route(path, methods=[method])(handle)
            return handle

        return decorator


def _is_chalice_error(response: Response) -> bool:
    return response.status_code >= 400 and isinstance(response.body, dict) and set(response.body) == {"Code", "Message"}


def http_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Around every REST request: correlation id, the request's read-ahead (``core.db.scope.read_ahead``), CORS
    (preflights too), problem+json for Chalice's own errors, metrics flush."""
    request_id = str((event.context or {}).get("requestId", ""))
    logger.set_correlation_id(request_id or None)
    caller = cors.start_request()
    try:
        with read_ahead():  # the guard's reads of the caller's user and tenant serve the handler's too
            response = get_response(event)
        if cors.is_preflight(event):
            locale = resolve_locale(_accept_language(event))
            response = cors.preflight(event, response, instance=_instance(event), locale=locale)
        elif _is_chalice_error(response):
            # Chalice answered by itself (405 wrong method, 415, or 500 for an unexpected exception,
            # which it has already logged with its traceback): same shape as every other error.
            detail = str(response.body["Message"]) if response.status_code < 500 else None
            headers = {k: str(v) for k, v in response.headers.items() if k.lower() == "allow"}
            locale = resolve_locale(_accept_language(event))
            response = problem_response(
                problem_for_status(response.status_code, detail, locale),
                instance=_instance(event),
                headers=headers,
                locale=locale,
            )
        cors.decorate(event, response)
        if request_id:
            response.headers["X-Request-Id"] = request_id
        return response
    finally:
        cors.end_request(caller)
        if metrics.metric_set:
            metrics.flush_metrics()
