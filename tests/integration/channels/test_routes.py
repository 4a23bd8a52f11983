"""/channels: connecting WhatsApp numbers and Bitrix24 portals, validation, one tenant per number, the list with
health, changes with version checks, deletion with its routes."""

from __future__ import annotations

from typing import Any

import httpx

from chalicelib.access.permissions import Role
from chalicelib.channels import service
from chalicelib.core.db.store import Table
from chalicelib.inbound.routing import find_bitrix_portal, find_whatsapp_route
from chalicelib.integrations.bitrix24.client import CONNECTOR_ID
from tests.integration.channels.conftest import connect_number, connect_portal, number_body, phone_number_id
from tests.support.identity import Account, add_user, call, signup


def _raw_channel(tenant_id: str, channel_id: str) -> dict[str, Any]:
    from chalicelib.channels.store import channel_key

    item = Table().get(*channel_key(tenant_id, channel_id), consistent=True)
    assert item is not None
    return item


def test_connect_whatsapp_keeps_the_secrets_encrypted_and_routes_the_number(api: Any, admin: Account) -> None:
    body = number_body(displayPhoneNumber="+55 11 4000-0000")
    created = call(api, "POST", "/channels/whatsapp", body, admin.headers())

    assert created.status_code == 201, created.body
    channel = created.json_body
    assert (channel["kind"], channel["status"], channel["phoneNumberId"]) == (
        "whatsapp",
        "connected",
        body["phoneNumberId"],
    )
    shown = created.body.decode()
    for secret in (body["accessToken"], body["appSecret"], body["verifyToken"]):
        assert secret not in shown
        assert secret not in str(_raw_channel(admin.tenant_id, channel["id"]))
    route = find_whatsapp_route(body["phoneNumberId"])
    assert route is not None
    assert (route.tenant_id, route.channel_id) == (admin.tenant_id, channel["id"])
    number = service.meta_number(admin.tenant_id, channel["id"])
    assert (number.phone_number_id, number.access_token) == (body["phoneNumberId"], body["accessToken"])


def test_invalid_bodies_are_422_naming_each_field(api: Any, admin: Account) -> None:
    empty = call(api, "POST", "/channels/whatsapp", {}, admin.headers())
    assert empty.status_code == 422
    named = {e["field"] for e in empty.json_body["errors"]}
    assert named >= {f"body.{f}" for f in ("phoneNumberId", "wabaId", "accessToken", "appSecret", "verifyToken")}

    bad = call(api, "POST", "/channels/whatsapp", number_body(phoneNumberId="12ab", line="x"), admin.headers())
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json_body["errors"]} >= {"body.phoneNumberId", "body.line"}

    unknown_portal = number_body(portalId="01J0000000000000000000PRTL", line="3")
    refused = call(api, "POST", "/channels/whatsapp", unknown_portal, admin.headers())
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json_body["errors"]] == ["body.portalId"]
    assert find_whatsapp_route(unknown_portal["phoneNumberId"]) is None


def test_a_number_belongs_to_one_tenant(api: Any, admin: Account) -> None:
    body = number_body()
    connect_number(api, admin, phoneNumberId=body["phoneNumberId"])
    other, _ = signup(api, plan="corporativo")

    taken = call(api, "POST", "/channels/whatsapp", body, other.headers())
    again = call(api, "POST", "/channels/whatsapp", body, admin.headers())

    assert taken.status_code == 409
    assert taken.json_body["errors"][0]["field"] == "body.phoneNumberId"
    assert "another account" in taken.json_body["detail"]
    assert again.status_code == 409
    listed = call(api, "GET", "/channels", headers=other.headers()).json_body["items"]
    assert listed == []
    route = find_whatsapp_route(body["phoneNumberId"])
    assert route is not None
    assert route.tenant_id == admin.tenant_id


def test_an_idempotency_key_creates_the_number_once(api: Any, admin: Account) -> None:
    body = number_body()
    headers = admin.headers(**{"Idempotency-Key": "connect-loja-1"})

    first = call(api, "POST", "/channels/whatsapp", body, headers)
    second = call(api, "POST", "/channels/whatsapp", body, headers)

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json_body["id"] == second.json_body["id"]
    assert len(call(api, "GET", "/channels", headers=admin.headers()).json_body["items"]) == 1


def test_the_list_shows_numbers_and_portals_with_their_health_to_readers(api: Any, admin: Account, bitrix: Any) -> None:
    number = connect_number(api, admin)
    pending = call(api, "POST", "/channels/bitrix24", {"name": "Filial"}, admin.headers())
    assert pending.status_code == 201, pending.body
    service.record_activity(admin.tenant_id, number["id"], inbound_at="2025-03-01T10:00:00.000Z")
    service.record_activity(admin.tenant_id, number["id"], error="Meta 131047: outside the window")
    # a redriven old message is noted late: the channel's last activity does not move back
    service.record_activity(
        admin.tenant_id, number["id"], inbound_at="2025-02-01T10:00:00.000Z", outbound_at="2025-02-01T10:00:05.000Z"
    )
    agent = add_user(api, admin, Role.AGENT)

    listed = call(api, "GET", "/channels?limit=10", headers=agent.headers())

    assert listed.status_code == 200
    items = {item["id"]: item for item in listed.json_body["items"]}
    assert list(items) == [pending.json_body["id"], number["id"]]  # newest first
    portal = items[pending.json_body["id"]]
    assert (portal["kind"], portal["status"], portal["name"]) == ("bitrix24", "pending", "Filial")
    assert portal["connectExpiresAt"]
    assert "handlerUrl" not in portal
    health = items[number["id"]]
    assert health["lastInboundAt"] == "2025-03-01T10:00:00.000Z"
    assert health["lastOutboundAt"] == "2025-02-01T10:00:05.000Z"
    assert health["lastError"] == "Meta 131047: outside the window"
    assert health["lastErrorAt"]
    assert call(api, "POST", "/channels/whatsapp", number_body(), agent.headers()).status_code == 403


def test_patch_maps_a_number_to_a_connected_portal_and_activates_its_line(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    portal = connect_portal(api, hooks, bitrix, admin)
    number = connect_number(api, admin)

    mapped = call(
        api,
        "PATCH",
        f"/channels/{number['id']}",
        {
            "version": number["version"],
            "portalId": portal.id,
            "line": "12",
            "template": {"name": "retomar", "language": "pt_BR"},
        },
        admin.headers(),
    )
    stale = call(
        api, "PATCH", f"/channels/{number['id']}", {"version": number["version"], "name": "X"}, admin.headers()
    )

    assert mapped.status_code == 200, mapped.body
    assert (mapped.json_body["portalId"], mapped.json_body["line"]) == (portal.id, "12")
    assert mapped.json_body["version"] == number["version"] + 1
    assert bitrix.portal(portal.domain).lines[(CONNECTOR_ID, "12")] is True
    assert stale.status_code == 409
    record = service.get_whatsapp_channel(admin.tenant_id, number["id"])
    assert record.template is not None
    assert record.template.name == "retomar"

    unmapped = call(
        api,
        "PATCH",
        f"/channels/{number['id']}",
        {"version": mapped.json_body["version"], "portalId": None, "line": None, "template": None},
        admin.headers(),
    )
    assert unmapped.status_code == 200, unmapped.body
    assert (unmapped.json_body["portalId"], unmapped.json_body["line"], unmapped.json_body["template"]) == (
        None,
        None,
        None,
    )
    assert bitrix.portal(portal.domain).lines[(CONNECTOR_ID, "12")] is False  # the line is released


def test_a_portal_has_only_a_name_to_change(api: Any, admin: Account, bitrix: Any) -> None:
    pending = call(api, "POST", "/channels/bitrix24", {}, admin.headers()).json_body

    refused = call(
        api,
        "PATCH",
        f"/channels/{pending['id']}",
        {"version": 1, "portalId": pending["id"], "line": "1"},
        admin.headers(),
    )
    renamed = call(api, "PATCH", f"/channels/{pending['id']}", {"version": 1, "name": "Matriz"}, admin.headers())

    assert refused.status_code == 422
    assert {e["field"] for e in refused.json_body["errors"]} == {"body.portalId", "body.line"}
    assert (renamed.status_code, renamed.json_body["name"]) == (200, "Matriz")


def test_delete_removes_the_number_and_its_route(api: Any, admin: Account) -> None:
    number = connect_number(api, admin)

    deleted = call(api, "DELETE", f"/channels/{number['id']}", headers=admin.headers())

    assert deleted.status_code == 204
    assert call(api, "GET", f"/channels/{number['id']}", headers=admin.headers()).status_code == 404
    assert find_whatsapp_route(number["phoneNumberId"]) is None
    other, _ = signup(api, plan="corporativo")
    reconnected = call(
        api, "POST", "/channels/whatsapp", number_body(phoneNumberId=number["phoneNumberId"]), other.headers()
    )
    assert reconnected.status_code == 201


def test_a_portal_relaying_numbers_is_deleted_only_once_they_are_unmapped(
    api: Any, admin: Account, hooks: httpx.Client, bitrix: Any
) -> None:
    portal = connect_portal(api, hooks, bitrix, admin)
    number = connect_number(api, admin, portalId=portal.id, line="4", phoneNumberId=phone_number_id())

    sharing = connect_number(api, admin, portalId=portal.id, line="4", phoneNumberId=phone_number_id())
    lines = bitrix.portal(portal.domain).lines

    refused = call(api, "DELETE", f"/channels/{portal.id}", headers=admin.headers())
    assert refused.status_code == 409
    assert number["id"] in refused.json_body["errors"][0]["message"]
    call(api, "DELETE", f"/channels/{number['id']}", headers=admin.headers())
    assert lines[(CONNECTOR_ID, "4")] is True  # another number still relays to line 4
    call(api, "DELETE", f"/channels/{sharing['id']}", headers=admin.headers())
    assert lines[(CONNECTOR_ID, "4")] is False
    deleted = call(api, "DELETE", f"/channels/{portal.id}", headers=admin.headers())

    assert deleted.status_code == 204
    assert find_bitrix_portal(portal.member_id) is None
    assert CONNECTOR_ID not in bitrix.portal(portal.domain).connectors  # gone from the Open Lines too
