"""Users over HTTP: invitations, plan seats, roles, deactivation, lists, WhatsApp verification."""

from __future__ import annotations

from typing import Any

from chalicelib.access.permissions import Role
from chalicelib.notifications.outbox import list_messages
from tests.support.identity import PASSWORD, add_user, call, invitation_token, signup


def test_invited_user_sets_a_password_once_and_logs_in(api: Any) -> None:
    admin, _ = signup(api)
    invited = call(api, "POST", "/users", {"email": "Nia@Example.com", "name": "Nia", "role": "STAFF"}, admin.headers())
    assert invited.status_code == 201
    assert (invited.json_body["status"], invited.json_body["email"]) == ("invited", "nia@example.com")
    message = next(m for m in list_messages(admin.tenant_id) if m.to == "nia@example.com")
    assert (message.channel, message.template, message.status) == ("email", "user.invitation", "queued")
    assert message.variables["tenantName"] == "Test Company"

    token = invitation_token(admin.tenant_id, "nia@example.com")
    weak = call(api, "POST", "/auth/set-password", {"token": token, "password": "1234567890"})
    assert (weak.status_code, weak.json_body["errors"][0]["field"]) == (422, "body.password")
    accepted = call(api, "POST", "/auth/set-password", {"token": token, "password": PASSWORD})
    assert accepted.status_code == 200
    again = call(api, "POST", "/auth/set-password", {"token": token, "password": PASSWORD})
    assert (again.status_code, again.json_body["errors"][0]["field"]) == (422, "body.token")
    login = call(api, "POST", "/auth/login", {"identifier": "nia@example.com", "password": PASSWORD})
    assert login.status_code == 200
    assert (
        call(api, "POST", "/auth/login", {"identifier": "nobody@example.com", "password": PASSWORD}).status_code == 401
    )


def test_the_user_after_the_plan_limit_is_refused_naming_max_users(api: Any) -> None:
    admin, _ = signup(api, plan="lojista")  # Lojista: 2 users
    add_user(api, admin, Role.STAFF)
    refused = call(
        api, "POST", "/users", {"email": "third@example.com", "name": "Third", "role": "STAFF"}, admin.headers()
    )
    assert refused.status_code == 403
    assert refused.json_body["limit"] == "maxUsers"
    assert "Lojista" in refused.json_body["detail"]
    assert call(api, "GET", "/tenant", headers=admin.headers()).json_body["userCount"] == 2


def test_deactivation_frees_the_seat_and_reactivation_takes_it_again(api: Any) -> None:
    admin, _ = signup(api, plan="lojista")
    staff = add_user(api, admin, Role.STAFF)
    assert (
        call(api, "POST", f"/users/{staff.user_id}/deactivate", headers=admin.headers()).json_body["status"]
        == "inactive"
    )
    newcomer = add_user(api, admin, Role.VIEWER)
    blocked = call(api, "POST", f"/users/{staff.user_id}/reactivate", headers=admin.headers())
    assert (blocked.status_code, blocked.json_body["limit"]) == (403, "maxUsers")
    call(api, "POST", f"/users/{newcomer.user_id}/deactivate", headers=admin.headers())
    back = call(api, "POST", f"/users/{staff.user_id}/reactivate", headers=admin.headers())
    assert back.json_body["status"] == "active"
    assert call(api, "POST", "/auth/login", {"identifier": staff.email, "password": PASSWORD}).status_code == 200


def test_admin_cannot_deactivate_themselves_or_change_their_own_role(api: Any) -> None:
    admin, _ = signup(api)
    assert call(api, "POST", f"/users/{admin.user_id}/deactivate", headers=admin.headers()).status_code == 422
    me = call(api, "GET", f"/users/{admin.user_id}", headers=admin.headers()).json_body
    demote = call(
        api, "PATCH", f"/users/{admin.user_id}", {"version": me["version"], "role": "VIEWER"}, admin.headers()
    )
    assert (demote.status_code, demote.json_body["errors"][0]["field"]) == (422, "body.role")


def test_role_change_applies_at_once_and_stale_versions_conflict(api: Any) -> None:
    admin, _ = signup(api)
    staff = add_user(api, admin, Role.STAFF)
    assert call(api, "GET", "/users", headers=staff.headers()).status_code == 403
    current = call(api, "GET", f"/users/{staff.user_id}", headers=admin.headers()).json_body
    promoted = call(
        api, "PATCH", f"/users/{staff.user_id}", {"version": current["version"], "role": "MANAGER"}, admin.headers()
    )
    assert promoted.status_code == 200
    assert promoted.json_body["version"] == current["version"] + 1
    assert call(api, "GET", "/users", headers=staff.headers()).status_code == 200  # same token, new role
    stale = call(
        api, "PATCH", f"/users/{staff.user_id}", {"version": current["version"], "name": "Late"}, admin.headers()
    )
    assert stale.status_code == 409
    nothing = call(api, "PATCH", f"/users/{staff.user_id}", {"version": 2}, admin.headers())
    assert nothing.status_code == 422


def test_user_list_pages_with_cursors_bound_to_the_tenant(api: Any) -> None:
    admin, _ = signup(api)
    for role in (Role.STAFF, Role.VIEWER, Role.AGENT, Role.KITCHEN):
        call(
            api,
            "POST",
            "/users",
            {"email": f"{role.value.lower()}-{admin.user_id.lower()}@example.com", "name": "Someone", "role": role},
            admin.headers(),
        )
    seen: list[str] = []
    path = "/users?limit=2"
    while True:
        page = call(api, "GET", path, headers=admin.headers()).json_body
        seen += [u["id"] for u in page["items"]]
        if not page["nextCursor"]:
            break
        cursor = page["nextCursor"]
        path = f"/users?limit=2&cursor={cursor}"
    assert len(seen) == len(set(seen)) == 5
    invited = call(api, "GET", "/users?status=invited", headers=admin.headers()).json_body["items"]
    assert len(invited) == 4
    other, _ = signup(api)
    foreign = call(api, "GET", f"/users?limit=2&cursor={cursor}", headers=other.headers())
    assert (foreign.status_code, foreign.json_body["errors"][0]["field"]) == (400, "query.cursor")


def test_whatsapp_number_is_verified_with_a_one_time_code(api: Any) -> None:
    admin, _ = signup(api)
    without = call(api, "POST", "/auth/whatsapp/code", headers=admin.headers())
    assert without.status_code == 422
    me = call(api, "GET", f"/users/{admin.user_id}", headers=admin.headers()).json_body
    call(
        api,
        "PATCH",
        f"/users/{admin.user_id}",
        {"version": me["version"], "whatsappNumber": "+55 11 98765-4321"},
        admin.headers(),
    )
    sent = call(api, "POST", "/auth/whatsapp/code", headers=admin.headers())
    assert sent.status_code == 200
    assert sent.json_body["to"].endswith("4321")
    assert "98765" not in sent.json_body["to"]
    code = next(m for m in list_messages(admin.tenant_id) if m.template == "auth.verification_code").variables["code"]
    wrong = "000000" if code != "000000" else "111111"
    assert call(api, "POST", "/auth/whatsapp/verify", {"code": wrong}, admin.headers()).status_code == 422
    assert call(api, "POST", "/auth/whatsapp/verify", {"code": "12ab"}, admin.headers()).status_code == 422
    verified = call(api, "POST", "/auth/whatsapp/verify", {"code": code}, admin.headers())
    assert verified.status_code == 200
    assert verified.json_body["whatsappVerified"] is True
    assert call(api, "POST", "/auth/whatsapp/verify", {"code": code}, admin.headers()).status_code == 422


def test_a_code_is_used_up_by_five_wrong_tries(api: Any) -> None:
    admin, _ = signup(
        api, admin={"name": "Wa", "email": "wa-user@example.com", "password": PASSWORD, "whatsappNumber": "+4520123456"}
    )
    call(api, "POST", "/auth/whatsapp/code", headers=admin.headers())
    code = next(m for m in list_messages(admin.tenant_id) if m.template == "auth.verification_code").variables["code"]
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert call(api, "POST", "/auth/whatsapp/verify", {"code": wrong}, admin.headers()).status_code == 422
    assert call(api, "POST", "/auth/whatsapp/verify", {"code": code}, admin.headers()).status_code == 422
