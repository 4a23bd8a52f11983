"""A portal installs the app from its handler URL: through the real Bitrix24 webhook function and the queued event,
the portal is connected (tokens stored encrypted), the connector registered and mapped lines activated; an
uninstall disconnects it and stops routing its events; a new link reconnects it."""

from __future__ import annotations

from typing import Any

import httpx

from chalicelib.channels import store
from chalicelib.channels.install import handle_portal_event
from chalicelib.core.db.store import Table
from chalicelib.core.ids import new_id
from chalicelib.core.resources import QueueKind
from chalicelib.inbound.routing import find_bitrix_portal
from chalicelib.integrations.bitrix24.client import CONNECTOR_ID
from tests.integration.channels.conftest import connect_number, install
from tests.support.gateway import bitrix_event
from tests.support.identity import Account, call
from tests.support.inbound_hooks import take_messages

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _get(api: Any, admin: Account, channel_id: str) -> dict[str, Any]:
    answer = call(api, "GET", f"/channels/{channel_id}", headers=admin.headers())
    assert answer.status_code == 200, answer.body
    return dict(answer.json_body)


def test_install_connects_the_portal_registers_the_connector_and_activates_mapped_lines(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    created = call(api, "POST", "/channels/bitrix24", {"name": "CRM"}, admin.headers()).json_body
    assert created["status"] == "pending"
    assert created["handlerUrl"].startswith(f"{hooks.base_url}/bitrix24?connect=")
    number = connect_number(api, admin, portalId=created["id"], line="7")
    domain, member_id = f"p{new_id().lower()}.bitrix24.com", f"m{new_id().lower()}"

    queued = install(hooks, bitrix, created["handlerUrl"], domain, member_id)
    auth = queued.pop("fakeAuth")
    assert (queued["event"], queued["portalId"], queued["tenantId"]) == ("ONAPPINSTALL", created["id"], admin.tenant_id)
    handle_portal_event(queued)

    portal = _get(api, admin, created["id"])
    assert (portal["status"], portal["domain"], portal["memberId"]) == ("connected", domain, member_id)
    assert portal["tokenExpiresAt"] > portal["connectedAt"]
    fake = bitrix.portal(domain)
    connector = fake.connectors[CONNECTOR_ID]
    assert connector["ICON"]["DATA_IMAGE"].startswith("data:image/svg+xml")
    assert connector["HANDLER"] == f"{hooks.base_url}/bitrix24"
    assert fake.lines == {(CONNECTOR_ID, "7"): True}
    assert number["portalId"] == created["id"]
    raw = Table().get(*store.token_key(admin.tenant_id, created["id"]), consistent=True)
    assert raw is not None
    assert auth["access_token"] not in str(raw)
    assert auth["refresh_token"] not in str(raw)
    route = find_bitrix_portal(member_id)
    assert route is not None
    assert route.portal_id == created["id"]


def test_a_redelivered_install_keeps_the_tokens_it_stored_and_changes_nothing(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    created = call(api, "POST", "/channels/bitrix24", {}, admin.headers()).json_body
    queued = install(hooks, bitrix, created["handlerUrl"], f"p{new_id().lower()}.bitrix24.com", f"m{new_id().lower()}")
    queued.pop("fakeAuth")
    handle_portal_event(queued)
    first = _get(api, admin, created["id"])
    tokens = store.get_tokens(admin.tenant_id, created["id"])
    assert tokens is not None

    handle_portal_event(queued)

    assert _get(api, admin, created["id"]) == first
    again = store.get_tokens(admin.tenant_id, created["id"])
    assert again is not None
    assert again.token_version == tokens.token_version == 1


def test_uninstall_disconnects_the_portal_and_its_later_events_are_refused(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    created = call(api, "POST", "/channels/bitrix24", {}, admin.headers()).json_body
    member_id = f"m{new_id().lower()}"
    queued = install(hooks, bitrix, created["handlerUrl"], f"p{new_id().lower()}.bitrix24.com", member_id)
    auth = queued.pop("fakeAuth")
    handle_portal_event(queued)
    event_auth = {k: auth[k] for k in ("domain", "member_id", "application_token")}

    posted = hooks.post("/bitrix24", content=bitrix_event("ONAPPUNINSTALL", event_auth, {"CLEAN": "0"}), headers=FORM)
    assert posted.status_code == 200, posted.text
    uninstall = take_messages(QueueKind.BITRIX24_OUTBOUND, lambda b: b.get("memberId") == member_id)[0][0]
    handle_portal_event(uninstall)
    handle_portal_event(uninstall)

    portal = _get(api, admin, created["id"])
    assert portal["status"] == "disconnected"
    assert "uninstalled" in portal["disconnectedReason"]
    assert find_bitrix_portal(member_id) is None
    assert store.get_tokens(admin.tenant_id, created["id"]) is None
    later = hooks.post("/bitrix24", content=bitrix_event("ONIMCONNECTORMESSAGEADD", event_auth, {}), headers=FORM)
    assert later.status_code == 401


def test_a_new_link_reconnects_a_disconnected_portal(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    created = call(api, "POST", "/channels/bitrix24", {}, admin.headers()).json_body
    domain, member_id = f"p{new_id().lower()}.bitrix24.com", f"m{new_id().lower()}"
    queued = install(hooks, bitrix, created["handlerUrl"], domain, member_id)
    auth = queued.pop("fakeAuth")
    handle_portal_event(queued)
    uninstall_auth = {k: auth[k] for k in ("domain", "member_id", "application_token")}
    hooks.post("/bitrix24", content=bitrix_event("ONAPPUNINSTALL", uninstall_auth, {}), headers=FORM)
    handle_portal_event(take_messages(QueueKind.BITRIX24_OUTBOUND, lambda b: b.get("memberId") == member_id)[0][0])

    link = call(api, "POST", f"/channels/{created['id']}/connect", headers=admin.headers())
    assert link.status_code == 200, link.body
    assert link.json_body["handlerUrl"] != created["handlerUrl"]
    queued = install(hooks, bitrix, link.json_body["handlerUrl"], domain, member_id)
    queued.pop("fakeAuth")
    handle_portal_event(queued)

    portal = _get(api, admin, created["id"])
    assert portal["status"] == "connected"
    assert portal["disconnectedReason"] is None


def test_the_used_install_link_does_not_connect_again(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    created = call(api, "POST", "/channels/bitrix24", {}, admin.headers()).json_body
    install(hooks, bitrix, created["handlerUrl"], f"p{new_id().lower()}.bitrix24.com", f"m{new_id().lower()}")
    other = f"m{new_id().lower()}"
    auth = bitrix.install(f"p{new_id().lower()}.bitrix24.com", other)

    refused = hooks.post(
        f"/bitrix24?connect={created['handlerUrl'].split('connect=')[1]}",
        content=bitrix_event("ONAPPINSTALL", auth, {}),
        headers=FORM,
    )

    assert refused.status_code == 401
    assert find_bitrix_portal(other) is None


def test_installing_a_portal_through_a_second_channel_disconnects_the_first(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    first = call(api, "POST", "/channels/bitrix24", {"name": "Matriz"}, admin.headers()).json_body
    domain, member_id = f"p{new_id().lower()}.bitrix24.com", f"m{new_id().lower()}"
    queued = install(hooks, bitrix, first["handlerUrl"], domain, member_id)
    queued.pop("fakeAuth")
    handle_portal_event(queued)
    second = call(api, "POST", "/channels/bitrix24", {"name": "Filial"}, admin.headers()).json_body

    queued = install(hooks, bitrix, second["handlerUrl"], domain, member_id)
    queued.pop("fakeAuth")
    handle_portal_event(queued)

    route = find_bitrix_portal(member_id)
    assert route is not None
    assert route.portal_id == second["id"]
    assert _get(api, admin, second["id"])["status"] == "connected"
    older = _get(api, admin, first["id"])
    assert older["status"] == "disconnected"
    assert "Filial" in older["disconnectedReason"]
    assert store.get_tokens(admin.tenant_id, first["id"]) is None
