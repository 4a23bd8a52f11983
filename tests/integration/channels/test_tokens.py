"""Tokens in use: an expired token is refreshed once for all concurrent callers; a portal that refuses the app is
disconnected and its ADMINs are emailed; the schedule refreshes only tokens near expiry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest

from chalicelib.channels import store, tokens
from chalicelib.core import clock
from chalicelib.core.db.store import Table
from chalicelib.integrations.bitrix24.client import Bitrix24Error
from chalicelib.notifications.outbox import list_messages
from tests.integration.channels.conftest import Portal, connect_portal
from tests.support.identity import Account, call

OWN_APP = {"clientId": "local.tenant.app.77", "clientSecret": "tenant-app-secret-77"}


@pytest.fixture(autouse=True)
def healthy(bitrix: Any) -> Any:
    """Every test starts and ends with a well-behaved fake."""
    bitrix.configure(invalidGrant=False, failRate=0, failNext=0, failStatus=503, failError="QUERY_LIMIT_EXCEEDED")
    yield
    bitrix.configure(invalidGrant=False, failRate=0, failNext=0, failStatus=503, failError="QUERY_LIMIT_EXCEEDED")


def _status(api: Any, admin: Account, portal: Portal) -> dict[str, Any]:
    return dict(call(api, "GET", f"/channels/{portal.id}", headers=admin.headers()).json_body)


def _version(admin: Account, portal: Portal) -> int:
    found = store.get_tokens(admin.tenant_id, portal.id)
    assert found is not None
    return found.token_version


def test_concurrent_calls_with_an_expired_token_refresh_it_exactly_once(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    portal = connect_portal(api, hooks, bitrix, admin, app=OWN_APP)
    bitrix.configure(expireTokens=True)
    before = bitrix.refreshes

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: tokens.portal_call(admin.tenant_id, portal.id, "profile", {}), range(8)))

    assert [r["NAME"] for r in results] == ["Ana"] * 8
    assert bitrix.refreshes - before == 1
    refresh = [r for r in bitrix.received if r.get("kind") == "oauth"][-1]
    assert refresh["body"]["client_id"] == OWN_APP["clientId"]
    assert _version(admin, portal) == 2
    assert _status(api, admin, portal)["status"] == "connected"


def test_a_portal_on_btrix_app_refreshes_with_btrix_app_credentials(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    portal = connect_portal(api, hooks, bitrix, admin)
    bitrix.configure(expireTokens=True)

    assert tokens.portal_call(admin.tenant_id, portal.id, "profile", {})["ID"] == "1"

    refresh = [r for r in bitrix.received if r.get("kind") == "oauth"][-1]
    assert refresh["body"]["client_id"] == "local.btrix.app"  # localdev/webhook_secrets.json
    assert _version(admin, portal) == 2


def test_invalid_grant_disconnects_the_portal_and_emails_the_admins_once(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    portal = connect_portal(api, hooks, bitrix, admin, app=OWN_APP)
    bitrix.configure(expireTokens=True, invalidGrant=True)

    with pytest.raises(Bitrix24Error) as refused:
        tokens.portal_call(admin.tenant_id, portal.id, "imconnector.send.messages", {})
    with pytest.raises(Bitrix24Error) as later:
        tokens.portal_call(admin.tenant_id, portal.id, "profile", {})

    assert (refused.value.code, refused.value.fatal) == ("invalid_grant", True)
    assert later.value.code == "PORTAL_NOT_CONNECTED"
    shown = _status(api, admin, portal)
    assert shown["status"] == "disconnected"
    assert "invalid_grant" in shown["disconnectedReason"]
    assert "invalid_grant" in shown["lastError"]
    emails = [m for m in list_messages(admin.tenant_id, limit=50) if m.template == tokens.DISCONNECTED_TEMPLATE]
    assert len(emails) == 1
    assert (emails[0].channel, emails[0].to, emails[0].status) == ("email", "role:ADMIN", "queued")
    assert emails[0].variables["portalDomain"] == portal.domain
    raw = Table().get(*store.token_key(admin.tenant_id, portal.id), consistent=True)
    assert raw is not None  # kept, but off the refresh schedule
    assert "GSI1PK" not in raw


def test_payment_required_disconnects_the_portal(api: Any, admin: Account, hooks: httpx.Client, bitrix: Any) -> None:
    portal = connect_portal(api, hooks, bitrix, admin, app=OWN_APP)
    bitrix.configure(failNext=1, failStatus=402, failError="PAYMENT_REQUIRED")

    with pytest.raises(Bitrix24Error) as refused:
        tokens.portal_call(admin.tenant_id, portal.id, "profile", {})

    assert refused.value.fatal
    assert _status(api, admin, portal)["status"] == "disconnected"


def test_a_busy_portal_stays_connected_and_the_error_is_retryable(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    portal = connect_portal(api, hooks, bitrix, admin, app=OWN_APP)
    bitrix.configure(failNext=1, failStatus=503, failError="QUERY_LIMIT_EXCEEDED")

    with pytest.raises(Bitrix24Error) as busy:
        tokens.portal_call(admin.tenant_id, portal.id, "profile", {})

    assert busy.value.retryable
    assert not busy.value.fatal
    assert _status(api, admin, portal)["status"] == "connected"
    assert tokens.portal_call(admin.tenant_id, portal.id, "profile", {})["ID"] == "1"


def _expire_in(admin: Account, portal: Portal, delta: timedelta) -> None:
    current = store.get_tokens(admin.tenant_id, portal.id)
    assert current is not None
    moved = current.model_copy(update={"token_expires_at": clock.isoformat(clock.now() + delta)})
    op = store.token_change_op(
        admin.tenant_id, portal.id, set_={"tokenExpiresAt": moved.token_expires_at}, relist=moved
    )
    Table().transact([op])


def test_the_schedule_refreshes_only_tokens_near_expiry(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    soon = connect_portal(api, hooks, bitrix, admin, app=OWN_APP)
    later = connect_portal(api, hooks, bitrix, admin, app=OWN_APP)
    _expire_in(admin, soon, timedelta(minutes=10))
    _expire_in(admin, later, timedelta(minutes=40))
    shown_before = _status(api, admin, soon)["tokenExpiresAt"]

    refreshed = tokens.refresh_due_tokens()

    assert refreshed >= 1
    assert (_version(admin, soon), _version(admin, later)) == (2, 1)
    assert _status(api, admin, soon)["tokenExpiresAt"] > shown_before
    assert tokens.portal_call(admin.tenant_id, soon.id, "profile", {})["ID"] == "1"
    tokens.refresh_due_tokens()
    assert _version(admin, soon) == 2  # its new token expires in an hour: not due again


def test_a_token_about_to_expire_is_refreshed_before_the_call_not_after_a_refusal(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    portal = connect_portal(api, hooks, bitrix, admin, app=OWN_APP)
    _expire_in(admin, portal, timedelta(minutes=2))
    before = bitrix.refreshes
    asked = len([r for r in bitrix.received if r.get("method_name") == "profile"])

    assert tokens.portal_call(admin.tenant_id, portal.id, "profile", {})["ID"] == "1"

    assert bitrix.refreshes - before == 1
    assert _version(admin, portal) == 2
    profile = [r for r in bitrix.received if r.get("method_name") == "profile"]
    assert len(profile) == asked + 1  # one call, with the new token: none was refused
    assert 200 <= int(profile[-1]["status"]) < 300
