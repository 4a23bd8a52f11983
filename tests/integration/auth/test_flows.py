"""Signup, login, me, refresh (with reuse detection), logout and brute-force limits over HTTP."""

from __future__ import annotations

from typing import Any

from tests.support.identity import PASSWORD, call, client_ip, signup


def test_signup_login_me_refresh_and_reuse_revokes_the_family(api: Any) -> None:
    admin, answer = signup(api, plan="lojista")
    assert answer["user"]["role"] == "ADMIN"
    assert answer["tenant"]["planId"] == "lojista"
    assert answer["tokens"]["tokenType"] == "Bearer"

    ip = client_ip()
    login = call(
        api, "POST", "/auth/login", {"identifier": admin.email.upper(), "password": PASSWORD}, {"X-Forwarded-For": ip}
    )
    assert login.status_code == 200, login.body
    first = login.json_body

    me = call(api, "GET", "/auth/me", headers={"Authorization": f"Bearer {first['accessToken']}"})
    assert me.status_code == 200
    assert me.json_body["user"]["email"] == admin.email
    assert me.json_body["tenant"]["id"] == admin.tenant_id
    assert "users:manage" in me.json_body["permissions"]

    renewed = call(api, "POST", "/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert renewed.status_code == 200
    second = renewed.json_body
    assert second["refreshToken"] != first["refreshToken"]

    replay = call(api, "POST", "/auth/refresh", {"refreshToken": first["refreshToken"]})
    assert replay.status_code == 401
    assert "already used" in replay.json_body["detail"]
    # The thief's replay revoked the whole family: the legitimate new token is dead too.
    assert call(api, "POST", "/auth/refresh", {"refreshToken": second["refreshToken"]}).status_code == 401
    # Other sessions of the user (the signup one) are untouched.
    assert call(api, "POST", "/auth/refresh", {"refreshToken": admin.refresh_token}).status_code == 200


def test_refresh_reuse_is_audited(api: Any) -> None:
    admin, _ = signup(api)
    call(api, "POST", "/auth/refresh", {"refreshToken": admin.refresh_token})
    call(api, "POST", "/auth/refresh", {"refreshToken": admin.refresh_token})
    login = call(api, "POST", "/auth/login", {"identifier": admin.email, "password": PASSWORD}).json_body
    log = call(api, "GET", "/audit-log", headers={"Authorization": f"Bearer {login['accessToken']}"}).json_body
    assert "auth.refresh_reused" in [e["action"] for e in log["items"]]


def test_sixth_wrong_password_is_429_even_with_the_right_one(api: Any) -> None:
    admin, _ = signup(api)
    for _ in range(5):
        wrong = call(api, "POST", "/auth/login", {"identifier": admin.email, "password": "not-the-password-1"})
        assert wrong.status_code == 401
        assert wrong.json_body["detail"] == "The email/CPF or the password is wrong."
    blocked = call(api, "POST", "/auth/login", {"identifier": admin.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert blocked.json_body["limit"] == "login-id"


def test_five_failures_from_one_ip_block_that_ip_for_any_identifier(api: Any) -> None:
    admin, _ = signup(api)
    ip = client_ip()
    for n in range(5):
        call(
            api,
            "POST",
            "/auth/login",
            {"identifier": f"nobody{n}@example.com", "password": "x" * 12},
            {"X-Forwarded-For": ip},
        )
    blocked = call(
        api, "POST", "/auth/login", {"identifier": admin.email, "password": PASSWORD}, {"X-Forwarded-For": ip}
    )
    assert blocked.status_code == 429
    assert call(api, "POST", "/auth/login", {"identifier": admin.email, "password": PASSWORD}).status_code == 200


def test_login_with_cpf(api: Any) -> None:
    _, answer = signup(
        api, admin={"name": "Cris", "email": "cris-cpf@example.com", "password": PASSWORD, "cpf": "529.982.247-25"}
    )
    assert answer["user"]["hasCpf"] is True
    ok = call(api, "POST", "/auth/login", {"identifier": "52998224725", "password": PASSWORD})
    assert ok.status_code == 200
    bad = call(api, "POST", "/auth/login", {"identifier": "529.982.247-24", "password": PASSWORD})
    assert bad.status_code == 422
    assert bad.json_body["errors"][0]["field"] == "body.identifier"


def test_signup_validates_fields(api: Any) -> None:
    def attempt(**overrides: Any) -> Any:
        body = {
            "companyName": "X Ltda",
            "businessType": "restaurant",
            "admin": {"name": "Bea", "email": "bea@example.com", "password": PASSWORD},
            **overrides,
        }
        return call(api, "POST", "/auth/signup", body)

    weak = attempt(admin={"name": "Bea", "email": "bea2@example.com", "password": "password123"})
    assert (weak.status_code, weak.json_body["errors"][0]["field"]) == (422, "body.admin.password")
    short = attempt(admin={"name": "Bea", "email": "bea2@example.com", "password": "short"})
    assert "at least 10" in short.json_body["errors"][0]["message"]
    cnpj = attempt(document="11.222.333/0001-80")
    assert (cnpj.status_code, cnpj.json_body["errors"][0]["field"]) == (422, "body.document")
    many = attempt(timeZone="Mars/Base", currency="XXQ", businessType="spaceship", locale="!!")
    assert many.status_code == 422
    assert {e["field"] for e in many.json_body["errors"]} >= {
        "body.timeZone",
        "body.currency",
        "body.businessType",
        "body.locale",
    }
    cpf = attempt(admin={"name": "Bea", "email": "bea3@example.com", "password": PASSWORD, "cpf": "111.111.111-11"})
    assert (cpf.status_code, cpf.json_body["errors"][0]["field"]) == (422, "body.admin.cpf")


def test_an_email_belongs_to_one_account(api: Any) -> None:
    admin, _ = signup(api)
    again = call(
        api,
        "POST",
        "/auth/signup",
        {
            "companyName": "Other",
            "businessType": "retail",
            "admin": {"name": "Someone", "email": admin.email, "password": PASSWORD},
        },
    )
    assert again.status_code == 409
    assert again.json_body["errors"][0]["field"] == "body.admin.email"


def test_signup_is_limited_per_ip(api: Any) -> None:
    ip = client_ip()
    statuses = []
    for n in range(6):
        body = {
            "companyName": f"Shop {n}",
            "businessType": "retail",
            "admin": {"name": "Dan", "email": f"dan-{n}-{ip}@example.com", "password": PASSWORD},
        }
        statuses.append(call(api, "POST", "/auth/signup", body, {"X-Forwarded-For": ip}).status_code)
    assert statuses == [201] * 5 + [429]


def test_logout_ends_the_session(api: Any) -> None:
    admin, _ = signup(api)
    assert call(api, "POST", "/auth/logout", {"refreshToken": admin.refresh_token}).status_code == 204
    assert call(api, "POST", "/auth/refresh", {"refreshToken": admin.refresh_token}).status_code == 401


def test_me_needs_a_token(api: Any) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer x.y.z"}):
        response = call(api, "GET", "/auth/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/problem+json"


def test_signup_gets_the_default_plan_and_cannot_name_one(api: Any) -> None:
    body = {
        "companyName": "Free Rider Ltda",
        "businessType": "retail",
        "admin": {"name": "Rita Rider", "email": f"rider-{client_ip()}@example.com", "password": PASSWORD},
    }
    refused = call(api, "POST", "/auth/signup", {**body, "planId": "corporativo"})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json_body["errors"]] == ["body.planId"]
    created = call(api, "POST", "/auth/signup", body)
    assert created.status_code == 201, created.body
    assert created.json_body["tenant"]["planId"] == "lojista"
    assert "appointments" not in created.json_body["tenant"]["modules"]
