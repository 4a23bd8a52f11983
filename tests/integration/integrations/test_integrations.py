"""Integrations over HTTP: connect, never shown, encrypted at rest, tested against a fake provider, logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.core.config import get_settings
from chalicelib.core.db.store import Table
from chalicelib.integrations import service
from chalicelib.integrations.billy.credentials import BillyCredentials
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.store import integration_key
from chalicelib.integrations.stripe.credentials import StripeCredentials
from tests.support.identity import Account, call, signup
from tests.support.provider_api import ACCOUNTS, GOOD, FakeProviderApi


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviderApi]:
    """The fake provider API, with every adapter pointed at it for this test."""
    with FakeProviderApi() as fake:
        for name, value in fake.settings_env().items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield fake
        monkeypatch.undo()
        get_settings.cache_clear()


def _secrets(provider: str) -> list[str]:
    identifiers = {
        *("domain", "clientId", "accountSid", "smsFrom", "phoneNumberId", "calendarId", "email", "merchantId"),
        *("measurementId", "pixelId", "storeId", "postingCard", "contract", "cnpj", "account"),
    }
    return [value for name, value in GOOD[provider].items() if name not in identifiers]


def _connect(api: Any, admin: Account, provider: str, credentials: dict[str, str] | None = None) -> Any:
    body = {"credentials": credentials if credentials is not None else GOOD[provider]}
    return call(api, "PUT", f"/integrations/{provider}", body, admin.headers())


def test_every_provider_is_listed_and_credentials_never_come_back(api: Any, admin: Account) -> None:
    listed = call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
    assert [(i["provider"], i["connected"], i["status"]) for i in listed] == [
        (p.value, False, "disconnected") for p in Provider
    ]
    answers = [_connect(api, admin, p.value) for p in Provider]
    assert [a.status_code for a in answers] == [200] * len(Provider)
    listed = call(api, "GET", "/integrations", headers=admin.headers())
    assert all(i["connected"] and i["status"] == "connected" for i in listed.json_body["items"])
    by_provider = {i["provider"]: i for i in listed.json_body["items"]}
    assert by_provider["twilio"]["summary"] == {"accountSid": GOOD["twilio"]["accountSid"], "smsFrom": "+15550001111"}
    assert by_provider["stripe"]["summary"] == {"mode": "test"}
    assert by_provider["bitrix24"]["summary"] == {"domain": "acme.bitrix24.com"}
    shown = listed.body.decode() + "".join(a.body.decode() for a in answers)
    audit = call(api, "GET", "/audit-log?entityType=integration&entityId=stripe", headers=admin.headers())
    shown += audit.body.decode()
    assert audit.json_body["items"][0]["action"] == "integration.connected"
    for provider in Provider:
        for secret in _secrets(provider.value):
            assert secret not in shown, f"{provider.value} secret shown"


def test_credentials_are_encrypted_at_rest_and_readable_by_adapters(api: Any, admin: Account) -> None:
    assert _connect(api, admin, "stripe").status_code == 200
    raw = Table().get(*integration_key(admin.tenant_id, Provider.STRIPE), consistent=True)
    assert raw is not None
    assert str(raw["credentials"]).startswith("v1.")
    assert GOOD["stripe"]["secretKey"] not in json.dumps(raw, default=str)
    loaded = service.load_credentials(admin.tenant_id, Provider.STRIPE)
    assert isinstance(loaded, StripeCredentials)
    assert loaded.secret_key.get_secret_value() == GOOD["stripe"]["secretKey"]
    assert GOOD["stripe"]["secretKey"] not in repr(loaded)
    with pytest.raises(service.IntegrationNotConnected):
        service.load_credentials(admin.tenant_id, Provider.BILLY)


def test_invalid_credentials_are_422_naming_the_field(api: Any, admin: Account) -> None:
    bad_sid = _connect(api, admin, "twilio", {**GOOD["twilio"], "accountSid": "AC123"})
    assert (bad_sid.status_code, bad_sid.json_body["errors"][0]["field"]) == (422, "body.credentials.accountSid")
    missing = _connect(api, admin, "stripe", {})
    assert [e["field"] for e in missing.json_body["errors"]] == ["body.credentials.secretKey"]
    publishable = _connect(api, admin, "stripe", {"secretKey": "pk_test_51abcdefghijklmnop"})
    assert (publishable.status_code, publishable.json_body["errors"][0]["field"]) == (422, "body.credentials.secretKey")
    extra = _connect(api, admin, "billy", {**GOOD["billy"], "password": "x"})
    assert (extra.status_code, extra.json_body["errors"][0]["field"]) == (422, "body.credentials.password")
    unknown = _connect(api, admin, "paypal", {"token": "x"})
    assert unknown.status_code == 404
    assert "paypal" in unknown.json_body["detail"]
    listed = call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
    assert not any(i["connected"] for i in listed)


def test_replacing_credentials_with_a_stale_version_is_409(api: Any, admin: Account) -> None:
    first = _connect(api, admin, "billy").json_body
    assert first["version"] == 1
    body = {"credentials": {"accessToken": "billy-access-token-other-002"}, "version": 1}
    assert call(api, "PUT", "/integrations/billy", body, admin.headers()).json_body["version"] == 2
    stale = call(api, "PUT", "/integrations/billy", body, admin.headers())
    assert stale.status_code == 409
    loaded = service.load_credentials(admin.tenant_id, Provider.BILLY)
    assert isinstance(loaded, BillyCredentials)
    assert loaded.access_token.get_secret_value() == "billy-access-token-other-002"


def test_each_provider_answers_who_am_i_through_its_adapter(
    api: Any, admin: Account, fake_api: FakeProviderApi
) -> None:
    for provider in Provider:
        assert _connect(api, admin, provider.value).status_code == 200
        result = call(api, "POST", f"/integrations/{provider.value}/test", headers=admin.headers())
        assert result.status_code == 200, result.body
        assert (result.json_body["ok"], result.json_body["account"]) == (True, ACCOUNTS[provider.value]), provider
    paths = {r["path"] for r in fake_api.received}
    assert {"/google/token", "/stripe/v1/account"} <= paths
    listed = call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
    assert all(i["lastTest"]["ok"] for i in listed)


def test_refused_credentials_show_as_failing_with_the_reason_and_in_the_log(
    api: Any, admin: Account, fake_api: FakeProviderApi
) -> None:
    _connect(api, admin, "mercadopago", {"accessToken": "APP_USR-revoked-0123456789"})
    result = call(api, "POST", "/integrations/mercadopago/test", headers=admin.headers()).json_body
    assert (result["ok"], result["account"]) == (False, None)
    assert "refused the credentials (401)" in result["detail"]
    shown = next(
        i
        for i in call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
        if i["provider"] == "mercadopago"
    )
    assert shown["status"] == "failing"
    assert "refused" in shown["lastError"]["message"]
    _connect(api, admin, "mercadopago")
    assert call(api, "POST", "/integrations/mercadopago/test", headers=admin.headers()).json_body["ok"] is True
    shown = next(
        i
        for i in call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
        if i["provider"] == "mercadopago"
    )
    assert (shown["status"], shown["lastError"]) == ("connected", None)
    first = call(api, "GET", "/integrations/mercadopago/logs?limit=1", headers=admin.headers()).json_body
    assert [(e["operation"], e["ok"]) for e in first["items"]] == [("test", True)]
    second = call(
        api, "GET", f"/integrations/mercadopago/logs?limit=1&cursor={first['nextCursor']}", headers=admin.headers()
    ).json_body
    assert [(e["operation"], e["ok"]) for e in second["items"]] == [("test", False)]
    assert "refused" in second["items"][0]["error"]


def test_an_unreachable_provider_is_a_failed_test_not_an_error(
    api: Any, admin: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BTRIX_STRIPE_API_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    get_settings.cache_clear()
    try:
        _connect(api, admin, "stripe")
        result = call(api, "POST", "/integrations/stripe/test", headers=admin.headers())
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.status_code == 200
    assert (result.json_body["ok"], "could not be reached" in result.json_body["detail"]) == (False, True)


def test_adapters_record_syncs_on_the_integration(api: Any, admin: Account) -> None:
    _connect(api, admin, "billy")
    service.record_sync(admin.tenant_id, Provider.BILLY, "poll_invoices", ok=True, detail="3 invoices", duration_ms=42)
    shown = next(
        i
        for i in call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
        if i["provider"] == "billy"
    )
    assert shown["lastSyncAt"] is not None
    assert shown["status"] == "connected"
    service.record_sync(admin.tenant_id, Provider.BILLY, "poll_invoices", ok=False, error="Billy answered 503")
    shown = next(
        i
        for i in call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
        if i["provider"] == "billy"
    )
    assert (shown["status"], shown["lastError"]["message"]) == ("failing", "Billy answered 503")
    logs = call(api, "GET", "/integrations/billy/logs", headers=admin.headers()).json_body["items"]
    assert [(e["ok"], e.get("detail"), e.get("durationMs")) for e in logs] == [
        (False, None, None),
        (True, "3 invoices", 42),
    ]


def test_disconnecting_forgets_the_credentials(api: Any, admin: Account) -> None:
    _connect(api, admin, "meta")
    assert call(api, "DELETE", "/integrations/meta", headers=admin.headers()).status_code == 204
    assert Table().get(*integration_key(admin.tenant_id, Provider.META), consistent=True) is None
    assert call(api, "DELETE", "/integrations/meta", headers=admin.headers()).status_code == 404
    assert call(api, "POST", "/integrations/meta/test", headers=admin.headers()).status_code == 404
    shown = call(api, "GET", "/integrations", headers=admin.headers()).json_body["items"]
    assert next(i for i in shown if i["provider"] == "meta")["connected"] is False


def test_another_tenant_sees_none_of_it(api: Any, admin: Account) -> None:
    _connect(api, admin, "twilio")
    other, _ = signup(api, plan="corporativo")
    listed = call(api, "GET", "/integrations", headers=other.headers()).json_body["items"]
    assert not any(i["connected"] for i in listed)
    assert call(api, "POST", "/integrations/twilio/test", headers=other.headers()).status_code == 404
    assert call(api, "GET", "/integrations/twilio/logs", headers=other.headers()).json_body["items"] == []
