"""Browser sessions (cookie mode) beside bearer tokens: cookies, CSRF, Origin, CORS, and the same revocation rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.access.permissions import Role
from chalicelib.core.ids import new_id
from tests.support.identity import PASSWORD, Account, add_user, call, client_ip, signup

APP = "https://app.example.com"
OTHER_APP = "https://shop.example.org"
FOREIGN = "https://evil.example.net"


class Browser:
    """A browser at ``origin``: keeps the cookies the API sets (by name; the refresh cookie only goes to its path)."""

    def __init__(self, api: Any, origin: str = APP, host: str | None = None) -> None:
        self.api = api
        self.origin = origin
        self.host = host
        self.ip = client_ip()
        self.jar: dict[str, tuple[str, str]] = {}  # name → (value, path)
        self.csrf: str | None = None

    def _cookie_header(self, path: str) -> str:
        return "; ".join(f"{name}={value}" for name, (value, scope) in self.jar.items() if path.startswith(scope))

    def request(self, method: str, path: str, body: Any = None, *, csrf: bool = True, **extra: str) -> Any:
        headers = {"Content-Type": "application/json", "X-Forwarded-For": self.ip, "Origin": self.origin, **extra}
        if self.host:
            headers["Host"] = self.host
        if cookie := self._cookie_header(path):
            headers["Cookie"] = cookie
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        answer = self.api.request(method, path, headers=headers, body=json.dumps(body) if body is not None else b"")
        for line in set_cookies(answer):
            name, _, rest = line.partition("=")
            value = rest.split(";")[0]
            attributes = cookie_attributes(line)
            if attributes.get("max-age") == "0":
                self.jar.pop(name, None)
            else:
                self.jar[name] = (value, attributes["path"])
        if answer.status_code == 200 and "csrfToken" in (answer.json_body or {}):
            self.csrf = answer.json_body["csrfToken"]
        return answer

    def login(self, email: str) -> Any:
        return self.request("POST", "/auth/login", {"identifier": email, "password": PASSWORD, "session": "cookie"})


def set_cookies(answer: Any) -> list[str]:
    found = answer.headers.get("Set-Cookie") or answer.headers.get("set-cookie") or []
    return [found] if isinstance(found, str) else list(found)


def cookie_attributes(line: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for part in line.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return attributes


def allow(api: Any, admin: Account, *origins: str) -> dict[str, Any]:
    tenant = call(api, "GET", "/tenant", headers=admin.headers()).json_body
    changed = call(
        api, "PATCH", "/tenant", {"version": tenant["version"], "allowedOrigins": list(origins)}, admin.headers()
    )
    assert changed.status_code == 200, changed.body
    return dict(changed.json_body)


@pytest.fixture
def tenant(api: Any) -> Account:
    admin, _ = signup(api)
    allow(api, admin, APP)
    return admin


def test_login_sets_httponly_secure_samesite_cookies_and_answers_no_token(api: Any, tenant: Account) -> None:
    browser = Browser(api)
    answer = browser.login(tenant.email)
    assert answer.status_code == 200, answer.body
    assert answer.json_body["tokenType"] == "Cookie"
    assert "accessToken" not in answer.json_body
    assert "refreshToken" not in answer.json_body
    lines = {line.split("=")[0]: cookie_attributes(line) for line in set_cookies(answer)}
    assert set(lines) == {"__Host-btrix_access", "__Secure-btrix_refresh", "__Host-btrix_csrf"}
    for name, attributes in lines.items():
        assert "secure" in attributes, name
        assert attributes["samesite"] == "Strict", name
    assert "httponly" in lines["__Host-btrix_access"]
    assert "httponly" in lines["__Secure-btrix_refresh"]
    assert lines["__Host-btrix_access"]["path"] == "/"
    assert lines["__Secure-btrix_refresh"]["path"] == "/auth/refresh"  # the refresh cookie goes nowhere else
    assert browser.jar["__Host-btrix_csrf"][0] == answer.json_body["csrfToken"]
    assert answer.headers["Access-Control-Allow-Origin"] == APP
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"


def test_a_cookie_session_calls_with_the_csrf_header_and_is_refused_without_it(api: Any, tenant: Account) -> None:
    browser = Browser(api)
    browser.login(tenant.email)
    me = browser.request("GET", "/auth/me", csrf=False)  # a read needs no CSRF token
    assert me.status_code == 200, me.body
    assert me.json_body["user"]["email"] == tenant.email
    assert me.headers["Access-Control-Allow-Origin"] == APP
    created = browser.request("POST", "/customers", {"name": "Ana Souza", "email": "ana@example.com"})
    assert created.status_code == 201, created.body
    refused = browser.request("POST", "/customers", {"name": "Bia Lima"}, csrf=False)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json_body["type"].endswith(":csrf-failed")
    wrong = browser.request("POST", "/customers", {"name": "Bia Lima"}, csrf=False, **{"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    assert wrong.json_body["type"].endswith(":csrf-failed")


def test_a_foreign_origin_is_refused_even_with_the_csrf_token(api: Any, tenant: Account) -> None:
    browser = Browser(api)
    browser.login(tenant.email)
    browser.origin = FOREIGN  # the page of another site replays the cookies and (somehow) the token
    refused = browser.request("POST", "/customers", {"name": "Ana Souza"})
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json_body["type"].endswith(":origin-not-allowed")
    assert "Access-Control-Allow-Origin" not in refused.headers
    read = browser.request("GET", "/auth/me")
    assert read.status_code == 403
    assert "Access-Control-Allow-Origin" not in read.headers


def test_login_from_an_origin_the_users_tenant_does_not_allow_is_refused(api: Any, tenant: Account) -> None:
    other, _ = signup(api)
    allow(api, other, OTHER_APP)
    # OTHER_APP is some tenant's origin, not this user's: no session for it.
    answer = Browser(api, OTHER_APP).login(tenant.email)
    assert answer.status_code == 403
    assert answer.json_body["type"].endswith(":origin-not-allowed")
    assert not set_cookies(answer)
    missing = call(api, "POST", "/auth/login", {"identifier": tenant.email, "password": PASSWORD, "session": "cookie"})
    assert missing.status_code == 403  # no Origin at all
    bearer = call(api, "POST", "/auth/login", {"identifier": tenant.email, "password": PASSWORD})
    assert bearer.status_code == 200
    assert bearer.json_body["accessToken"]


def test_refresh_by_cookie_rotates_and_a_replayed_cookie_revokes_the_family(api: Any, tenant: Account) -> None:
    browser = Browser(api)
    browser.login(tenant.email)
    first_refresh = browser.jar["__Secure-btrix_refresh"][0]
    first_csrf = browser.csrf
    renewed = browser.request("POST", "/auth/refresh", {})
    assert renewed.status_code == 200, renewed.body
    assert browser.jar["__Secure-btrix_refresh"][0] != first_refresh
    assert browser.csrf != first_csrf
    assert browser.request("GET", "/auth/me").status_code == 200
    # The old refresh cookie, replayed (a stolen copy): the whole session ends, the fresh cookies too.
    thief = Browser(api)
    thief.jar = {"__Secure-btrix_refresh": (first_refresh, "/auth/refresh")}
    replay = thief.request("POST", "/auth/refresh", {})
    assert replay.status_code == 401
    assert browser.request("GET", "/auth/me").status_code == 401
    assert browser.request("POST", "/auth/refresh", {}).status_code == 401


def test_refresh_by_cookie_from_a_foreign_origin_does_not_use_the_token_up(api: Any, tenant: Account) -> None:
    browser = Browser(api)
    browser.login(tenant.email)
    browser.origin = FOREIGN
    refused = browser.request("POST", "/auth/refresh", {})
    assert refused.status_code == 403
    assert refused.json_body["type"].endswith(":origin-not-allowed")
    browser.origin = APP
    assert browser.request("POST", "/auth/refresh", {}).status_code == 200  # not used up: no reuse, no revocation


def test_logout_by_cookie_ends_the_session_and_clears_the_cookies(api: Any, tenant: Account) -> None:
    browser = Browser(api)
    browser.login(tenant.email)
    kept = dict(browser.jar)
    assert browser.request("POST", "/auth/logout", {}, csrf=False).status_code == 403  # logout CSRF refused
    out = browser.request("POST", "/auth/logout", {})
    assert out.status_code == 204, out.body
    assert {cookie_attributes(line).get("max-age") for line in set_cookies(out)} == {"0"}
    assert browser.jar == {}
    browser.jar = kept  # the cookies of before, kept by someone: the session has ended
    assert browser.request("GET", "/auth/me").status_code == 401
    assert browser.request("POST", "/auth/refresh", {}).status_code == 401


def test_a_deactivated_user_is_refused_by_cookie_too(api: Any, tenant: Account) -> None:
    staff = add_user(api, tenant, Role.STAFF)
    browser = Browser(api)
    assert browser.login(staff.email).status_code == 200
    assert call(api, "POST", f"/users/{staff.user_id}/deactivate", headers=tenant.headers()).status_code == 200
    assert browser.request("GET", "/auth/me").status_code == 401
    assert browser.request("POST", "/auth/refresh", {}).status_code == 401


def test_bearer_mode_is_unchanged_and_ignores_origin(api: Any, tenant: Account) -> None:
    answer = call(api, "POST", "/customers", {"name": "Ana Souza"}, {**tenant.headers(), "Origin": FOREIGN})
    assert answer.status_code == 201  # a bearer token is not sent by a browser on its own: no CSRF, no Origin check
    assert "Access-Control-Allow-Origin" not in answer.headers  # ...but no CORS for an origin the tenant lacks
    mine = call(api, "GET", "/auth/me", headers={**tenant.headers(), "Origin": APP})
    assert mine.headers["Access-Control-Allow-Origin"] == APP
    assert not set_cookies(mine)
    missing = call(api, "POST", "/auth/refresh", {})
    assert missing.status_code == 422
    assert missing.json_body["errors"][0]["field"] == "body.refreshToken"


def test_preflight_is_answered_for_allowed_origins_only(api: Any, tenant: Account) -> None:
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-csrf-token"}
    answer = api.request("OPTIONS", "/customers", headers={"Origin": APP, **asked})
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == APP
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert "X-CSRF-Token" in answer.headers["Access-Control-Allow-Headers"]
    refused = api.request("OPTIONS", "/customers", headers={"Origin": FOREIGN, **asked})
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_allowed_origins_are_validated_and_removing_one_stops_its_cors(api: Any, tenant: Account) -> None:
    tenant_now = call(api, "GET", "/tenant", headers=tenant.headers()).json_body
    assert tenant_now["allowedOrigins"] == [APP]
    for bad in ("http://app.example.com", "https://*.example.com", "https://app.example.com/path", "null"):
        answer = call(
            api, "PATCH", "/tenant", {"version": tenant_now["version"], "allowedOrigins": [bad]}, tenant.headers()
        )
        assert answer.status_code == 422, bad
        assert answer.json_body["errors"][0]["field"] == "body.allowedOrigins[0]"
    first, second = (f"https://{new_id().lower()}.example.org" for _ in range(2))  # no other tenant's
    allow(api, tenant, first)
    asked = {"Access-Control-Request-Method": "POST"}
    assert api.request("OPTIONS", "/customers", headers={"Origin": first, **asked}).status_code == 204
    normalised = allow(api, tenant, second.upper() + ":443/", second)
    assert normalised["allowedOrigins"] == [second]
    assert api.request("OPTIONS", "/customers", headers={"Origin": first, **asked}).status_code == 403
    assert api.request("OPTIONS", "/customers", headers={"Origin": second, **asked}).status_code == 204


def test_local_loopback_gets_cookies_without_secure_and_they_work(api: Any) -> None:
    admin, _ = signup(api)
    allow(api, admin, "http://127.0.0.1:5173")
    browser = Browser(api, "http://127.0.0.1:5173", host="127.0.0.1:8000")
    answer = browser.login(admin.email)
    assert answer.status_code == 200, answer.body
    lines = {line.split("=")[0]: cookie_attributes(line) for line in set_cookies(answer)}
    assert set(lines) == {"btrix_access", "btrix_refresh", "btrix_csrf"}
    assert all("secure" not in attributes for attributes in lines.values())
    assert browser.request("POST", "/customers", {"name": "Ana Souza"}).status_code == 201
    assert browser.request("POST", "/auth/refresh", {}).status_code == 200


def test_over_real_http_on_loopback_a_browser_session_works_end_to_end(api: Any, stack: Any) -> None:
    """``make run``'s server: several Set-Cookie headers, the preflight reaching the app, cookies kept by a client
    (httpx's jar stands for the browser's; on 127.0.0.1 the cookies are not Secure, so it sends them over http)."""
    import threading

    import httpx

    from app import app
    from localdev.gateway import make_server
    from localdev.stack import free_port

    admin, _ = signup(api)
    port = free_port()
    frontend = "http://127.0.0.1:5173"
    allow(api, admin, frontend)
    local = make_server(app, "127.0.0.1", port)
    thread = threading.Thread(target=local.server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Origin": frontend}, timeout=30) as browser:
            asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-csrf-token"}
            preflight = browser.options("/customers", headers=asked)
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == frontend
            login = browser.post(
                "/auth/login", json={"identifier": admin.email, "password": PASSWORD, "session": "cookie"}
            )
            assert login.status_code == 200, login.text
            assert len(login.headers.get_list("set-cookie")) == 3
            assert set(browser.cookies.keys()) == {"btrix_access", "btrix_refresh", "btrix_csrf"}
            csrf = {"X-CSRF-Token": login.json()["csrfToken"]}
            assert browser.get("/auth/me").json()["user"]["email"] == admin.email
            assert browser.post("/customers", json={"name": "Ana Souza"}, headers=csrf).status_code == 201
            assert browser.post("/customers", json={"name": "Ana Souza"}).status_code == 403
            renewed = browser.post("/auth/refresh", json={})
            assert renewed.status_code == 200, renewed.text
            csrf = {"X-CSRF-Token": renewed.json()["csrfToken"]}
            assert browser.post("/auth/logout", json={}, headers=csrf).status_code == 204
            assert not browser.cookies.keys()
            assert browser.get("/auth/me").status_code == 401
    finally:
        local.server.shutdown()
        local.server.server_close()


def test_a_password_change_in_a_browser_session_answers_new_cookies_not_tokens(api: Any, tenant: Account) -> None:
    new_password = "a-different-horse-staple-77"
    browser = Browser(api)
    browser.login(tenant.email)
    old_cookies = dict(browser.jar)
    changed = browser.request("POST", "/auth/password", {"currentPassword": PASSWORD, "newPassword": new_password})
    assert changed.status_code == 200, changed.body
    assert changed.json_body["tokenType"] == "Cookie"
    assert "accessToken" not in changed.json_body
    assert browser.request("GET", "/auth/me").status_code == 200  # the new session's cookies
    browser.jar = old_cookies
    assert browser.request("GET", "/auth/me").status_code == 401  # every earlier session ended
