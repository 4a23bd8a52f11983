"""What the app adds to the REST and websocket APIs' definitions that Chalice writes: API Gateway's own refusals as
problem+json (Gateway Responses), CORS preflight methods, which methods have a caller (and so an authorizer and an
API key), the SQS consumers of a function, and the access log formats. Pure functions of the app and of Chalice's
template; ``constructs/api.py`` (``ChaliceApi``) applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.api import operation_of
from chalicelib.core.problems import GATEWAY_RESPONSES, PROBLEM_CONTENT_TYPE, gateway_problem, problem_for_status

__all__ = [
    "ACCESS_LOG_FORMAT",
    "WEBSOCKET_ACCESS_LOG_FORMAT",
    "gateway_responses",
    "preflight_methods",
    "protected_methods",
    "sqs_event_queues",
]

# API Gateway would answer these with DEFAULT_4XX/5XX, i.e. with that mapping's status (a throttled request as 400):
# each keeps its own status, with the problem core.problems gives that status.
_OWN_STATUS: dict[str, int] = {
    "THROTTLED": 429,
    "QUOTA_EXCEEDED": 429,
    "INVALID_API_KEY": 403,
    "REQUEST_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "INTEGRATION_FAILURE": 502,
    "INTEGRATION_TIMEOUT": 504,
}
# The Retry-After of API Gateway's own 429s (a template holds no computed value): a throttled tenant's bucket has a
# token again within a second; a daily quota resets at midnight UTC, so asking again hourly is enough.
_RETRY_AFTER_S = {"THROTTLED": 1, "QUOTA_EXCEEDED": 3600}
WEBSOCKET_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "connectionId": "$context.connectionId",
    "routeKey": "$context.routeKey",
    "eventType": "$context.eventType",
    "status": "$context.status",
    "error": "$context.error.message",
}
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "resource": "$context.resourcePath",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "responseType": "$context.error.responseType",
    "apiKeyId": "$context.identity.apiKeyId",
}


def gateway_responses() -> dict[str, dict[str, Any]]:
    """``x-amazon-apigateway-gateway-responses``: every refusal API Gateway makes itself, as problem+json."""
    problems = {kind: gateway_problem(kind) for kind in GATEWAY_RESPONSES}
    problems |= {kind: problem_for_status(status) for kind, status in _OWN_STATUS.items()}
    responses: dict[str, dict[str, Any]] = {}
    for kind, problem in problems.items():
        # "$context.path" is filled in by API Gateway's template engine, as the local gateway fills in the path.
        body = problem.model_copy(update={"instance": "$context.path"}).model_dump_json(exclude_none=True)
        headers = {"gatewayresponse.header.Content-Type": f"'{PROBLEM_CONTENT_TYPE}'"}
        if kind in _RETRY_AFTER_S:
            headers["gatewayresponse.header.Retry-After"] = f"'{_RETRY_AFTER_S[kind]}'"
        responses[kind] = {
            "statusCode": str(problem.status),
            "responseParameters": headers,
            "responseTemplates": {"application/json": body},
        }
    return responses


def preflight_methods(definition: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """An ``options`` method for every path of the REST API that has none: the same proxy to the function as the
    path's other methods, so that browsers' CORS preflights reach the app, which answers them for the origins the
    tenants allow (``core/cors.py``). Chalice declares no OPTIONS routes (its own CORS is static)."""
    found: dict[str, dict[str, Any]] = {}
    for path, item in definition.get("paths", {}).items():
        if "options" in item:
            continue
        methods = [m for m in item.values() if isinstance(m, dict) and "x-amazon-apigateway-integration" in m]
        if not methods:
            continue
        kept = ("responses", "x-amazon-apigateway-integration", "parameters")
        options = {key: methods[0][key] for key in kept if key in methods[0]}
        found[path] = {"consumes": ["application/json"], "produces": ["application/json"], **options}
    return found


def protected_methods(app: Any) -> set[tuple[str, str]]:
    """(path, lowercase method) of every route of the Chalice ``app`` whose operation has a caller (not public)."""
    found = set()
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            operation = operation_of(entry.view_function)
            if operation is not None and not operation.public:
                found.add((path, method.lower()))
    return found


def sqs_event_queues(function: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(event id, queue name) of each SQS event source Chalice wrote on a function (an ARN built from the name)."""
    found = []
    for event_id, event in function["Properties"].get("Events", {}).items():
        if event["Type"] == "SQS":
            arn = event["Properties"]["Queue"]
            found.append((event_id, str(arn["Fn::Sub"] if isinstance(arn, dict) else arn).rsplit(":", 1)[-1]))
    return found
