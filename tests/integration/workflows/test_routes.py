"""Workflow routes over HTTP: the tenant's flows per entity type, versions, validation, access, isolation."""

from __future__ import annotations

from typing import Any

from chalicelib.access.permissions import Role
from chalicelib.workflows import engine
from tests.integration.workflows.conftest import TEST_TYPE, flow
from tests.support.identity import Account, add_user, call, signup


def _get(api: Any, who: Account, path: str) -> Any:
    return call(api, "GET", path, headers=who.headers())


def test_every_role_of_the_tenant_reads_the_flows_of_its_business_type(api: Any, admin: Account) -> None:
    kitchen = add_user(api, admin, Role.KITCHEN)
    listed = _get(api, kitchen, "/workflows")
    assert listed.status_code == 200
    flows = {w["entityType"]: w for w in listed.json_body["items"]}
    assert set(flows) == {"order", "appointment", "service_job", "sale", "lead", "marketplace_transaction"}
    order = flows["order"]
    assert (order["basedOn"], order["version"], order["customized"], order["initial"]) == (
        "restaurant_order",
        None,
        False,
        "PENDING",
    )
    pending = next(s for s in order["statuses"] if s["name"] == "PENDING")
    assert pending["timers"] == [
        {
            "afterSeconds": 900,
            "beforeField": None,
            "beforeSeconds": None,
            "transitionTo": "CANCELLED",
            "remind": None,
        }
    ]
    preparing = {"from": "CONFIRMED", "to": "PREPARING", "roles": ["ADMIN", "MANAGER", "KITCHEN"], "trigger": None}
    assert preparing in order["transitions"]
    paid = {"from": "PENDING", "to": "PAID", "roles": ["ADMIN", "MANAGER"], "trigger": "payment"}
    assert paid in order["transitions"]
    one = _get(api, kitchen, "/workflows/order").json_body
    assert one == order


def test_a_bike_shop_gets_the_quote_flow(api: Any) -> None:
    shop, _ = signup(api, businessType="bike_shop")
    order = _get(api, shop, "/workflows/service_job").json_body
    assert order["basedOn"] == "quote_service"
    assert order["initial"] == "QUOTE_REQUESTED"


def test_the_admin_writes_new_versions_and_old_ones_stay_readable(api: Any, admin: Account) -> None:
    first = call(api, "PUT", "/workflows/sale", flow(), admin.headers())
    assert first.status_code == 200
    assert (first.json_body["version"], first.json_body["customized"], first.json_body["basedOn"]) == (1, True, None)
    changed = flow(pending_timer={"afterSeconds": 60, "transitionTo": "CANCELLED"})
    second = call(api, "PUT", "/workflows/sale", changed, admin.headers()).json_body
    assert second["version"] == 2
    assert _get(api, admin, "/workflows/sale").json_body["version"] == 2
    old = _get(api, admin, "/workflows/sale?version=1").json_body
    assert old["statuses"][0]["timers"][0]["afterSeconds"] == 3600
    missing = _get(api, admin, "/workflows/sale?version=9")
    assert (missing.status_code, missing.json_body["errors"][0]["field"]) == (404, "query.version")

    reset = call(api, "DELETE", "/workflows/sale", None, admin.headers()).json_body
    assert (reset["version"], reset["customized"], reset["basedOn"], reset["initial"]) == (3, False, "sale", "PENDING")
    trail = _get(api, admin, "/audit-log?entityType=workflow&entityId=sale").json_body["items"]
    assert [e["action"] for e in trail] == ["workflow.default_applied", "workflow.updated", "workflow.updated"]


def test_an_incoherent_flow_is_refused_naming_the_field(api: Any, admin: Account) -> None:
    broken = flow()
    broken["transitions"][0]["to"] = "SHIPPED"
    refused = call(api, "PUT", "/workflows/order", broken, admin.headers())
    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json_body["errors"][0]["field"] == "body.transitions[0].to"
    lowercase = flow()
    lowercase["statuses"][0]["name"] = "pending"
    shape = call(api, "PUT", "/workflows/order", lowercase, admin.headers())
    assert (shape.status_code, shape.json_body["errors"][0]["field"]) == (422, "body.statuses[0].name")
    unknown = call(api, "PUT", "/workflows/invoice", flow(), admin.headers())
    assert (unknown.status_code, unknown.json_body["errors"][0]["field"]) == (404, "path.entity_type")
    assert _get(api, admin, "/workflows/order").json_body["version"] is None


def test_only_workflow_managers_write_flows(api: Any, admin: Account) -> None:
    manager = add_user(api, admin, Role.MANAGER)
    assert call(api, "PUT", "/workflows/order", flow(), manager.headers()).status_code == 403
    assert call(api, "DELETE", "/workflows/order", None, manager.headers()).status_code == 403


def test_a_tenants_flow_is_its_own(api: Any, admin: Account) -> None:
    other, _ = signup(api, businessType="restaurant")
    assert call(api, "PUT", "/workflows/order", flow(), other.headers()).status_code == 200
    mine = _get(api, admin, "/workflows/order").json_body
    assert (mine["basedOn"], mine["version"]) == ("restaurant_order", None)
    assert _get(api, other, "/workflows/order").json_body["customized"] is True


def test_the_default_is_stored_when_first_used_and_follows_the_business_type(
    api: Any, admin: Account, registered: Any
) -> None:
    fields = engine.initial_fields(admin.tenant_id, TEST_TYPE)
    assert (fields["status"], fields["workflowVersion"]) == ("PENDING", 1)
    assert engine.initial_fields(admin.tenant_id, TEST_TYPE)["workflowVersion"] == 1
    stored = _get(api, admin, f"/workflows/{TEST_TYPE.value}").json_body
    assert (stored["version"], stored["customized"], stored["basedOn"]) == (1, False, TEST_TYPE.value)

    tenant = _get(api, admin, "/tenant").json_body
    moved = call(api, "PATCH", "/tenant", {"version": tenant["version"], "businessType": "bike_shop"}, admin.headers())
    assert moved.status_code == 200
    order = _get(api, admin, "/workflows/order").json_body
    assert (order["basedOn"], order["initial"]) == ("quote_service", "QUOTE_REQUESTED")


def test_status_labels_are_in_the_callers_language(api: Any) -> None:
    owner, _ = signup(api, businessType="restaurant")
    tenant_language = _get(api, owner, "/workflows/order").json_body["statusLabels"]
    danish = call(api, "GET", "/workflows/order", headers=owner.headers(**{"Accept-Language": "da-DK"}))
    listed = call(api, "GET", "/workflows", headers=owner.headers(**{"Accept-Language": "es-AR"})).json_body
    assert (tenant_language["PENDING"], tenant_language["PREPARING"]) == ("Pendente", "Em preparo")
    assert (danish.json_body["statusLabels"]["PENDING"], danish.json_body["statusLabels"]["PREPARING"]) == (
        "Afventer",
        "Tilberedes",
    )
    spanish = next(w for w in listed["items"] if w["entityType"] == "order")["statusLabels"]
    assert spanish["PREPARING"] == "En preparación"
    assert set(tenant_language) == {s["name"] for s in danish.json_body["statuses"]}
    # The body depends on Accept-Language: caches keep one copy per language.
    assert danish.headers["Content-Language"] == "da-DK"
    assert "Accept-Language" in danish.headers["Vary"]
