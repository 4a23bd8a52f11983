"""Sales over HTTP: numbers, amounts, the status flow to the end, lists by every filter, changes, deletes, and the
service API the invoicing and calendar integrations call."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.access.permissions import Module, Role
from chalicelib.access.principal import Principal
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.pagination import PageParams
from chalicelib.sales import service
from chalicelib.sales.models import CreateSaleRequest
from tests.support.commerce import WrittenEvent, create_product
from tests.support.identity import Account, call
from tests.support.sales import SalesTeam, create_sale, create_service, customer, dkk, move_sale, post_sale, sales_team

YEAR = datetime.now(UTC).astimezone().year


@pytest.fixture(scope="module")
def team(api: Any) -> SalesTeam:
    return sales_team(api)


@pytest.fixture(scope="module")
def cleaning(api: Any, team: SalesTeam) -> dict[str, Any]:
    return dict(create_service(api, team.admin))


def _get(api: Any, account: Account, path: str) -> Any:
    return call(api, "GET", path, headers=account.headers())


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.body
    return [item["id"] for item in response.json_body["items"]]


def test_a_sale_gets_the_next_number_its_amounts_and_the_first_status(api: Any, cleaning: dict[str, Any]) -> None:
    team = sales_team(api)  # a company of its own: its numbering starts at 1
    service_item = create_service(api, team.admin, price="1000.00")
    buyer = customer(api, team.admin)
    first = create_sale(
        api, team.rep, service_item["id"], buyer["id"], discount=dkk("100.00"), source="phone", notes="Ring først"
    )
    second = create_sale(api, team.manager, service_item["id"], buyer["id"], baseAmount=dkk("500"), taxRate="0")
    assert (first["number"], second["number"]) == (f"S-{YEAR}-000001", f"S-{YEAR}-000002")
    assert first["amounts"] == {
        "base": dkk("1000.00"),
        "discount": dkk("100.00"),
        "taxRate": "25",
        "tax": dkk("225.00"),
        "final": dkk("1125.00"),
    }
    assert second["amounts"]["final"] == dkk("500.00")
    assert (first["status"], first["assignedTo"], first["source"], first["serviceName"]) == (
        "PENDING",
        team.rep.user_id,
        "phone",
        "Hovedrengøring",
    )
    assert (second["assignedTo"], second["paymentStatus"]) == (team.manager.user_id, "none")


def test_the_created_event_carries_the_sale_for_its_consumers(
    api: Any, team: SalesTeam, cleaning: dict[str, Any], written_events: list[WrittenEvent]
) -> None:
    buyer = customer(api, team.admin, email="ole@example.dk")
    sale = create_sale(api, team.rep, cleaning["id"], buyer["id"], source="referral")
    [event] = [e for e in written_events if e.type == "sale.created"]
    assert event.subject == sale["id"]
    assert event.data["sale"] == {
        "number": sale["number"],
        "status": "PENDING",
        "assignedTo": team.rep.user_id,
        "customerId": buyer["id"],
        "serviceId": cleaning["id"],
        "source": "referral",
        "amount": dkk("1500.00"),
        "createdAt": sale["createdAt"],
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"discount": dkk("2000.00")}, "body.discount"),
        ({"baseAmount": {"amount": "10", "currency": "EUR"}}, "body.baseAmount"),
        ({"taxRate": "101"}, "body.taxRate"),
        ({"customerId": "01NOSUCHCUSTOMER"}, "body.customerId"),
        ({"serviceId": "01NOSUCHSERVICE"}, "body.serviceId"),
        ({"assignedTo": "01NOSUCHUSER"}, "body.assignedTo"),
        ({"source": "carrier-pigeon"}, "body.source"),
    ],
)
def test_a_sale_that_does_not_add_up_is_refused_naming_the_field(
    api: Any, team: SalesTeam, cleaning: dict[str, Any], fields: dict[str, Any], field: str
) -> None:
    body = {"serviceId": cleaning["id"], "customerId": customer(api, team.admin)["id"], **fields}
    response = post_sale(api, team.manager, **body)
    assert response.status_code == 422, response.body
    assert field in [e["field"] for e in response.json_body["errors"]]


def test_a_product_is_not_a_service(api: Any, team: SalesTeam) -> None:
    product = create_product(api, team.admin, name="Sæbe", price=dkk("20.00"))
    response = post_sale(api, team.admin, serviceId=product["id"], customerId=customer(api, team.admin)["id"])
    assert response.status_code == 422
    assert response.json_body["errors"][0]["code"] == "not-a-service"


def test_a_rep_sells_for_itself_and_sees_only_its_own_sales(
    api: Any, team: SalesTeam, cleaning: dict[str, Any]
) -> None:
    buyer = customer(api, team.admin)
    mine = create_sale(api, team.rep, cleaning["id"], buyer["id"])
    theirs = create_sale(api, team.other_rep, cleaning["id"], buyer["id"])
    refused = post_sale(
        api, team.rep, serviceId=cleaning["id"], customerId=buyer["id"], assignedTo=team.other_rep.user_id
    )
    assert refused.status_code == 403
    listed = _ids(_get(api, team.rep, "/sales?limit=100"))
    assert mine["id"] in listed
    assert theirs["id"] not in listed
    assert _ids(_get(api, team.rep, f"/sales?customerId={buyer['id']}")) == [mine["id"]]
    assert _get(api, team.rep, f"/sales?assignedTo={team.other_rep.user_id}").status_code == 403
    assert _get(api, team.rep, f"/sales/{theirs['id']}").status_code == 403
    assert _get(api, team.rep, f"/sales/{theirs['id']}/history").status_code == 403
    assert (
        call(api, "PATCH", f"/sales/{theirs['id']}", {"version": 1, "notes": "x"}, team.rep.headers()).status_code
        == 403
    )
    assert move_sale(api, team.rep, theirs, "ACCEPTED").status_code == 403
    for reader in (team.manager, team.viewer, team.admin):
        assert {mine["id"], theirs["id"]} <= set(_ids(_get(api, reader, f"/sales?customerId={buyer['id']}")))
        assert _get(api, reader, f"/sales/{theirs['id']}").status_code == 200
    assert post_sale(api, team.viewer, serviceId=cleaning["id"], customerId=buyer["id"]).status_code == 403


def test_lists_narrow_by_status_rep_customer_and_dates(api: Any, team: SalesTeam, cleaning: dict[str, Any]) -> None:
    anne, bo = customer(api, team.admin, name="Anne"), customer(api, team.admin, name="Bo")
    a1 = create_sale(api, team.rep, cleaning["id"], anne["id"])
    a2 = create_sale(api, team.other_rep, cleaning["id"], anne["id"])
    b1 = create_sale(api, team.rep, cleaning["id"], bo["id"])
    accepted = move_sale(api, team.rep, a1, "ACCEPTED").json_body
    assert accepted["status"] == "ACCEPTED"
    rep = team.rep.user_id
    assert _ids(_get(api, team.manager, f"/sales?customerId={anne['id']}")) == [a2["id"], a1["id"]]
    assert _ids(_get(api, team.manager, f"/sales?assignedTo={rep}&customerId={anne['id']}")) == [a1["id"]]
    assert a1["id"] in _ids(_get(api, team.manager, f"/sales?assignedTo={rep}&status=ACCEPTED&limit=100"))
    pending = _ids(_get(api, team.manager, f"/sales?assignedTo={rep}&status=PENDING&limit=100"))
    assert b1["id"] in pending
    assert a1["id"] not in pending
    by_status = _ids(_get(api, team.manager, "/sales?status=ACCEPTED&limit=100"))
    assert a1["id"] in by_status
    assert a2["id"] not in by_status
    assert a1["id"] in _ids(_get(api, team.rep, "/sales?status=ACCEPTED&limit=100"))
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert _ids(_get(api, team.manager, f"/sales?from={later}")) == []
    assert b1["id"] in _ids(_get(api, team.manager, f"/sales?to={later}&limit=100"))
    both = _get(api, team.manager, f"/sales?status=PENDING&customerId={anne['id']}")
    assert both.status_code == 422
    assert both.json_body["errors"][0]["field"] == "query.customerId"


def test_a_page_of_sales_leads_to_the_next_with_its_cursor(api: Any, team: SalesTeam, cleaning: dict[str, Any]) -> None:
    buyer = customer(api, team.admin)
    made = [create_sale(api, team.rep, cleaning["id"], buyer["id"])["id"] for _ in range(3)]
    first = _get(api, team.manager, f"/sales?assignedTo={team.rep.user_id}&customerId={buyer['id']}&limit=2")
    cursor = first.json_body["nextCursor"]
    rest = _get(api, team.manager, f"/sales?assignedTo={team.rep.user_id}&customerId={buyer['id']}&cursor={cursor}")
    assert _ids(first) + _ids(rest) == made[::-1]
    foreign = _get(api, team.manager, f"/sales?customerId={buyer['id']}&cursor={cursor}")
    assert foreign.status_code == 400


def test_a_sale_runs_its_flow_to_completed_and_then_changes_only_its_notes(
    api: Any, team: SalesTeam, cleaning: dict[str, Any]
) -> None:
    buyer = customer(api, team.admin, email="kunde@example.dk")
    sale = create_sale(api, team.rep, cleaning["id"], buyer["id"])
    for to in ("ACCEPTED", "SCHEDULED", "IN_PROGRESS", "COMPLETED"):
        response = move_sale(api, team.rep, sale, to)
        assert response.status_code == 200, response.body
        sale = response.json_body
    assert sale["closedAt"] is not None
    history = _get(api, team.rep, f"/sales/{sale['id']}/history").json_body["items"]
    assert [(h["from"], h["to"]) for h in history] == [
        ("PENDING", "ACCEPTED"),
        ("ACCEPTED", "SCHEDULED"),
        ("SCHEDULED", "IN_PROGRESS"),
        ("IN_PROGRESS", "COMPLETED"),
    ]
    stats = _get(api, team.admin, f"/customers/{buyer['id']}").json_body
    assert (stats["stats"]["ordersCount"], stats["stats"]["totalSpent"]) == (1, dkk("1500.00"))
    closed = call(
        api, "PATCH", f"/sales/{sale['id']}", {"version": sale["version"], "discount": dkk("1")}, team.rep.headers()
    )
    assert closed.status_code == 409
    assert closed.json_body["errors"][0]["field"] == "body.discount"
    noted = call(
        api, "PATCH", f"/sales/{sale['id']}", {"version": sale["version"], "notes": "Betalt"}, team.rep.headers()
    )
    assert noted.status_code == 200
    assert noted.json_body["notes"] == "Betalt"
    assert move_sale(api, team.rep, noted.json_body, "CANCELLED").status_code == 422


def test_a_change_recomputes_the_amounts_and_moves_the_sale_between_reps(
    api: Any, team: SalesTeam, cleaning: dict[str, Any]
) -> None:
    buyer = customer(api, team.admin)
    sale = create_sale(api, team.rep, cleaning["id"], buyer["id"])
    window = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    body = {
        "version": 1,
        "discount": dkk("200.00"),
        "assignedTo": team.other_rep.user_id,
        "scheduledAt": window.isoformat(),
    }
    changed = call(api, "PATCH", f"/sales/{sale['id']}", body, team.manager.headers())
    assert changed.status_code == 200, changed.body
    after = changed.json_body
    assert after["amounts"]["final"] == dkk("1250.00")  # (1200 - 200) * 1.25
    assert (after["assignedTo"], after["version"]) == (team.other_rep.user_id, 2)
    assert after["scheduledAt"].startswith(window.strftime("%Y-%m-%dT%H:%M:%S"))
    assert sale["id"] not in _ids(_get(api, team.rep, "/sales?limit=100"))
    assert sale["id"] in _ids(_get(api, team.other_rep, f"/sales?customerId={buyer['id']}"))
    assert sale["id"] in _ids(_get(api, team.other_rep, "/sales?status=PENDING&limit=100"))
    stale = call(api, "PATCH", f"/sales/{sale['id']}", {"version": 1, "notes": "late"}, team.manager.headers())
    assert stale.status_code == 409
    nulled = call(api, "PATCH", f"/sales/{sale['id']}", {"version": 2, "serviceId": None}, team.manager.headers())
    assert nulled.status_code == 422
    assert nulled.json_body["errors"][0]["field"] == "body.serviceId"


def test_a_manager_deletes_a_sale_and_it_leaves_every_list(api: Any, team: SalesTeam, cleaning: dict[str, Any]) -> None:
    buyer = customer(api, team.admin)
    sale = create_sale(api, team.rep, cleaning["id"], buyer["id"])
    assert call(api, "DELETE", f"/sales/{sale['id']}", headers=team.rep.headers()).status_code == 403
    assert call(api, "DELETE", f"/sales/{sale['id']}", headers=team.manager.headers()).status_code == 204
    assert _get(api, team.manager, f"/sales/{sale['id']}").status_code == 404
    assert _ids(_get(api, team.manager, f"/sales?customerId={buyer['id']}")) == []
    assert _ids(_get(api, team.rep, f"/sales?customerId={buyer['id']}")) == []
    assert call(api, "DELETE", f"/sales/{sale['id']}", headers=team.manager.headers()).status_code == 404


def test_a_repeated_create_with_its_idempotency_key_makes_one_sale(
    api: Any, team: SalesTeam, cleaning: dict[str, Any]
) -> None:
    body = {"serviceId": cleaning["id"], "customerId": customer(api, team.admin)["id"]}
    headers = team.rep.headers(**{"Idempotency-Key": "sale-7f3a"})
    first = call(api, "POST", "/sales", body, headers)
    again = call(api, "POST", "/sales", body, headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json_body == again.json_body
    other = call(api, "POST", "/sales", {**body, "notes": "x"}, headers)
    assert other.status_code == 409


def _principal(account: Account) -> Principal:
    return Principal(account.user_id, account.tenant_id, account.role, account.email, frozenset(Module))


def test_fifty_sales_created_at_once_get_fifty_consecutive_numbers(api: Any) -> None:
    team = sales_team(api)
    service_item = create_service(api, team.admin)
    buyer = customer(api, team.admin)
    body = CreateSaleRequest.model_validate({"serviceId": service_item["id"], "customerId": buyer["id"]})
    barrier = threading.Barrier(50)
    numbers: list[str] = []
    failures: list[BaseException] = []

    def sell(account: Account) -> None:
        barrier.wait()
        try:
            with tenant_scope(account.tenant_id):
                numbers.append(service.create_sale(_principal(account), body, None).number)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    sellers = [team.rep, team.other_rep, team.manager, team.admin]
    threads = [threading.Thread(target=sell, args=(sellers[i % 4],)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(numbers) == [f"S-{YEAR}-{n:06d}" for n in range(1, 51)]


def test_invoicing_and_payment_move_the_sale_and_its_pending_list(
    api: Any, team: SalesTeam, cleaning: dict[str, Any], written_events: list[WrittenEvent]
) -> None:
    sale = create_sale(api, team.rep, cleaning["id"], customer(api, team.admin)["id"])
    tenant = team.tenant_id
    with tenant_scope(tenant):
        invoiced = service.record_invoice(tenant, sale["id"], "billy-inv-1")
        assert service.record_invoice(tenant, sale["id"], "billy-inv-1").version == invoiced.version
        pending = service.list_pending_payments(tenant, PageParams(limit=100))
        assert sale["id"] in [s.id for s in pending.items]
        paid = service.mark_paid(tenant, sale["id"], "2026-05-04T10:00:00.000Z")
        assert service.mark_paid(tenant, sale["id"], "2026-05-05T10:00:00.000Z").paid_at == paid.paid_at
        assert sale["id"] not in [s.id for s in service.list_pending_payments(tenant, PageParams(limit=100)).items]
        booked = service.set_calendar_event(tenant, sale["id"], "evt-1")
    assert (invoiced.payment_status, invoiced.billy_invoice_id) == ("pending", "billy-inv-1")
    assert (paid.payment_status, paid.paid_at) == ("paid", "2026-05-04T10:00:00.000Z")
    assert booked.calendar_event_id == "evt-1"
    types = [e.type for e in written_events if e.subject == sale["id"]]
    assert types == ["sale.created", "sale.invoiced", "sale.paid", "sale.updated"]
    shown = _get(api, team.rep, f"/sales/{sale['id']}").json_body
    assert (shown["paymentStatus"], shown["billyInvoiceId"], shown["calendarEventId"]) == (
        "paid",
        "billy-inv-1",
        "evt-1",
    )


def test_a_role_without_the_sales_permissions_is_refused(api: Any, team: SalesTeam) -> None:
    from tests.support.identity import add_user

    kitchen = add_user(api, team.admin, Role.KITCHEN)
    assert _get(api, kitchen, "/sales").status_code == 403
