"""Sales meet Billy.dk and Google Calendar on the local stack: a completed sale is invoiced once and marked paid by the
payment poll, a scheduled sale is an event in the tenant's calendar that follows its date and goes with its
cancellation; the workflow's actions and the sale events travel the real way (Step Functions, the table stream, the
bus, the integrations queue) to the fakes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.core.resources import QueueKind
from chalicelib.notifications.outbox import list_messages
from chalicelib.sales import invoicing
from localdev.fake_billy import FakeBilly
from localdev.fake_google import FakeGoogle
from localdev.provision import local_webhook_secrets
from tests.support.identity import Account, call
from tests.support.inbound_hooks import take_messages
from tests.support.sales import SalesTeam, create_sale, create_service, customer, dkk, move_sale, sales_team
from tests.support.webhooks import Pump

Deliver = Callable[[Callable[[], bool]], None]


@pytest.fixture
def deliver(stack: Any) -> Deliver:
    """What Lambda's event sources do, until ``condition()``: the workflow's messages and the table stream → bus →
    queues → the app's consumers (the integrations queue among them)."""
    pump = Pump()

    def until(condition: Callable[[], bool], timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "the sale's integrations did not get there in time"
            if not pump():
                time.sleep(0.2)

    return until


@pytest.fixture
def team(api: Any) -> SalesTeam:
    """A Danish cleaning company with its sales team."""
    return sales_team(api)


@pytest.fixture
def cleaning(api: Any, team: SalesTeam) -> dict[str, Any]:
    """Its main service: 1200 kr. + 25 % VAT, three hours."""
    return dict(create_service(api, team.admin))


def _get(api: Any, account: Account, path: str) -> dict[str, Any]:
    response = call(api, "GET", path, headers=account.headers())
    assert response.status_code == 200, response.body
    return dict(response.json_body)


def _advance(api: Any, account: Account, sale: dict[str, Any], *statuses: str) -> dict[str, Any]:
    for status in statuses:
        moved = move_sale(api, account, sale, status)
        assert moved.status_code == 200, moved.body
        sale = dict(moved.json_body)
    return sale


def _connect(api: Any, team: SalesTeam, provider: str, credentials: dict[str, str]) -> None:
    response = call(api, "PUT", f"/integrations/{provider}", {"credentials": credentials}, team.admin.headers())
    assert response.status_code == 200, response.body


def _logs(api: Any, team: SalesTeam, provider: str) -> list[dict[str, Any]]:
    return list(_get(api, team.admin, f"/integrations/{provider}/logs")["items"])


# --- Billy.dk ------------------------------------------------------------------------------------------------------


def test_a_completed_sale_is_invoiced_once_in_billy_and_marked_paid_by_the_poll(
    api: Any, team: SalesTeam, cleaning: dict[str, Any], billy: FakeBilly, deliver: Deliver
) -> None:
    token = billy.add_company("Rendetalje ApS")
    _connect(api, team, "billy", {"accessToken": token})
    buyer = customer(api, team.admin, email="mette@example.dk", phone="+4520123456")
    sale = create_sale(api, team.rep, cleaning["id"], buyer["id"], discount=dkk("200.00"))
    again = create_sale(api, team.rep, cleaning["id"], buyer["id"])
    for one in (sale, again):
        _advance(api, team.rep, one, "ACCEPTED", "IN_PROGRESS", "COMPLETED")

    def invoiced() -> bool:
        return all(_get(api, team.rep, f"/sales/{s['id']}")["billyInvoiceId"] for s in (sale, again))

    deliver(invoiced)
    shown = _get(api, team.rep, f"/sales/{sale['id']}")
    assert shown["paymentStatus"] == "pending"
    [invoice] = [i for i in billy.invoices(token) if i["id"] == shown["billyInvoiceId"]]
    # One line of the amount before tax (1200 - 200) at Billy's 25 % sales VAT: Billy's tax is the sale's.
    assert invoice["state"] == "approved"
    assert (Decimal(str(invoice["amount"])), Decimal(str(invoice["tax"]))) == (Decimal(1000), Decimal(250))
    assert Decimal(shown["amounts"]["tax"]["amount"]) == Decimal(250)
    assert sale["number"] in invoice["contactMessage"]
    # The customer and the service exist once in Billy, whatever the number of sales.
    [contact] = billy.contacts(token)
    assert (contact["contactNo"], contact["name"]) == (buyer["id"], "Mette Hansen")
    assert _get(api, team.admin, f"/customers/{buyer['id']}")["billyContactId"] == contact["id"]
    assert [p["name"] for p in billy.products(token)] == [cleaning["name"]]
    assert len(billy.invoices(token)) == 2

    billy.mark_paid(invoice["id"])
    assert invoicing.queue_payment_polls() >= 1

    def paid() -> bool:
        return bool(_get(api, team.rep, f"/sales/{sale['id']}")["paymentStatus"] == "paid")

    deliver(paid)
    shown = _get(api, team.rep, f"/sales/{sale['id']}")
    assert shown["paidAt"].startswith(datetime.now(ZoneInfo("UTC")).date().isoformat())
    assert _get(api, team.rep, f"/sales/{again['id']}")["paymentStatus"] == "pending"
    operations = [(entry["operation"], entry["ok"]) for entry in _logs(api, team, "billy")]
    assert ("payment_sync", True) in operations
    assert operations.count(("invoice", True)) == 2

    # "Sync now" does what the schedule does, for the caller's tenant.
    [second] = [i for i in billy.invoices(token) if i["id"] != invoice["id"]]
    billy.mark_paid(second["id"])
    queued = call(api, "POST", "/integrations/billy/sync", headers=team.admin.headers())
    assert queued.status_code == 202, queued.body
    assert queued.json_body["task"] == "billy.sync"
    deliver(lambda: _get(api, team.rep, f"/sales/{again['id']}")["paymentStatus"] == "paid")


def test_sync_now_needs_a_connected_provider_that_has_something_to_sync(
    api: Any, team: SalesTeam, calendar: FakeGoogle
) -> None:
    for provider in ("billy", "google_calendar"):
        answer = call(api, "POST", f"/integrations/{provider}/sync", headers=team.admin.headers())
        assert answer.status_code == 404, answer.body
    assert call(api, "POST", "/integrations/billy/sync", headers=team.rep.headers()).status_code == 403


def test_a_sale_whose_tax_rate_billy_lacks_fails_visibly_and_stays_uninvoiced(
    api: Any, team: SalesTeam, cleaning: dict[str, Any], billy: FakeBilly, deliver: Deliver
) -> None:
    token = billy.add_company("Rendetalje ApS")
    _connect(api, team, "billy", {"accessToken": token})
    sale = create_sale(api, team.manager, cleaning["id"], customer(api, team.admin)["id"], taxRate="12.5")
    _advance(api, team.manager, sale, "ACCEPTED", "IN_PROGRESS", "COMPLETED")

    def logged() -> bool:
        return any(not entry["ok"] for entry in _logs(api, team, "billy"))

    deliver(logged)
    [failure] = [entry for entry in _logs(api, team, "billy") if not entry["ok"]]
    assert failure["operation"] == "invoice"
    assert "12.5" in failure["error"]
    assert sale["number"] in failure["error"]
    shown = _get(api, team.manager, f"/sales/{sale['id']}")
    assert (shown["billyInvoiceId"], shown["paymentStatus"]) == (None, "none")
    assert billy.invoices(token) == []
    dead = take_messages(QueueKind.INTEGRATIONS, lambda body: body.get("entityId") == sale["id"], dead=True)
    assert [body["action"] for body, _ in dead] == ["create_invoice"]
    listed = _get(api, team.admin, "/integrations")["items"]
    assert next(i for i in listed if i["provider"] == "billy")["status"] == "failing"


# --- Google Calendar -----------------------------------------------------------------------------------------------


@pytest.fixture
def calendar(api: Any, team: SalesTeam, google: FakeGoogle) -> FakeGoogle:
    """The tenant connected to the fake Google's calendar (a refresh token from an earlier consent to BTRIX)."""
    app = json.loads(local_webhook_secrets()["google-oauth-app"])
    _connect(api, team, "google_calendar", {"refreshToken": google.issue_refresh_token(client_id=app["clientId"])})
    return google


def _event(google: FakeGoogle, sale: dict[str, Any]) -> dict[str, Any] | None:
    return next(
        (e for e in google.events().values() if e["extendedProperties"]["private"]["btrixSaleId"] == sale["id"]), None
    )


def test_a_scheduled_sale_is_an_event_that_follows_its_date_and_goes_with_its_cancellation(
    api: Any, team: SalesTeam, cleaning: dict[str, Any], calendar: FakeGoogle, deliver: Deliver
) -> None:
    buyer = customer(api, team.admin, email="mette@example.dk")
    sale = create_sale(
        api, team.manager, cleaning["id"], buyer["id"], assignedTo=team.rep.user_id, scheduledAt="2026-06-01T08:00:00Z"
    )
    sale = _advance(api, team.manager, sale, "ACCEPTED", "SCHEDULED")
    deliver(lambda: _get(api, team.rep, f"/sales/{sale['id']}")["calendarEventId"] is not None)
    event = _event(calendar, sale)
    assert event is not None
    assert _get(api, team.rep, f"/sales/{sale['id']}")["calendarEventId"] == event["id"]
    # 08:00 UTC is 10:00 in Copenhagen in June; the service lasts three hours.
    assert event["start"] == {"dateTime": "2026-06-01T10:00:00", "timeZone": "Europe/Copenhagen"}
    assert event["end"] == {"dateTime": "2026-06-01T13:00:00", "timeZone": "Europe/Copenhagen"}
    assert {a["email"] for a in event["attendees"]} == {team.rep.email, "mette@example.dk"}
    assert event["reminders"] == {
        "useDefault": False,
        "overrides": [{"method": "email", "minutes": 1440}, {"method": "popup", "minutes": 60}],
    }
    assert event["summary"] == f"{cleaning['name']} - Mette Hansen"
    assert event["sendUpdates"] == "all"

    current = _get(api, team.manager, f"/sales/{sale['id']}")
    change = {"version": current["version"], "scheduledAt": "2026-06-03T12:30:00Z"}
    moved = call(api, "PATCH", f"/sales/{sale['id']}", change, team.manager.headers())
    assert moved.status_code == 200, moved.body

    def rescheduled() -> bool:
        found = _event(calendar, sale)
        return found is not None and found["start"]["dateTime"] == "2026-06-03T14:30:00"

    deliver(rescheduled)
    assert _event(calendar, sale)["end"]["dateTime"] == "2026-06-03T17:30:00"  # type: ignore[index]

    _advance(api, team.manager, _get(api, team.manager, f"/sales/{sale['id']}"), "CANCELLED")

    def cancelled() -> bool:
        found = _event(calendar, sale)
        return found is not None and found["status"] == "cancelled"

    deliver(cancelled)
    deliver(lambda: _get(api, team.rep, f"/sales/{sale['id']}")["calendarEventId"] is None)
    assert len([e for e in calendar.events().values() if e["status"] != "cancelled"]) == 0


def test_a_sale_scheduled_without_a_date_gets_its_event_once_it_has_one(
    api: Any, team: SalesTeam, cleaning: dict[str, Any], calendar: FakeGoogle, deliver: Deliver
) -> None:
    sale = create_sale(api, team.rep, cleaning["id"], customer(api, team.admin)["id"])
    sale = _advance(api, team.rep, sale, "ACCEPTED", "SCHEDULED")
    deliver(lambda: any(e["operation"] == "event" for e in _logs(api, team, "google_calendar")))
    assert _event(calendar, sale) is None
    change = {"version": sale["version"], "scheduledAt": "2026-12-24T09:00:00+01:00"}
    dated = call(api, "PATCH", f"/sales/{sale['id']}", change, team.rep.headers())
    assert dated.status_code == 200, dated.body
    deliver(lambda: _event(calendar, sale) is not None)
    assert _event(calendar, sale)["start"]["dateTime"] == "2026-12-24T09:00:00"  # type: ignore[index]
    deliver(lambda: _get(api, team.rep, f"/sales/{sale['id']}")["calendarEventId"] is not None)


def test_a_dead_refresh_token_disconnects_the_calendar_and_tells_the_admins(
    api: Any, team: SalesTeam, cleaning: dict[str, Any], calendar: FakeGoogle, deliver: Deliver
) -> None:
    calendar.configure(invalidGrant=True)
    sale = create_sale(
        api, team.rep, cleaning["id"], customer(api, team.admin)["id"], scheduledAt="2026-06-01T08:00:00Z"
    )
    _advance(api, team.rep, sale, "ACCEPTED", "SCHEDULED")

    def disconnected() -> bool:
        listed = _get(api, team.admin, "/integrations")["items"]
        return bool(next(i for i in listed if i["provider"] == "google_calendar")["status"] == "disconnected")

    deliver(disconnected)
    told = [m for m in list_messages(team.tenant_id) if m.template == "integration.disconnected"]
    assert [(m.to, m.channel) for m in told] == [("role:ADMIN", "email")]
    assert _event(calendar, sale) is None
    assert _get(api, team.rep, f"/sales/{sale['id']}")["calendarEventId"] is None
    # The action waits in the DLQ for a redrive once the calendar is connected again.
    dead = take_messages(QueueKind.INTEGRATIONS, lambda body: body.get("entityId") == sale["id"], dead=True)
    assert [body["action"] for body, _ in dead] == ["create_calendar_event"]
