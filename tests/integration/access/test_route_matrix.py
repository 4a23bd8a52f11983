"""Generated from the route registry: every role against every protected route, and tenant isolation.

Adding a route adds its cases here automatically; a route with a path parameter this file cannot fill
fails loudly, so that whoever adds it also says which id a probe should use.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from app import app
from chalicelib.access.permissions import MATRIX, TENANT_ROLES, Permission, Role
from chalicelib.auth.service import create_platform_admin
from chalicelib.core.api import Operation, operation_of
from chalicelib.core.ids import new_id
from tests.support.entities import ENTITY_IDS, IdSource
from tests.support.identity import PASSWORD, Account, add_user, call, signup

PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/api-docs"),
    ("GET", "/api-docs.json"),
    ("GET", "/api-docs/{asset}"),
    ("GET", "/plans"),
    ("GET", "/.well-known/jwks.json"),
    ("POST", "/auth/signup"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/set-password"),
    ("GET", "/integrations/google-calendar/callback"),
    ("GET", "/integrations/melhorenvio/callback"),
    ("GET", "/integrations/bling/callback"),
    ("GET", "/pay/{token}"),
}


def _operations() -> list[tuple[str, str, Operation]]:
    found = []
    for path, methods in sorted(app.routes.items()):
        for method, entry in sorted(methods.items()):
            operation = operation_of(entry.view_function)
            assert operation is not None, f"{method} {path} is not a declared operation"
            found.append((method, path, operation))
    return found


OPERATIONS = _operations()
PROTECTED = [(m, p, o) for m, p, o in OPERATIONS if not o.public]


def test_public_routes_are_exactly_the_intended_ones() -> None:
    assert {(m, p) for m, p, o in OPERATIONS if o.public} == PUBLIC_ROUTES


def test_every_protected_route_names_a_permission_of_the_matrix() -> None:
    for method, path, operation in PROTECTED:
        for needed in (operation.permission, *operation.also_requires):
            assert needed in {p.value for p in Permission}, f"{method} {path}"


@pytest.fixture(scope="module")
def team(api: Any) -> dict[Role, Account]:
    """One tenant (every module) with a user of each role, and a platform operator."""
    admin, _ = signup(api, plan="corporativo")
    members = {Role.ADMIN: admin}
    for role in TENANT_ROLES:
        if role is not Role.ADMIN:
            members[role] = add_user(api, admin, role)
    email = f"ops-{new_id().lower()}@btrix.example"
    operator = create_platform_admin(email, "Matrix Operator", PASSWORD)
    tokens = call(api, "POST", "/auth/login", {"identifier": email, "password": PASSWORD}).json_body
    members[Role.PLATFORM_ADMIN] = Account(
        operator.tenant_id, operator.id, email, Role.PLATFORM_ADMIN, tokens["accessToken"], tokens["refreshToken"]
    )
    return members


# How a probe fills each path parameter. For the role matrix, an id in the caller's own tenant: a fresh id
# (an allowed role then gets 404, a denied one 403) unless the route needs a real one ...
OWN_IDS: dict[str, IdSource] = {
    "user_id": lambda api, caller: caller.user_id,
    "tenant_id": lambda api, caller: caller.tenant_id,
}


def _fill(api: Any, path: str, ids: dict[str, IdSource], owner: Account, *, fresh_default: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in ids:
            assert fresh_default, (
                f"{path}: add to ENTITY_IDS (tests/support/entities.py) how to create a real {{{name}}}"
            )
            return new_id()
        return ids[name](api, owner)

    return re.sub(r"\{(\w+)\}", replace, path)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_exactly_its_permissions_on_every_route(api: Any, team: dict[Role, Account], role: Role) -> None:
    caller = team[role]
    wrong: list[str] = []
    for method, path, operation in PROTECTED:
        needed = (operation.permission, *operation.also_requires)
        allowed = all(Permission(str(p)) in MATRIX[role] for p in needed)
        body: dict[str, Any] | None = {} if operation.body is not None else None
        response = call(api, method, _fill(api, path, OWN_IDS, caller, fresh_default=True), body, caller.headers())
        if response.status_code == 401 or (response.status_code == 403) == allowed:
            wrong.append(f"{method} {path}: {response.status_code} (allowed={allowed})")
    assert wrong == []


def test_no_route_answers_without_a_token(api: Any) -> None:
    for method, path, _ in PROTECTED:
        response = call(api, method, path.replace("{", "").replace("}", ""), None, {})
        assert response.status_code == 401, f"{method} {path}"


@pytest.fixture(scope="module")
def other_tenant(api: Any) -> Account:
    """A second tenant, whose ids the first one probes."""
    admin, _ = signup(api, plan="corporativo")
    return admin


# ... and, for isolation, the id of something that really exists in another tenant (created through the API
# as that tenant's ADMIN). Every path parameter of a tenant route must be in tests/support/entities.py.
FOREIGN_IDS: dict[str, IdSource] = ENTITY_IDS


# Path parameters that name a kind of thing, not a record of a tenant: the same path addresses each caller's
# own (GET /workflows/order is the caller's order workflow), so there is no other tenant's id to probe with.
# Isolation of those routes is tested by their capability (tests/integration/workflows/test_routes.py; for
# /integrations/{provider}, a provider name: tests/integration/integrations/test_integrations.py).
# /translations/{locale} is the caller's own texts in a language (tests/integration/translations).
NOT_TENANT_IDS = {"entity_type", "template_key", "provider", "locale"}

# Reads of the global marketplace index: a published listing is every buyer's to read, whichever tenant sells it
# (global by design; changing it stays the seller's: PATCH with another tenant's listing id is probed like any
# other). tests/integration/marketplace/test_marketplace.py probes each side's half.
GLOBAL_BY_DESIGN = {("GET", "/marketplace/listings/{listing_id}")}


def test_ids_of_another_tenant_are_not_found(api: Any, team: dict[Role, Account], other_tenant: Account) -> None:
    admin = team[Role.ADMIN]
    probed = 0
    for method, path, operation in PROTECTED:
        if "{" not in path or path.startswith("/platform/"):
            continue  # the platform operator addresses tenants by design
        if set(re.findall(r"\{(\w+)\}", path)) <= NOT_TENANT_IDS or (method, path) in GLOBAL_BY_DESIGN:
            continue
        body: dict[str, Any] | None = {"version": 1, "name": "Intruder"} if operation.body is not None else None
        target = _fill(api, path, FOREIGN_IDS, other_tenant, fresh_default=False)
        response = call(api, method, target, body, admin.headers())
        # Without a body the answer must be 404; with one, a validation error (422) may come first, and
        # says nothing about the other tenant. Either way: no success, no data.
        expected = {404} if body is None else {404, 422}
        assert response.status_code in expected, f"{method} {path}: {response.status_code} {response.body!r}"
        assert other_tenant.email not in response.body.decode()
        probed += 1
    assert probed >= 4
    listed = call(api, "GET", "/users?limit=100", headers=admin.headers()).json_body["items"]
    assert other_tenant.user_id not in [u["id"] for u in listed]
    assert call(api, "GET", f"/users/{other_tenant.user_id}", headers=other_tenant.headers()).status_code == 200
