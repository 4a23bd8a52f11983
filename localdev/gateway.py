"""The local REST server: Chalice's local gateway plus the Gateway Responses infra configures in AWS.

API Gateway answers some requests before the Lambda runs (an unknown path is a 403 "Missing Authentication
Token"); in AWS, Gateway Responses rewrite those as problem+json. Locally the same mapping
(``core.problems.GATEWAY_RESPONSES``) is applied here, for ``make run`` and for the tests' HTTP client.
"""

from __future__ import annotations

import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    InvalidAuthorizerError,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    NotAuthorizedError,
)

from chalicelib.core.problems import PROBLEM_CONTENT_TYPE, gateway_problem
from localdev.logs import request_line, serving

__all__ = ["ProblemGateway", "local_config", "make_server"]


# The local gateway answers an unknown path with one of these bodies (the second when the request carries an
# Authorization header, as API Gateway does); both mean "no such route".
_NO_ROUTE_MARKERS = (b"Missing Authentication Token", b"Authorization header requires")


def _response_type(error: LocalGatewayException) -> str:
    if isinstance(error, ForbiddenError):
        no_route = any(marker in (error.body or b"") for marker in _NO_ROUTE_MARKERS)
        return "MISSING_AUTHENTICATION_TOKEN" if no_route else "ACCESS_DENIED"
    if isinstance(error, NotAuthorizedError):
        return "UNAUTHORIZED"
    if isinstance(error, InvalidAuthorizerError):
        return "DEFAULT_5XX"
    return "DEFAULT_4XX"


class ProblemGateway(LocalGateway):
    """``LocalGateway`` whose own refusals come back as problem+json, as the deployed Gateway Responses do."""

    def _generate_lambda_event(
        self, method: str, path: str, headers: dict[str, Any], body: bytes | None
    ) -> dict[str, Any]:
        # API Gateway gives every request an id (logs, audit entries, the X-Request-Id header); so do we.
        event: dict[str, Any] = super()._generate_lambda_event(method, path, headers, body)
        context = event["requestContext"]
        context.setdefault("requestId", str(uuid.uuid4()))
        # Everything local comes from 127.0.0.1; a client (a test, a script) that stands for several people
        # names its address in X-Forwarded-For, as a trusted proxy in front of API Gateway would.
        forwarded = next((v for k, v in headers.items() if k.lower() == "x-forwarded-for"), None)
        if forwarded:
            context["identity"]["sourceIp"] = str(forwarded).split(",")[0].strip()
        return event

    def _has_user_defined_options_method(self, lambda_event: dict[str, Any]) -> bool:
        # Preflights reach the application (core/cors.py answers them per tenant origins), as the deployed API's
        # OPTIONS methods hand them to the function: chalice local would answer them itself.
        return True

    def handle_request(self, method: str, path: str, headers: dict[str, Any], body: bytes | None) -> dict[str, Any]:
        try:
            with serving("api"):  # the REST API's log lines name it (one local process hosts every function)
                return super().handle_request(method, path, headers, body)
        except LocalGatewayException as error:
            problem = gateway_problem(_response_type(error)).model_copy(update={"instance": path.split("?")[0]})
            return {
                "statusCode": problem.status,
                "headers": {"Content-Type": PROBLEM_CONTENT_TYPE},
                "multiValueHeaders": {},
                "body": problem.model_dump_json(exclude_none=True),
            }


class _ProblemRequestHandler(ChaliceRequestHandler):
    def __init__(
        self,
        request: bytes,
        client_address: tuple[str, int],
        server: HTTPServer,
        app_object: Chalice,
        config: Config,
    ) -> None:
        # The parent's __init__ builds a plain LocalGateway and then serves at once; we need ours first.
        self.local_gateway = ProblemGateway(app_object, config)
        self._started = time.monotonic()
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)  # type: ignore[arg-type]

    def parse_request(self) -> bool:
        self._started = time.monotonic()  # each request of a kept-alive connection is timed from its start
        return bool(super().parse_request())

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One short line per request on ``make run``'s terminal."""
        request_line("api", self.command, self.path, code, self._started)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: requests are logged by ``log_request`` above, errors by the application."""


def local_config(stage: str = "local") -> Config:
    """The Chalice config of ``stage`` from ``.chalice/config.json``."""
    from chalice.cli.factory import CLIFactory

    from localdev.stack import ROOT

    return CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name=stage)


def make_server(app: Chalice, host: str, port: int, stage: str = "local") -> LocalDevServer:
    """A threaded local REST server for ``app`` on ``host:port``."""
    return LocalDevServer(app, local_config(stage), host, port, handler_cls=_ProblemRequestHandler)
