"""API Gateway's REQUEST authorizer: it names the caller's tenant's usage-plan key, and decides nothing else.

The REST API takes API keys from its authorizer (key source ``AUTHORIZER``) and every authenticated route requires
one, so API Gateway throttles each tenant at its plan's usage plan (``chalicelib/tenants/usage_keys.py``) without
clients sending keys. The authorizer verifies the access token (the ``Authorization`` header, else a browser
session's access cookie) only to know its tenant; it always allows: who may do what stays the guard's
(``auth/guard.py``), which reads the user and the tenant fresh, so a session ended or a tenant suspended is refused
at once, with the application's own problem+json. A request no valid token identifies (none, expired, forged) is
counted under one shared key (``core.throttle.usage_key_value(None)``, its own small usage plan), then refused by the
guard. Results are not cached (TTL 0): a cookie-mode request has no ``Authorization`` header to cache by.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.auth.tokens import verify_access_token
from chalicelib.core.errors import AppError
from chalicelib.core.request_info import parse_cookies
from chalicelib.core.throttle import usage_key_value

__all__ = ["ACCESS_COOKIES", "gateway_authorization"]

# The access cookie of a browser session (auth/cookies.py): prefixed when served over TLS, as in AWS.
ACCESS_COOKIES = ("__Host-btrix_access", "btrix_access")


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _access_token(event: Mapping[str, Any]) -> str | None:
    scheme, _, token = (_header(event, "authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    cookies = parse_cookies(_header(event, "cookie"))
    return next((cookies[name] for name in ACCESS_COOKIES if cookies.get(name)), None)


def _tenant_of(event: Mapping[str, Any]) -> str | None:
    token = _access_token(event)
    if token is None:
        return None
    try:
        return verify_access_token(token).tenant_id
    except AppError:  # Unauthorized: the guard answers it with its own 401
        return None


def gateway_authorization(event: Mapping[str, Any]) -> dict[str, Any]:
    """The authorizer's answer to a REQUEST authorizer event: allow this method, counted under the key of the token's
    tenant (or the unidentified callers' key)."""
    tenant_id = _tenant_of(event)
    return {
        "principalId": tenant_id or "unidentified",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": str(event["methodArn"])}],
        },
        "usageIdentifierKey": usage_key_value(tenant_id),
        "context": {"tenantId": tenant_id or ""},
    }
