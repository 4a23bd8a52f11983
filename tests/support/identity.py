"""Helpers that create tenants and users through the public API, as a person would."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalicelib.access.permissions import Role
from chalicelib.core.ids import new_id
from chalicelib.notifications.outbox import list_messages

PASSWORD = "correct-horse-battery-42"


def client_ip() -> str:
    """A private address standing for one client (brute-force limits count per IP).

    Drawn from 10.0.0.0/8 so that two clients practically never share one: with a single /24, a test session's
    hundreds of signups reused addresses and used up another test's per-IP signup allowance.
    """
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"  # noqa: S311 - not for security


@dataclass
class Account:
    """A user we can act as."""

    tenant_id: str
    user_id: str
    email: str
    role: Role
    access_token: str
    refresh_token: str
    ip: str = field(default_factory=client_ip)

    def headers(self, **extra: str) -> dict[str, str]:
        """Headers of a JSON request by this user."""
        return {
            "Authorization": f"Bearer {self.access_token}",
            "Content-Type": "application/json",
            "X-Forwarded-For": self.ip,
            **extra,
        }


def call(api: Any, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    """One JSON request through the test client."""
    sent = {"Content-Type": "application/json", "X-Forwarded-For": client_ip(), **(headers or {})}
    return api.request(method, path, headers=sent, body=json.dumps(body) if body is not None else b"")


_OPERATORS: dict[int, Account] = {}


def _log_in(api: Any, email: str) -> dict[str, Any]:
    answer = call(api, "POST", "/auth/login", {"identifier": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.body
    return dict(answer.json_body)


def platform_operator(api: Any) -> Account:
    """A platform operator (role PLATFORM_ADMIN), made once per client through the bootstrap's service (there is
    deliberately no API for it) and logged in over the API."""
    if id(api) not in _OPERATORS:
        from chalicelib.auth.service import create_platform_admin

        email = f"ops-{new_id().lower()}@btrix.example"
        user = create_platform_admin(email, "Test Operator", PASSWORD)
        tokens = _log_in(api, email)
        _OPERATORS[id(api)] = Account(
            user.tenant_id, user.id, email, Role.PLATFORM_ADMIN, tokens["accessToken"], tokens["refreshToken"]
        )
    return _OPERATORS[id(api)]


def change_plan(api: Any, tenant_id: str, plan: str) -> dict[str, Any]:
    """Move a tenant to ``plan`` as the platform operator (the only one who may: signup gets the default plan)."""
    operator = platform_operator(api)
    path = f"/platform/tenants/{tenant_id}/plan"
    answer = call(api, "PUT", path, {"planId": plan}, operator.headers())
    if answer.status_code == 401:  # the operator's access token expired (or a test moved the clock): log in again
        operator.access_token = _log_in(api, operator.email)["accessToken"]
        answer = call(api, "PUT", path, {"planId": plan}, operator.headers())
    assert answer.status_code == 200, answer.body
    return dict(answer.json_body)


def signup(api: Any, *, plan: str = "corporativo", **overrides: Any) -> tuple[Account, dict[str, Any]]:
    """A new tenant and its ADMIN, on ``plan`` (set by the platform operator after the signup unless it is the
    default); returns the ADMIN and the whole signup answer (with the tenant as it is on ``plan``)."""
    email = f"admin-{new_id().lower()}@example.com"
    body: dict[str, Any] = {
        "companyName": "Test Company",
        "businessType": "restaurant",
        "admin": {"name": "Ana Admin", "email": email, "password": PASSWORD},
        **overrides,
    }
    response = call(api, "POST", "/auth/signup", body)
    assert response.status_code == 201, response.body
    answer = response.json_body
    if plan != answer["tenant"]["planId"]:
        answer = {**answer, "tenant": change_plan(api, answer["tenant"]["id"], plan)}
    account = Account(
        tenant_id=answer["tenant"]["id"],
        user_id=answer["user"]["id"],
        email=email,
        role=Role.ADMIN,
        access_token=answer["tokens"]["accessToken"],
        refresh_token=answer["tokens"]["refreshToken"],
    )
    return account, answer


def invitation_token(tenant_id: str, email: str) -> str:
    """The one-time token of the newest invitation recorded for ``email`` (the link in the message)."""
    for message in list_messages(tenant_id, limit=50):
        if message.template == "user.invitation" and message.to == email:
            return parse_qs(urlsplit(str(message.variables["link"])).query)["token"][0]
    raise AssertionError(f"no invitation recorded for {email}")


def add_user(api: Any, admin: Account, role: Role, **fields: Any) -> Account:
    """Invite a user with ``role`` and accept the invitation; returns the logged-in user."""
    email = f"{role.value.lower()}-{new_id().lower()}@example.com"
    invited = call(
        api,
        "POST",
        "/users",
        {"email": email, "name": f"{role.value.title()} User", "role": role, **fields},
        admin.headers(),
    )
    assert invited.status_code == 201, invited.body
    accepted = call(
        api, "POST", "/auth/set-password", {"token": invitation_token(admin.tenant_id, email), "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.body
    tokens = accepted.json_body
    return Account(admin.tenant_id, invited.json_body["id"], email, role, tokens["accessToken"], tokens["refreshToken"])
