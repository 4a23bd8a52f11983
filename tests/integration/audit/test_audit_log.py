"""The audit log: an entry per change, secrets masked, filters, pages, ADMINs only."""

from __future__ import annotations

from typing import Any

from chalicelib.access.permissions import Role
from tests.support.identity import add_user, call, signup


def test_changes_are_logged_with_actor_request_and_masked_secrets(api: Any) -> None:
    admin, answer = signup(api, document="11.222.333/0001-81")
    staff = add_user(api, admin, Role.STAFF)
    call(api, "PATCH", "/tenant", {"version": answer["tenant"]["version"], "name": "Renamed Co"}, admin.headers())
    entries = call(api, "GET", "/audit-log?limit=100", headers=admin.headers()).json_body["items"]
    actions = [e["action"] for e in entries]
    for expected in ("tenant.created", "user.created", "user.invited", "user.activated", "tenant.updated"):
        assert expected in actions
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    updated = next(e for e in entries if e["action"] == "tenant.updated")
    assert (updated["before"]["name"], updated["after"]["name"]) == ("Test Company", "Renamed Co")
    assert updated["actorId"] == admin.user_id
    assert updated["sourceIp"] == admin.ip
    assert updated["requestId"]
    created = next(e for e in entries if e["action"] == "tenant.created")
    assert created["after"]["documentEncrypted"] == "***"
    user_created = next(e for e in entries if e["action"] == "user.created")
    assert user_created["after"]["passwordHash"] == "***"
    text = str(entries)
    assert "argon2" not in text
    assert "11222333000181" not in text
    assert staff.user_id in {e["entityId"] for e in entries}


def test_filters_by_actor_entity_and_time(api: Any) -> None:
    admin, _ = signup(api)
    staff = add_user(api, admin, Role.STAFF)
    by_staff = call(api, "GET", f"/audit-log?actorId={staff.user_id}", headers=admin.headers()).json_body["items"]
    assert {e["actorId"] for e in by_staff} == {staff.user_id}
    assert "user.activated" in [e["action"] for e in by_staff]
    trail = call(api, "GET", f"/audit-log?entityType=user&entityId={staff.user_id}", headers=admin.headers()).json_body
    assert {e["entityId"] for e in trail["items"]} == {staff.user_id}
    assert {"user.invited", "user.activated"} <= {e["action"] for e in trail["items"]}
    future = call(api, "GET", "/audit-log?from=2999-01-01T00:00:00Z", headers=admin.headers()).json_body
    assert future["items"] == []
    past = call(api, "GET", "/audit-log?to=2000-01-01T00:00:00Z", headers=admin.headers()).json_body
    assert past["items"] == []
    bad = call(api, "GET", "/audit-log?from=yesterday", headers=admin.headers())
    assert (bad.status_code, bad.json_body["errors"][0]["field"]) == (422, "query.from")
    half = call(api, "GET", f"/audit-log?entityId={staff.user_id}", headers=admin.headers())
    assert half.status_code == 422


def test_audit_log_pages_and_is_for_admins(api: Any) -> None:
    admin, _ = signup(api)
    manager = add_user(api, admin, Role.MANAGER)
    first = call(api, "GET", "/audit-log?limit=2", headers=admin.headers()).json_body
    assert len(first["items"]) == 2
    assert first["nextCursor"]
    second = call(api, "GET", f"/audit-log?limit=2&cursor={first['nextCursor']}", headers=admin.headers()).json_body
    assert not {e["id"] for e in first["items"]} & {e["id"] for e in second["items"]}
    assert call(api, "GET", "/audit-log", headers=manager.headers()).status_code == 403
    other, _ = signup(api)
    mine = call(api, "GET", "/audit-log?limit=100", headers=other.headers()).json_body["items"]
    assert {e["tenantId"] for e in mine} == {other.tenant_id}
