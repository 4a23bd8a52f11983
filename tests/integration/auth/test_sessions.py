"""Ending a session stops its access tokens at once (not when they expire): logout, refresh reuse, deactivation,
password change; with no read beyond the user and the tenant the guard reads anyway."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.access.permissions import Role
from chalicelib.core import clock
from chalicelib.core.db.store import Table
from chalicelib.tenants import store as tenants_store
from chalicelib.users import store as users_store
from tests.support.identity import PASSWORD, Account, add_user, call, signup

NEW_PASSWORD = "a-different-horse-staple-77"


def _me(api: Any, token: str) -> int:
    return int(call(api, "GET", "/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code)


def _login(api: Any, email: str, password: str = PASSWORD) -> dict[str, Any]:
    answer = call(api, "POST", "/auth/login", {"identifier": email, "password": password})
    assert answer.status_code == 200, answer.body
    return dict(answer.json_body)


def test_logout_stops_that_sessions_access_token_at_once_and_no_other(api: Any) -> None:
    admin, _ = signup(api)
    phone = _login(api, admin.email)
    assert _me(api, phone["accessToken"]) == 200
    assert call(api, "POST", "/auth/logout", {"refreshToken": phone["refreshToken"]}).status_code == 204
    refused = call(api, "GET", "/auth/me", headers={"Authorization": f"Bearer {phone['accessToken']}"})
    assert refused.status_code == 401
    assert "session has ended" in refused.json_body["detail"]
    assert _me(api, admin.access_token) == 200  # the signup session (another device) goes on


def test_refresh_reuse_stops_every_access_token_of_the_revoked_session(api: Any) -> None:
    admin, _ = signup(api)
    first = _login(api, admin.email)
    renewed = call(api, "POST", "/auth/refresh", {"refreshToken": first["refreshToken"]}).json_body
    assert _me(api, renewed["accessToken"]) == 200
    replay = call(api, "POST", "/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert replay.status_code == 401
    assert _me(api, first["accessToken"]) == 401
    assert _me(api, renewed["accessToken"]) == 401  # the thief's fresh token too
    assert _me(api, admin.access_token) == 200


def test_deactivation_ends_every_session_and_reactivation_does_not_revive_them(api: Any) -> None:
    admin, _ = signup(api)
    staff = add_user(api, admin, Role.STAFF)
    second = _login(api, staff.email)
    assert call(api, "POST", f"/users/{staff.user_id}/deactivate", headers=admin.headers()).status_code == 200
    assert call(api, "POST", f"/users/{staff.user_id}/reactivate", headers=admin.headers()).status_code == 200
    # Active again within the tokens' 15 minutes, yet the sessions from before stay ended.
    assert _me(api, staff.access_token) == 401
    assert _me(api, second["accessToken"]) == 401
    for refresh_token in (staff.refresh_token, second["refreshToken"]):
        assert call(api, "POST", "/auth/refresh", {"refreshToken": refresh_token}).status_code == 401
    assert _me(api, _login(api, staff.email)["accessToken"]) == 200


def _change_password(api: Any, account: Account, current: str, new: str) -> Any:
    body = {"currentPassword": current, "newPassword": new}
    return call(api, "POST", "/auth/password", body, account.headers())


def test_a_password_change_ends_every_session_and_starts_a_new_one(api: Any) -> None:
    admin, _ = signup(api)
    laptop = _login(api, admin.email)
    changed = _change_password(api, admin, PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 200, changed.body
    fresh = changed.json_body
    assert _me(api, admin.access_token) == 401  # the session that asked, too
    assert _me(api, laptop["accessToken"]) == 401
    for refresh_token in (admin.refresh_token, laptop["refreshToken"]):
        assert call(api, "POST", "/auth/refresh", {"refreshToken": refresh_token}).status_code == 401
    assert _me(api, fresh["accessToken"]) == 200
    renewed = call(api, "POST", "/auth/refresh", {"refreshToken": fresh["refreshToken"]})
    assert renewed.status_code == 200
    assert _me(api, renewed.json_body["accessToken"]) == 200
    assert call(api, "POST", "/auth/login", {"identifier": admin.email, "password": PASSWORD}).status_code == 401
    assert _me(api, _login(api, admin.email, NEW_PASSWORD)["accessToken"]) == 200


def test_a_wrong_current_password_is_422_counts_as_a_failed_login_and_ends_nothing(api: Any) -> None:
    admin, _ = signup(api)
    # One moment for the five failures and the refusal: across a 15-minute window boundary they would be counted apart.
    with clock.frozen_clock(clock.now()):
        for _ in range(5):
            wrong = _change_password(api, admin, "not-my-password-1", NEW_PASSWORD)
            assert wrong.status_code == 422
            assert [e["field"] for e in wrong.json_body["errors"]] == ["body.currentPassword"]
        assert _change_password(api, admin, PASSWORD, NEW_PASSWORD).status_code == 429
    assert _me(api, admin.access_token) == 200
    weak = _change_password(api, add_user(api, admin, Role.MANAGER), PASSWORD, "password123")
    assert weak.status_code == 422
    assert [e["field"] for e in weak.json_body["errors"]] == ["body.newPassword"]


def test_revocations_are_pruned_once_the_tokens_they_stop_have_expired(api: Any) -> None:
    admin, _ = signup(api)
    old = _login(api, admin.email)
    call(api, "POST", "/auth/logout", {"refreshToken": old["refreshToken"]})
    with clock.frozen_clock(clock.now() + timedelta(minutes=16)):
        recent = _login(api, admin.email)
        call(api, "POST", "/auth/logout", {"refreshToken": recent["refreshToken"]})
    user = users_store.get_user(admin.tenant_id, admin.user_id, consistent=True)
    assert user is not None
    assert [m.split("@")[0] for m in user.revoked_sessions] == [_session_id(recent)]


def _session_id(tokens: dict[str, Any]) -> str:
    import jwt

    return str(jwt.decode(tokens["accessToken"], options={"verify_signature": False})["sid"])


def test_the_guard_reads_only_the_user_and_the_tenant(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    admin, _ = signup(api)
    call(api, "POST", "/auth/logout", {"refreshToken": _login(api, admin.email)["refreshToken"]})
    reads: list[tuple[str, str]] = []
    original = Table.get

    def counted(self: Table, pk: str, sk: str, *, consistent: bool = False) -> Any:
        reads.append((pk, sk))
        return original(self, pk, sk, consistent=consistent)

    monkeypatch.setattr(Table, "get", counted)
    assert call(api, "GET", "/roles", headers=admin.headers()).status_code == 200  # a route that reads nothing
    assert sorted(reads) == sorted(
        [users_store.user_key(admin.tenant_id, admin.user_id), tenants_store.tenant_key(admin.tenant_id)]
    )
