"""Leads over HTTP: duplicates refused or merged, own-versus-all lists, follow-ups (list and reminder), the flow,
and the conversion into a sale (customer found or created, one transaction, one winner)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.notifications.outbox import list_messages
from tests.support.commerce import WrittenEvent
from tests.support.identity import Account, call
from tests.support.sales import SalesTeam, create_service, customer, dkk, sales_team


@pytest.fixture(scope="module")
def team(api: Any) -> SalesTeam:
    return sales_team(api)


@pytest.fixture(scope="module")
def windows(api: Any, team: SalesTeam) -> dict[str, Any]:
    return dict(create_service(api, team.admin, name="Vinduespudsning", price="400.00"))


def _email() -> str:
    from chalicelib.core.ids import new_id

    return f"lead-{new_id().lower()}@example.dk"


def _post(api: Any, account: Account, **fields: Any) -> Any:
    return call(api, "POST", "/leads", {"contactName": "Søren Kierkegaard", **fields}, account.headers())


def _lead(api: Any, account: Account, **fields: Any) -> dict[str, Any]:
    response = _post(api, account, **fields)
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def _get(api: Any, account: Account, path: str) -> Any:
    return call(api, "GET", path, headers=account.headers())


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.body
    return [item["id"] for item in response.json_body["items"]]


def _move(api: Any, account: Account, lead: dict[str, Any], to: str) -> dict[str, Any]:
    response = call(
        api, "POST", f"/leads/{lead['id']}/transitions", {"to": to, "version": lead["version"]}, account.headers()
    )
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def _qualified(api: Any, account: Account, **fields: Any) -> dict[str, Any]:
    lead = _lead(api, account, **fields)
    return _move(api, account, _move(api, account, lead, "CONTACTED"), "QUALIFIED")


def _convert(api: Any, account: Account, lead: dict[str, Any], **fields: Any) -> Any:
    body = {"version": lead["version"], **fields}
    return call(api, "POST", f"/leads/{lead['id']}/convert", body, account.headers())


def test_a_new_lead_is_the_callers_with_a_follow_up_tomorrow_and_its_service_named(
    api: Any, team: SalesTeam, windows: dict[str, Any], written_events: list[WrittenEvent]
) -> None:
    lead = _lead(
        api, team.rep, contactEmail=_email(), interestServiceId=windows["id"], estimatedValue=dkk("800"), source="phone"
    )
    assert (lead["status"], lead["ownerId"], lead["interestServiceName"]) == (
        "NEW",
        team.rep.user_id,
        "Vinduespudsning",
    )
    follow_up = datetime.fromisoformat(lead["followUpAt"]) - datetime.fromisoformat(lead["createdAt"])
    assert follow_up == timedelta(days=1)
    [event] = [e for e in written_events if e.type == "lead.created"]
    assert event.data["lead"]["estimatedValue"] == dkk("800.00")
    assert event.data["lead"]["ownerId"] == team.rep.user_id


def test_a_second_lead_with_the_same_contact_is_refused_naming_the_first_or_merged_into_it(
    api: Any, team: SalesTeam, windows: dict[str, Any]
) -> None:
    email = _email()
    first = _lead(api, team.rep, contactEmail=email, notes="Ringede mandag")
    again = _post(api, team.manager, contactEmail=email.upper(), contactPhone="+4520304050")
    assert again.status_code == 409
    assert again.json_body["errors"][0]["field"] == "body.contactEmail"
    assert first["id"] in again.json_body["detail"]
    merged = _post(
        api,
        team.manager,
        contactEmail=email,
        contactPhone="+4520304050",
        interestServiceId=windows["id"],
        notes="Skrev igen onsdag",
        onDuplicate="merge",
    )
    assert merged.status_code == 200, merged.body
    lead = merged.json_body
    assert (lead["id"], lead["contactPhone"], lead["interestServiceId"]) == (first["id"], "+4520304050", windows["id"])
    assert lead["notes"].startswith("Ringede mandag")
    assert "Skrev igen onsdag" in lead["notes"]
    by_phone = _post(api, team.manager, contactPhone="+45 20 30 40 50")
    assert by_phone.status_code == 409
    assert by_phone.json_body["errors"][0]["field"] == "body.contactPhone"
    _move(api, team.rep, lead, "LOST")
    assert _post(api, team.rep, contactEmail=email).status_code == 201  # a closed lead frees its contact


def test_a_rep_sees_and_changes_only_its_own_leads(api: Any, team: SalesTeam) -> None:
    mine = _lead(api, team.rep)
    theirs = _lead(api, team.other_rep)
    unassigned = _lead(api, team.manager)
    listed = _ids(_get(api, team.rep, "/leads?limit=100"))
    assert mine["id"] in listed
    assert theirs["id"] not in listed
    assert unassigned["id"] not in listed
    assert _get(api, team.rep, f"/leads?ownerId={team.other_rep.user_id}").status_code == 403
    assert _get(api, team.rep, f"/leads/{theirs['id']}").status_code == 403
    patch = {"version": 1, "notes": "mine now"}
    assert call(api, "PATCH", f"/leads/{theirs['id']}", patch, team.rep.headers()).status_code == 403
    give = {"version": 1, "ownerId": team.other_rep.user_id}
    assert call(api, "PATCH", f"/leads/{mine['id']}", give, team.rep.headers()).status_code == 403
    assert _post(api, team.rep, ownerId=team.other_rep.user_id).status_code == 403
    for reader in (team.manager, team.viewer):
        assert {mine["id"], theirs["id"]} <= set(_ids(_get(api, reader, "/leads?limit=100")))
    assert _post(api, team.viewer).status_code == 403
    moved = call(api, "PATCH", f"/leads/{theirs['id']}", give | {"ownerId": team.rep.user_id}, team.manager.headers())
    assert moved.status_code == 200
    assert theirs["id"] in _ids(_get(api, team.rep, "/leads?status=NEW&limit=100"))
    assert theirs["id"] not in _ids(_get(api, team.other_rep, "/leads?limit=100"))


def test_follow_ups_due_are_listed_soonest_first_and_leave_when_the_lead_closes(api: Any) -> None:
    team = sales_team(api)
    now = datetime.now(UTC)
    later, sooner, far = (now + timedelta(hours=h) for h in (5, 2, 48))
    a = _lead(api, team.rep, followUpAt=later.isoformat())
    b = _lead(api, team.rep, followUpAt=sooner.isoformat())
    c = _lead(api, team.other_rep, followUpAt=far.isoformat())
    due = (now + timedelta(hours=6)).isoformat().replace("+00:00", "Z")
    assert _ids(_get(api, team.manager, f"/leads?followUpDue={due}")) == [b["id"], a["id"]]
    assert _ids(_get(api, team.other_rep, f"/leads?followUpDue={due}")) == []
    assert c["id"] in _ids(_get(api, team.other_rep, "/leads?followUpDue=2099-01-01T00:00:00Z"))
    _move(api, team.rep, b, "LOST")
    assert _ids(_get(api, team.rep, f"/leads?followUpDue={due}")) == [a["id"]]
    mixed = _get(api, team.rep, f"/leads?followUpDue={due}&status=NEW")
    assert mixed.status_code == 422
    assert mixed.json_body["errors"][0]["field"] == "query.status"


def test_the_owner_is_reminded_when_the_follow_up_is_due(api: Any, team: SalesTeam, drain: Any) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    lead = _lead(api, team.rep, followUpAt=soon)

    def reminded() -> bool:
        return any(
            m.template == "lead.follow_up" and m.to == f"user:{team.rep.user_id}" for m in list_messages(team.tenant_id)
        )

    drain(reminded, timeout_s=60)
    message = next(m for m in list_messages(team.tenant_id) if m.template == "lead.follow_up")
    assert message.channel == "email"
    assert message.variables["entityId"] == lead["id"]


def test_a_lead_moves_along_its_flow_but_converts_only_through_the_conversion(
    api: Any, team: SalesTeam, windows: dict[str, Any]
) -> None:
    lead = _move(api, team.rep, _lead(api, team.rep), "CONTACTED")
    history = _get(api, team.rep, f"/leads/{lead['id']}/history").json_body["items"]
    assert [(h["from"], h["to"]) for h in history] == [("NEW", "CONTACTED")]
    qualified = _move(api, team.rep, lead, "QUALIFIED")
    direct = call(
        api,
        "POST",
        f"/leads/{lead['id']}/transitions",
        {"to": "CONVERTED", "version": qualified["version"]},
        team.rep.headers(),
    )
    assert direct.status_code == 422
    assert direct.json_body["errors"][0]["code"] == "use-convert"
    early = _convert(api, team.rep, _lead(api, team.rep), serviceId=windows["id"])
    assert early.status_code == 409
    assert early.json_body["type"].endswith("not-convertible")
    unknown = _convert(api, team.rep, _lead(api, team.rep), serviceId="x")  # ids are checked before the status
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json_body["errors"]] == ["body.serviceId"]


def test_converting_a_lead_links_the_customer_with_its_email_and_makes_an_accepted_sale(
    api: Any, team: SalesTeam, windows: dict[str, Any], written_events: list[WrittenEvent]
) -> None:
    email = _email()
    known = customer(api, team.admin, name="Karen Blixen", email=email)
    lead = _qualified(
        api, team.rep, contactEmail=email, interestServiceId=windows["id"], estimatedValue=dkk("600"), source="email"
    )
    response = _convert(api, team.rep, lead, notes="Første gang")
    assert response.status_code == 201, response.body
    result = response.json_body
    sale = result["sale"]
    assert (result["customerId"], result["customerCreated"]) == (known["id"], False)
    assert (result["lead"]["status"], result["lead"]["convertedSaleId"]) == ("CONVERTED", sale["id"])
    assert (sale["status"], sale["source"], sale["assignedTo"]) == ("ACCEPTED", "email", team.rep.user_id)
    assert sale["origin"]["leadId"] == lead["id"]
    assert sale["amounts"]["base"] == dkk("600.00")
    assert sale["amounts"]["final"] == dkk("750.00")
    assert sale["serviceId"] == windows["id"]
    [converted] = [e for e in written_events if e.type == "lead.converted"]
    assert (converted.data["saleId"], converted.data["customerCreated"]) == (sale["id"], False)
    again = _convert(api, team.rep, result["lead"])
    assert again.status_code == 409
    assert sale["id"] in again.json_body["detail"]
    assert _post(api, team.rep, contactEmail=email).status_code == 201  # converted: its email is free again


def test_converting_a_lead_nobody_knows_creates_its_customer(
    api: Any, team: SalesTeam, windows: dict[str, Any]
) -> None:
    email = _email()
    lead = _qualified(api, team.manager, contactEmail=email, contactPhone="+4531313131")
    response = _convert(api, team.manager, lead, serviceId=windows["id"], assignedTo=team.rep.user_id)
    assert response.status_code == 201, response.body
    result = response.json_body
    assert result["customerCreated"] is True
    made = _get(api, team.admin, f"/customers/{result['customerId']}").json_body
    assert (made["name"], made["email"], made["phone"]) == ("Søren Kierkegaard", email, "+4531313131")
    assert result["sale"]["assignedTo"] == team.rep.user_id
    assert result["sale"]["amounts"]["base"] == dkk("400.00")  # no estimate: the service's price
    missing = _convert(api, team.manager, _qualified(api, team.manager))
    assert missing.status_code == 422
    assert missing.json_body["errors"][0]["field"] == "body.serviceId"


def test_two_conversions_of_one_lead_at_once_make_one_sale(api: Any, team: SalesTeam, windows: dict[str, Any]) -> None:
    from chalicelib.access.permissions import Module
    from chalicelib.access.principal import Principal
    from chalicelib.core.db.store import tenant_scope
    from chalicelib.leads import conversion
    from chalicelib.leads.models import ConvertLeadRequest

    buyer = customer(api, team.admin, name="Hans Christian Andersen")
    lead = _qualified(api, team.rep, interestServiceId=windows["id"])
    body = ConvertLeadRequest.model_validate({"version": lead["version"], "customerId": buyer["id"]})
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def convert(account: Account) -> None:
        principal = Principal(account.user_id, account.tenant_id, account.role, account.email, frozenset(Module))
        barrier.wait()
        try:
            with tenant_scope(account.tenant_id):
                outcomes.append(conversion.convert_lead(principal, lead["id"], body, None).sale.id)
        except Exception as exc:  # noqa: BLE001 - the loser's error is what the test looks at
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=convert, args=(who,)) for who in (team.rep, team.manager)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sales = _ids(_get(api, team.manager, f"/sales?customerId={buyer['id']}"))
    assert len(sales) == 1
    assert sorted(outcomes) == sorted([sales[0], "VersionConflict"])
    assert _get(api, team.rep, f"/leads/{lead['id']}").json_body["convertedSaleId"] == sales[0]


def test_a_whatsapp_conversation_becomes_a_lead_and_its_sale_keeps_that_origin(
    api: Any, team: SalesTeam, windows: dict[str, Any]
) -> None:
    from tests.support.entities import create_conversation

    conversation_id, _ = create_conversation(team.admin)
    path = f"/conversations/{conversation_id}/lead"
    assert call(api, "POST", path, {}, team.rep.headers()).status_code == 403  # no conversations:read
    made = call(
        api, "POST", path, {"interestServiceId": windows["id"], "notes": "Spurgte om pris"}, team.manager.headers()
    )
    assert made.status_code == 201, made.body
    lead = made.json_body
    assert (lead["source"], lead["contactPhone"], lead["origin"]["conversationId"]) == (
        "whatsapp",
        "+5511987654321",
        conversation_id,
    )
    again = call(api, "POST", path, {"notes": "Igen"}, team.manager.headers())
    assert (again.status_code, again.json_body["id"]) == (200, lead["id"])
    lead = _move(api, team.manager, _move(api, team.manager, again.json_body, "CONTACTED"), "QUALIFIED")
    sale = _convert(api, team.manager, lead).json_body["sale"]
    assert (sale["source"], sale["origin"]["conversationId"], sale["origin"]["leadId"]) == (
        "whatsapp",
        conversation_id,
        lead["id"],
    )
    assert call(api, "POST", "/conversations/01NOSUCH/lead", {}, team.manager.headers()).status_code == 404
    # Who may not read conversations learns nothing of an id: 403 whether it exists or not.
    assert call(api, "POST", "/conversations/01NOSUCH/lead", {}, team.rep.headers()).status_code == 403
