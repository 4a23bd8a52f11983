"""The tenant's settings, and the platform operator's suspend / reactivate / change plan."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.app import Chalice
from chalice.test import Client

from chalicelib.access.permissions import MATRIX, Module, Permission, Role
from chalicelib.auth.guard import protected_blueprint
from chalicelib.auth.service import create_platform_admin
from chalicelib.core.api import http_middleware
from chalicelib.core.ids import new_id
from localdev.gateway import ProblemGateway
from tests.support.identity import PASSWORD, Account, add_user, call, signup


def test_admin_reads_and_changes_the_tenant(api: Any) -> None:
    admin, _ = signup(api)
    tenant = call(api, "GET", "/tenant", headers=admin.headers()).json_body
    assert (tenant["businessType"], tenant["locale"], tenant["currency"]) == ("restaurant", "pt-BR", "BRL")
    changed = call(
        api,
        "PATCH",
        "/tenant",
        {
            "version": tenant["version"],
            "name": "Cykelværksted",
            "businessType": "bike_shop",
            "locale": "da_dk",
            "timeZone": "Europe/Copenhagen",
            "currency": "dkk",
            "country": "DK",
            "document": "DK-12345678",
            "whatsappNumber": "+45 20 12 34 56",
        },
        admin.headers(),
    )
    assert changed.status_code == 200, changed.body
    body = changed.json_body
    assert (body["name"], body["locale"], body["currency"], body["country"]) == ("Cykelværksted", "da-DK", "DKK", "DK")
    assert (body["whatsappNumber"], body["documentMasked"]) == ("+4520123456", "****5678")
    assert body["version"] == tenant["version"] + 1
    assert "document" not in body
    assert "documentEncrypted" not in body


def test_tenant_changes_are_validated(api: Any) -> None:
    admin, answer = signup(api)
    version = answer["tenant"]["version"]
    bad = call(
        api,
        "PATCH",
        "/tenant",
        {"version": version, "timeZone": "Mars/Olympus", "whatsappNumber": "12"},
        admin.headers(),
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json_body["errors"]} == {"body.timeZone", "body.whatsappNumber"}
    cnpj = call(api, "PATCH", "/tenant", {"version": version, "document": "12.345.678/0001-00"}, admin.headers())
    assert (cnpj.status_code, cnpj.json_body["errors"][0]["field"]) == (422, "body.document")
    ok = call(api, "PATCH", "/tenant", {"version": version, "document": "11.222.333/0001-81"}, admin.headers())
    assert ok.json_body["documentMasked"] == "****0181"
    stale = call(api, "PATCH", "/tenant", {"version": version, "name": "Late"}, admin.headers())
    assert stale.status_code == 409


def test_only_admins_change_the_tenant(api: Any) -> None:
    admin, _ = signup(api)
    manager = add_user(api, admin, Role.MANAGER)
    assert call(api, "GET", "/tenant", headers=manager.headers()).status_code == 200
    assert call(api, "PATCH", "/tenant", {"version": 1, "name": "Mine"}, manager.headers()).status_code == 403


@pytest.fixture(scope="module")
def operator(api: Any) -> Account:
    email = f"ops-{new_id().lower()}@btrix.example"
    user = create_platform_admin(email, "Olga Ops", PASSWORD)
    tokens = call(api, "POST", "/auth/login", {"identifier": email, "password": PASSWORD}).json_body
    return Account(user.tenant_id, user.id, email, Role.PLATFORM_ADMIN, tokens["accessToken"], tokens["refreshToken"])


def test_platform_operator_suspends_and_reactivates_a_tenant(api: Any, operator: Account) -> None:
    admin, _ = signup(api)
    suspended = call(api, "POST", f"/platform/tenants/{admin.tenant_id}/suspend", headers=operator.headers())
    assert suspended.json_body["status"] == "suspended"
    refused = call(api, "GET", "/tenant", headers=admin.headers())
    assert (refused.status_code, refused.json_body["type"]) == (403, "urn:btrix:problem:tenant-suspended")
    assert call(api, "GET", "/users", headers=admin.headers()).status_code == 403
    # Still able to log in and see who they are (on the way to billing).
    assert call(api, "POST", "/auth/login", {"identifier": admin.email, "password": PASSWORD}).status_code == 200
    assert call(api, "GET", "/auth/me", headers=admin.headers()).json_body["tenant"]["status"] == "suspended"
    listed = call(api, "GET", "/platform/tenants?status=suspended&limit=100", headers=operator.headers()).json_body
    assert admin.tenant_id in [t["id"] for t in listed["items"]]
    call(api, "POST", f"/platform/tenants/{admin.tenant_id}/reactivate", headers=operator.headers())
    assert call(api, "GET", "/tenant", headers=admin.headers()).status_code == 200


def test_platform_operator_changes_the_plan_and_the_modules_follow(api: Any, operator: Account) -> None:
    admin, _ = signup(api, plan="lojista")
    changed = call(api, "PUT", f"/platform/tenants/{admin.tenant_id}/plan", {"planId": "empresa"}, operator.headers())
    assert changed.json_body["planId"] == "empresa"
    assert "sales" in changed.json_body["modules"]
    unknown = call(api, "PUT", f"/platform/tenants/{admin.tenant_id}/plan", {"planId": "gold"}, operator.headers())
    assert unknown.status_code == 404
    assert call(api, "POST", f"/platform/tenants/{new_id()}/suspend", headers=operator.headers()).status_code == 404


def test_tenant_users_cannot_use_the_platform_api_and_the_operator_cannot_use_tenant_routes(
    api: Any, operator: Account
) -> None:
    admin, _ = signup(api)
    assert call(api, "GET", "/platform/tenants", headers=admin.headers()).status_code == 403
    assert call(api, "POST", f"/platform/tenants/{admin.tenant_id}/suspend", headers=admin.headers()).status_code == 403
    assert call(api, "GET", "/users", headers=operator.headers()).status_code == 403
    operators = call(api, "GET", "/auth/me", headers=operator.headers()).json_body["permissions"]
    # The platform's own permissions and the profile's, nothing of a tenant's.
    assert operators == sorted(p.value for p in MATRIX[Role.PLATFORM_ADMIN])
    assert {p.split(":")[0] for p in operators} == {"platform", "profile"}
    assert "platform:tenants" in operators


def test_plans_are_public() -> None:
    from app import app

    with Client(app, stage_name="local") as client:
        plans = client.http.get("/plans").json_body["items"]
    assert [p["name"] for p in plans] == ["Lojista", "Empresa", "Corporativo"]
    assert plans[1]["maxUsers"] == 5
    assert plans[1]["maxProducts"] == 500
    assert plans[1]["maxTransactions"] == 2000
    assert plans[0]["price"] == {"amount": "49.90", "currency": "BRL"}


def test_a_module_the_plan_lacks_is_refused_naming_it(api: Any) -> None:
    """A route of the sales module, on a Lojista tenant (no sales) and on a Corporativo one."""
    blueprint = protected_blueprint(__name__, tag="sales")

    @blueprint.operation("/sales-probe", permission=Permission.SALES_READ_OWN, module=Module.SALES)
    def probe() -> dict[str, str]:
        """Probe"""
        return {"ok": "yes"}

    app = Chalice(app_name="module-test")
    app.register_middleware(http_middleware, "http")
    app.register_blueprint(blueprint)
    small, _ = signup(api, plan="lojista")
    large, _ = signup(api, plan="corporativo")
    with Client(app, stage_name="local") as client:
        client.http._local_gateway = ProblemGateway(app, client._chalice_config)
        refused = client.http.get("/sales-probe", headers=small.headers())
        allowed = client.http.get("/sales-probe", headers=large.headers())
    assert refused.status_code == 403
    assert refused.json_body["type"] == "urn:btrix:problem:module-not-enabled"
    assert "sales" in refused.json_body["detail"]
    assert allowed.status_code == 200
