"""The sales dashboard end to end: sales and leads through the API, their events through the table stream, the
bus and the analytics queue into the aggregates (the real consumer), and the numbers each role sees."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from app import app
from chalicelib.access.permissions import Role
from chalicelib.analytics import service as analytics
from chalicelib.core.db.store import tenant_scope
from chalicelib.core.events import new_event
from functions.outbox_publisher import handler as publish
from localdev.worker import QueueWorker, StreamWorker
from tests.support.entities import create_conversation
from tests.support.identity import Account, add_user, call
from tests.support.sales import SalesTeam, create_sale, create_service, customer, dkk, move_sale, sales_team

_STREAM: list[StreamWorker] = []


@pytest.fixture(scope="module")
def deliver(stack: Any) -> Callable[[Callable[[], bool]], None]:
    """What Lambda's event sources do, until ``condition()``: table stream → publisher → bus → queues → consumers."""
    _STREAM.append(StreamWorker(publish, from_now=True))
    queues = QueueWorker(app, wait_seconds=0)

    def until(condition: Callable[[], bool], timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "the events did not reach the dashboard in time"
            _STREAM[0].poll_once()
            if not queues.poll_once():
                time.sleep(0.2)

    return until


def _board(api: Any, account: Account, query: str = "") -> dict[str, Any]:
    response = call(api, "GET", f"/analytics/dashboard{query}", headers=account.headers())
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def _lead(api: Any, account: Account, **fields: Any) -> dict[str, Any]:
    response = call(api, "POST", "/leads", {"contactName": "Lead", **fields}, account.headers())
    assert response.status_code in (200, 201), response.body
    return dict(response.json_body)


def _move_lead(api: Any, account: Account, lead: dict[str, Any], to: str) -> dict[str, Any]:
    body = {"to": to, "version": lead["version"]}
    response = call(api, "POST", f"/leads/{lead['id']}/transitions", body, account.headers())
    assert response.status_code == 200, response.body
    return dict(response.json_body)


@pytest.fixture(scope="module")
def company(api: Any, deliver: Callable[..., None]) -> dict[str, Any]:
    """A month of a small company: four sales (one completed, one cancelled), three leads (one converted, one
    lost, one from a WhatsApp conversation), delivered to the dashboard."""
    team = sales_team(api)
    cleaning = create_service(api, team.admin, name="Hovedrengøring", price="1000.00")
    windows = create_service(api, team.admin, name="Vinduespudsning", price="400.00")
    buyer = customer(api, team.admin)
    completed = create_sale(api, team.rep, cleaning["id"], buyer["id"], source="phone")
    for to in ("ACCEPTED", "IN_PROGRESS", "COMPLETED"):
        completed = move_sale(api, team.rep, completed, to).json_body
    waiting = create_sale(api, team.other_rep, windows["id"], buyer["id"])
    cancelled = create_sale(
        api, team.manager, cleaning["id"], buyer["id"], assignedTo=team.rep.user_id, baseAmount=dkk("200")
    )
    assert move_sale(api, team.manager, cancelled, "CANCELLED").status_code == 200
    emailed = _lead(api, team.rep, source="email", contactEmail="kunde@example.dk", estimatedValue=dkk("600"))
    emailed = _move_lead(api, team.rep, _move_lead(api, team.rep, emailed, "CONTACTED"), "QUALIFIED")
    converted = call(
        api,
        "POST",
        f"/leads/{emailed['id']}/convert",
        {"version": emailed["version"], "serviceId": cleaning["id"]},
        team.rep.headers(),
    )
    assert converted.status_code == 201, converted.body
    _move_lead(api, team.other_rep, _lead(api, team.other_rep, source="whatsapp"), "LOST")
    conversation_id, _ = create_conversation(team.admin)
    chat = call(
        api, "POST", f"/conversations/{conversation_id}/lead", {"estimatedValue": dkk("300")}, team.manager.headers()
    )
    assert chat.status_code == 201, chat.body
    deliver(
        lambda: (
            _board(api, team.manager)["totals"]["leadsCreated"] == 3
            and _board(api, team.manager)["totals"]["salesCount"] == 4
        )
    )
    return {
        "team": team,
        "cleaning": cleaning,
        "windows": windows,
        "waiting": waiting,
        "sale": converted.json_body["sale"],
    }


def test_the_manager_sees_the_companys_numbers(api: Any, company: dict[str, Any]) -> None:
    team: SalesTeam = company["team"]
    board = _board(api, team.manager)
    assert board["scope"] == "all"
    assert board["totals"] == {
        "salesCount": 4,
        "salesValue": dkk("2750.00"),  # 1250 + 500 + 250 + 750
        "completedSales": 1,
        "revenue": dkk("1250.00"),
        "averageTicket": dkk("1250.00"),
        "cancelledSales": 1,
        "leadsCreated": 3,
        "leadsConverted": 1,
        "leadsLost": 1,
        "conversionRate": "0.3333",
    }
    assert board["salesPipeline"] == [
        {"status": "ACCEPTED", "count": 1, "value": dkk("750.00")},
        {"status": "PENDING", "count": 1, "value": dkk("500.00")},
    ]
    assert board["leadsPipeline"] == [{"status": "NEW", "count": 1, "value": dkk("300.00")}]
    sources = {row["source"]: row for row in board["bySource"]}
    assert sources["phone"] == {
        "source": "phone",
        "salesCount": 1,
        "revenue": dkk("1250.00"),
        "leadsCreated": 0,
        "leadsConverted": 0,
    }
    assert (sources["email"]["salesCount"], sources["email"]["leadsConverted"]) == (1, 1)
    assert (sources["whatsapp"]["leadsCreated"], sources["whatsapp"]["leadsConverted"]) == (2, 0)
    assert sources["web"]["salesCount"] == 2
    reps = {row["userId"]: row for row in board["byRep"]}
    assert reps[team.rep.user_id] == {
        "userId": team.rep.user_id,
        "salesCount": 3,
        "completedSales": 1,
        "revenue": dkk("1250.00"),
        "leadsCreated": 1,
        "leadsConverted": 1,
    }
    assert (reps[team.other_rep.user_id]["salesCount"], reps[team.other_rep.user_id]["leadsCreated"]) == (1, 1)
    assert reps[team.manager.user_id]["leadsCreated"] == 1
    top = board["topServices"]
    assert [(row["serviceId"], row["salesCount"], row["revenue"]) for row in top] == [
        (company["cleaning"]["id"], 3, dkk("1250.00")),
        (company["windows"]["id"], 1, dkk("0.00")),
    ]
    assert _board(api, team.viewer)["totals"] == board["totals"]


def test_a_rep_sees_only_its_own_numbers(api: Any, company: dict[str, Any]) -> None:
    team: SalesTeam = company["team"]
    mine = _board(api, team.rep)
    assert mine["scope"] == "own"
    assert (mine["totals"]["salesCount"], mine["totals"]["revenue"], mine["totals"]["leadsCreated"]) == (
        3,
        dkk("1250.00"),
        1,
    )
    assert [row["userId"] for row in mine["byRep"]] == [team.rep.user_id]
    assert mine["salesPipeline"] == [{"status": "ACCEPTED", "count": 1, "value": dkk("750.00")}]
    theirs = _board(api, team.other_rep)
    assert (theirs["totals"]["salesCount"], theirs["totals"]["leadsLost"]) == (1, 1)
    kitchen = add_user(api, team.admin, Role.KITCHEN)
    assert call(api, "GET", "/analytics/dashboard", headers=kitchen.headers()).status_code == 403


def test_a_reassigned_sale_moves_its_numbers_to_the_new_rep(
    api: Any, company: dict[str, Any], deliver: Callable[..., None]
) -> None:
    team: SalesTeam = company["team"]
    sale = company["waiting"]
    moved = call(
        api,
        "PATCH",
        f"/sales/{sale['id']}",
        {"version": sale["version"], "assignedTo": team.rep.user_id},
        team.manager.headers(),
    )
    assert moved.status_code == 200, moved.body
    deliver(lambda: _board(api, team.other_rep)["totals"]["salesCount"] == 0)
    mine = _board(api, team.rep)
    assert mine["totals"]["salesCount"] == 4
    assert {"status": "PENDING", "count": 1, "value": dkk("500.00")} in mine["salesPipeline"]
    assert _board(api, team.other_rep)["salesPipeline"] == []
    assert _board(api, team.manager)["totals"]["salesCount"] == 4


def test_periods_group_by_week_and_month_and_cover_the_whole_period(api: Any, company: dict[str, Any]) -> None:
    team: SalesTeam = company["team"]
    by_month = _board(api, team.manager, "?groupBy=month&from=2026-01-15&to=2026-03-02")
    assert (by_month["from"], by_month["to"]) == ("2026-01-01", "2026-03-31")
    assert [row["period"] for row in by_month["series"]] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    by_week = _board(api, team.manager, "?groupBy=week&from=2026-05-06&to=2026-05-13")
    assert [row["period"] for row in by_week["series"]] == ["2026-05-04", "2026-05-11"]
    assert by_week["to"] == "2026-05-17"
    today = _board(api, team.manager, "?groupBy=month")
    assert sum(row["salesCount"] for row in today["series"]) == today["totals"]["salesCount"] >= 4
    backwards = call(api, "GET", "/analytics/dashboard?from=2026-05-02&to=2026-05-01", headers=team.manager.headers())
    assert backwards.status_code == 422
    assert backwards.json_body["errors"][0]["field"] == "query.from"
    too_long = call(api, "GET", "/analytics/dashboard?from=2020-01-01&to=2026-01-01", headers=team.manager.headers())
    assert too_long.status_code == 422


def test_an_event_delivered_twice_counts_once(api: Any) -> None:
    team = sales_team(api)
    service = create_service(api, team.admin)
    sale = create_sale(api, team.rep, service["id"], customer(api, team.admin)["id"])
    from chalicelib.sales import service as sales

    with tenant_scope(team.tenant_id):
        snapshot = sales.snapshot({**sale, "amounts": sale["amounts"]})
        event = new_event("sale.created", team.tenant_id, {"sale": snapshot}, subject=sale["id"])
        envelope = {"detail-type": event.type, "source": "btrix", "detail": event.model_dump(mode="json")}
        record = {"messageId": "m-1", "body": json.dumps(envelope)}
        assert analytics.handle_batch({"Records": [record, {**record, "messageId": "m-2"}]}) == {
            "batchItemFailures": []
        }
        assert analytics.handle_batch({"Records": [record]}) == {"batchItemFailures": []}
        broken = analytics.handle_batch({"Records": [{"messageId": "m-3", "body": "{}"}]})
    assert broken == {"batchItemFailures": [{"itemIdentifier": "m-3"}]}
    assert _board(api, team.manager)["totals"]["salesCount"] == 1
    assert Decimal(_board(api, team.manager)["totals"]["salesValue"]["amount"]) == Decimal("1500.00")
