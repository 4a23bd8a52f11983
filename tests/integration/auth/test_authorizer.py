"""The REST API's authorizer names the token's tenant's usage-plan key and always allows (the guard decides)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.throttle import usage_key_value
from functions.authorizer import handler
from tests.support.identity import signup

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/GET/orders"


def _authorize(**headers: str) -> dict[str, Any]:
    event = {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": headers}
    return handler(event, None)


def _allows_the_method(answer: dict[str, Any]) -> bool:
    [statement] = answer["policyDocument"]["Statement"]
    return bool(statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN})


def test_a_bearer_token_or_a_browser_sessions_cookie_names_its_tenants_key(api: Any) -> None:
    admin, _ = signup(api, plan="lojista")
    by_header = _authorize(Authorization=f"Bearer {admin.access_token}")
    assert by_header["usageIdentifierKey"] == usage_key_value(admin.tenant_id)
    assert by_header["principalId"] == admin.tenant_id
    assert _allows_the_method(by_header)
    by_cookie = _authorize(cookie=f"theme=dark; __Host-btrix_access={admin.access_token}")
    assert by_cookie["usageIdentifierKey"] == usage_key_value(admin.tenant_id)


def test_a_caller_no_valid_token_identifies_is_counted_under_the_shared_key_and_left_to_the_guard(api: Any) -> None:
    admin, _ = signup(api, plan="lojista")
    forged = admin.access_token[:-4] + ("AAAA" if not admin.access_token.endswith("AAAA") else "BBBB")
    for answer in (_authorize(), _authorize(Authorization=f"Bearer {forged}"), _authorize(Authorization="Basic x")):
        assert answer["usageIdentifierKey"] == usage_key_value(None)
        assert answer["principalId"] == "unidentified"
        assert _allows_the_method(answer)  # the guard answers the 401 itself, as problem+json
