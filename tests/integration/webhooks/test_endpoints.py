"""Webhook endpoints through the API: the catalog, CRUD, secrets shown once, validation, SSRF, limits."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.crypto import decrypt_field
from chalicelib.core.db.store import Table
from chalicelib.webhooks import store
from tests.support.identity import Account, call, signup
from tests.support.webhooks import create_endpoint, get_endpoint

RECEIVER = "http://127.0.0.1:9/hook"  # never listened on: these tests send nothing


@pytest.fixture(scope="module")
def admin(api: Any) -> Account:
    """One tenant for the tests that do not count endpoints."""
    account, _ = signup(api)
    return account


def _errors(response: Any) -> list[str]:
    return [e["field"] for e in response.json_body.get("errors") or []]


def test_the_catalog_lists_every_event_type_with_the_schema_of_its_data(api: Any, admin: Account) -> None:
    response = call(api, "GET", "/webhook-event-types", headers=admin.headers())
    assert response.status_code == 200, response.body
    types = {item["type"]: item for item in response.json_body["items"]}
    created = types["order.created"]
    assert created["origin"] == "domain"
    assert set(created["dataSchema"]["required"]) == {"number", "total", "channel"}
    assert created["dataSchema"]["properties"]["customerId"]
    assert types["order.delivered"]["origin"] == "workflow"
    assert types["webhook.test"]["origin"] == "webhooks"
    assert "endpoint.disabled" in types
    assert "message.attempt.exhausted" in types
    assert types["order.status_changed"]["dataSchema"]["properties"]["from"]["type"] == "string"


def test_the_secret_is_shown_at_creation_only_and_stored_encrypted(api: Any, admin: Account) -> None:
    created = create_endpoint(api, admin, RECEIVER, description="ERP", eventTypes=["order.*"], rateLimit=5)
    assert created["secret"].startswith("whsec_")
    assert (created["url"], created["description"], created["eventTypes"]) == (RECEIVER, "ERP", ["order.*"])
    assert (created["enabled"], created["rateLimit"], created["version"]) == (True, 5, 1)
    shown = get_endpoint(api, admin, created["id"])
    assert "secret" not in shown
    listed = call(api, "GET", "/webhook-endpoints?limit=100", headers=admin.headers()).json_body["items"]
    assert [e for e in listed if e["id"] == created["id"]] == [shown]
    assert all("secret" not in e for e in listed)
    item = Table().get(*store.endpoint_key(admin.tenant_id, created["id"]))
    assert item is not None
    assert created["secret"] not in str(item)
    assert decrypt_field(admin.tenant_id, str(item["secretEncrypted"])) == created["secret"]


def test_an_idempotent_create_answers_the_same_endpoint_and_secret(api: Any, admin: Account) -> None:
    body = {"url": RECEIVER, "eventTypes": ["customer.created"]}
    headers = admin.headers(**{"Idempotency-Key": "create-hook-1"})
    first = call(api, "POST", "/webhook-endpoints", body, headers)
    again = call(api, "POST", "/webhook-endpoints", body, headers)
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body
    other = call(api, "POST", "/webhook-endpoints", {**body, "description": "x"}, headers)
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": RECEIVER, "eventTypes": ["order.teleported"]}, "body.eventTypes[0]"),
        ({"url": RECEIVER, "eventTypes": ["order.created", "nothing.*"]}, "body.eventTypes[1]"),
        ({"url": RECEIVER, "eventTypes": ["*"]}, "body.eventTypes[0]"),
        ({"url": RECEIVER, "rateLimit": 0}, "body.rateLimit"),
        ({"url": "https://10.0.0.8/hook"}, "body.url"),
        ({"url": "https://169.254.169.254/latest/meta-data/"}, "body.url"),
        ({"url": "https://[::ffff:192.168.0.1]/hook"}, "body.url"),
        ({"url": "https://224.0.0.251/hook"}, "body.url"),
        ({"url": "http://93.184.215.14/hook"}, "body.url"),
        ({"url": "https://user:pw@93.184.215.14/hook"}, "body.url"),
        ({"url": "https://no-such-host.invalid/hook"}, "body.url"),
        ({"url": "not a url"}, "body.url"),
        ({}, "body.url"),
    ],
)
def test_bad_endpoints_are_refused_naming_the_field(api: Any, admin: Account, body: dict[str, Any], field: str) -> None:
    response = call(api, "POST", "/webhook-endpoints", body, admin.headers())
    assert response.status_code == 422, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in _errors(response)


def test_loopback_targets_are_refused_unless_the_local_setting_allows_them(
    api: Any, admin: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core.config import get_settings

    monkeypatch.setenv("BTRIX_WEBHOOK_ALLOW_LOOPBACK", "false")
    get_settings.cache_clear()
    try:
        for url in (RECEIVER, "https://localhost/hook", "https://[::1]:8443/hook"):
            response = call(api, "POST", "/webhook-endpoints", {"url": url}, admin.headers())
            assert response.status_code == 422, url
            assert _errors(response) == ["body.url"]
            assert "loopback" in response.json_body["errors"][0]["message"]
    finally:
        monkeypatch.setenv("BTRIX_WEBHOOK_ALLOW_LOOPBACK", "true")
        get_settings.cache_clear()


def test_an_endpoint_changes_with_its_version_and_records_who_disabled_it(api: Any, admin: Account) -> None:
    created = create_endpoint(api, admin, RECEIVER)
    path = f"/webhook-endpoints/{created['id']}"
    changed = call(
        api,
        "PATCH",
        path,
        {"version": 1, "eventTypes": ["order.*", "order.*"], "description": "ops", "enabled": False},
        admin.headers(),
    )
    assert changed.status_code == 200, changed.body
    assert changed.json_body["eventTypes"] == ["order.*"]
    assert (changed.json_body["enabled"], changed.json_body["disabledReason"]) == (False, "manual")
    assert changed.json_body["version"] == 2
    stale = call(api, "PATCH", path, {"version": 1, "description": "late"}, admin.headers())
    assert stale.status_code == 409
    for body, field in (
        ({"version": 2}, "body"),
        ({"version": 2, "enabled": None}, "body.enabled"),
        ({"version": 2, "url": "https://10.1.1.1/"}, "body.url"),
        ({"version": 2, "eventTypes": ["order.nope"]}, "body.eventTypes[0]"),
    ):
        refused = call(api, "PATCH", path, body, admin.headers())
        assert refused.status_code == 422, body
        assert field in _errors(refused), refused.body
    cleared = call(api, "PATCH", path, {"version": 2, "rateLimit": None, "enabled": True}, admin.headers())
    assert cleared.status_code == 200, cleared.body
    assert (cleared.json_body["rateLimit"], cleared.json_body["disabledReason"]) == (None, None)
    audit = call(api, "GET", f"/audit-log?entityType=webhookendpoint&entityId={created['id']}", headers=admin.headers())
    actions = [entry["action"] for entry in audit.json_body["items"]]
    assert actions.count("webhook_endpoint.updated") == 2
    assert "webhook_endpoint.created" in actions
    assert all("whsec_" not in str(entry) for entry in audit.json_body["items"])


def test_a_deleted_endpoint_is_gone_and_a_test_to_a_disabled_one_is_refused(api: Any, admin: Account) -> None:
    created = create_endpoint(api, admin, RECEIVER, enabled=False)
    assert created["disabledReason"] == "manual"
    refused = call(api, "POST", f"/webhook-endpoints/{created['id']}/test", headers=admin.headers())
    assert refused.status_code == 409
    assert call(api, "DELETE", f"/webhook-endpoints/{created['id']}", headers=admin.headers()).status_code == 204
    for path in ("", "/deliveries", "/rotate-secret"):
        method = "POST" if path == "/rotate-secret" else "GET"
        gone = call(api, method, f"/webhook-endpoints/{created['id']}{path}", headers=admin.headers())
        assert gone.status_code == 404, path


def test_another_tenants_endpoint_is_not_found(api: Any, admin: Account) -> None:
    stranger, _ = signup(api)
    theirs = create_endpoint(api, stranger, RECEIVER)
    for method, path in (
        ("GET", ""),
        ("GET", "/deliveries"),
        ("POST", "/rotate-secret"),
        ("POST", "/test"),
        ("DELETE", ""),
    ):
        response = call(api, method, f"/webhook-endpoints/{theirs['id']}{path}", headers=admin.headers())
        assert response.status_code == 404, (method, path)
    assert get_endpoint(api, stranger, theirs["id"])["version"] == 1


def test_a_tenant_has_at_most_twenty_endpoints(api: Any) -> None:
    owner, _ = signup(api)
    made = [create_endpoint(api, owner, RECEIVER) for _ in range(store.MAX_ENDPOINTS)]
    refused = call(api, "POST", "/webhook-endpoints", {"url": RECEIVER}, owner.headers())
    assert refused.status_code == 403
    assert "maxWebhookEndpoints" in refused.json_body["detail"]
    page = call(api, "GET", "/webhook-endpoints?limit=15", headers=owner.headers()).json_body
    following = call(api, "GET", f"/webhook-endpoints?cursor={page['nextCursor']}", headers=owner.headers()).json_body
    assert len(page["items"]) + len(following["items"]) == store.MAX_ENDPOINTS
    assert following["nextCursor"] is None
    assert call(api, "DELETE", f"/webhook-endpoints/{made[0]['id']}", headers=owner.headers()).status_code == 204
    create_endpoint(api, owner, RECEIVER)


def test_a_plan_without_the_webhooks_module_cannot_use_them(api: Any) -> None:
    shopkeeper, _ = signup(api, plan="lojista")
    response = call(api, "GET", "/webhook-endpoints", headers=shopkeeper.headers())
    assert response.status_code == 403
    assert "webhooks" in response.json_body["detail"]
