"""API Gateway REST proxy events, as the Lambda handler of a deployed API receives them (bench and cold-path tests)."""

from __future__ import annotations

from typing import Any

__all__ = ["get_order_event"]


def get_order_event(order_id: str, access_token: str, *, request_id: str, source_ip: str) -> dict[str, Any]:
    """The proxy event of an authenticated ``GET /orders/{order_id}``: what a new container's first request hands
    ``app.app`` (chalice's Lambda entry point) when no local server stands in front of it."""
    headers = {
        "Accept": "application/json",
        "Authorization": f"Bearer {access_token}",
        "Host": "api.local.invalid",
        "X-Forwarded-For": source_ip,
    }
    return {
        "resource": "/orders/{order_id}",
        "path": f"/orders/{order_id}",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"order_id": order_id},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/orders/{order_id}",
            "httpMethod": "GET",
            "path": f"/local/orders/{order_id}",
            "stage": "local",
            "requestId": request_id,
            "apiId": "local",
            "identity": {"sourceIp": source_ip},
        },
        "body": None,
        "isBase64Encoded": False,
    }
