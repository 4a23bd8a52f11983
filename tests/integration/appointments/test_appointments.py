"""Appointments over HTTP: resources, free slots, bookings without double booking, reschedule, cancel, reminders."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.access.permissions import Role
from chalicelib.notifications.outbox import list_messages
from tests.support.commerce import create_customer, create_product
from tests.support.identity import Account, add_user, call, signup

ALL_DAY = [{"start": "00:00", "end": "23:55"}]
WEEK = {day: ALL_DAY for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def clinic(api: Any) -> Account:
    admin, _ = signup(api, businessType="clinic", timeZone="America/Sao_Paulo")
    return admin


def _resource(api: Any, account: Account, hours: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    body = {"name": "Dra. Ana", "kind": "staff", "workingHours": hours or WEEK, **fields}
    response = call(api, "POST", "/resources", body, account.headers())
    assert response.status_code == 201, response.body
    return dict(response.json_body)


def _service(api: Any, account: Account, minutes: int = 30) -> dict[str, Any]:
    return create_product(api, account, kind="service", name=f"Consulta {minutes} min", durationMinutes=minutes)


def _at(days: int = 2, hour: int = 14, minute: int = 0) -> str:
    day = (datetime.now(UTC) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).isoformat()


def _book(
    api: Any, account: Account, resource: dict[str, Any], service: dict[str, Any], starts_at: str, **fields: Any
) -> Any:
    body = {"resourceId": resource["id"], "serviceId": service["id"], "startsAt": starts_at, **fields}
    return call(api, "POST", "/appointments", body, account.headers())


def _free(
    api: Any, account: Account, resource: dict[str, Any], service: dict[str, Any], start: str, end: str
) -> list[str]:
    path = f"/availability?resourceId={resource['id']}&serviceId={service['id']}&from={start}&to={end}"
    response = call(api, "GET", path.replace("+", "%2B"), headers=account.headers())
    assert response.status_code == 200, response.body
    return [slot["startsAt"] for slot in response.json_body["slots"]]


def test_booking_takes_the_slot_out_of_availability_and_cancelling_gives_it_back(api: Any, clinic: Account) -> None:
    resource = _resource(
        api,
        clinic,
        {
            "mon": [{"start": "09:00", "end": "10:00"}],
            "tue": [{"start": "09:00", "end": "10:00"}],
            "wed": [{"start": "09:00", "end": "10:00"}],
            "thu": [{"start": "09:00", "end": "10:00"}],
            "fri": [{"start": "09:00", "end": "10:00"}],
            "sat": [{"start": "09:00", "end": "10:00"}],
            "sun": [{"start": "09:00", "end": "10:00"}],
        },
    )
    assert resource["timeZone"] == "America/Sao_Paulo"
    service = _service(api, clinic, 30)
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    window = (f"{day}T00:00:00Z", f"{day}T23:59:00Z")
    # 09:00-10:00 in São Paulo is 12:00-13:00 UTC: 30-minute slots every 15 minutes.
    assert _free(api, clinic, resource, service, *window) == [
        f"{day}T12:00:00.000Z",
        f"{day}T12:15:00.000Z",
        f"{day}T12:30:00.000Z",
    ]
    booked = _book(api, clinic, resource, service, f"{day}T09:15:00-03:00")
    assert booked.status_code == 201, booked.body
    appointment = booked.json_body
    assert (appointment["startsAt"], appointment["endsAt"], appointment["status"]) == (
        f"{day}T12:15:00.000Z",
        f"{day}T12:45:00.000Z",
        "REQUESTED",
    )
    assert _free(api, clinic, resource, service, *window) == []
    again = _book(api, clinic, resource, service, f"{day}T12:30:00Z")
    assert (again.status_code, again.json_body["errors"][0]["field"]) == (409, "body.startsAt")
    cancelled = call(
        api,
        "POST",
        f"/appointments/{appointment['id']}/transitions",
        {"to": "CANCELLED", "version": 1},
        clinic.headers(),
    )
    assert cancelled.status_code == 200, cancelled.body
    assert len(_free(api, clinic, resource, service, *window)) == 3
    assert _book(api, clinic, resource, service, f"{day}T12:30:00Z").status_code == 201


def test_two_people_booking_one_slot_at_once_one_wins(api: Any, clinic: Account) -> None:
    resource, service = _resource(api, clinic), _service(api, clinic)
    starts_at = _at(days=4, hour=15)
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        barrier.wait()
        statuses.append(_book(api, clinic, resource, service, starts_at).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409]


def test_bookings_are_validated(api: Any, clinic: Account) -> None:
    resource = _resource(api, clinic, {"mon": [{"start": "09:00", "end": "12:00"}]})
    service = _service(api, clinic)
    product = create_product(api, clinic, kind="product", name="Vitamina")
    monday = datetime.now(UTC).date() + timedelta(days=7 - datetime.now(UTC).weekday())
    at_nine = f"{monday.isoformat()}T09:00:00-03:00"
    checks = {
        f"{monday.isoformat()}T13:00:00-03:00": ("body.startsAt", "closed"),
        f"{monday.isoformat()}T09:07:00-03:00": ("body.startsAt", "off-grid"),
        "2020-01-06T09:00:00-03:00": ("body.startsAt", "past"),
    }
    for starts_at, (field, code) in checks.items():
        response = _book(api, clinic, resource, service, starts_at)
        assert (
            response.status_code,
            response.json_body["errors"][0]["field"],
            response.json_body["errors"][0]["code"],
        ) == (422, field, code)
    naive = _book(api, clinic, resource, service, f"{monday.isoformat()}T09:00:00")
    assert (naive.status_code, naive.json_body["errors"][0]["field"]) == (422, "body.startsAt")
    not_a_service = _book(api, clinic, resource, product, at_nine)
    assert not_a_service.json_body["errors"][0]["field"] == "body.serviceId"
    assert (
        _book(api, clinic, resource, service, at_nine, customerId="01NOBODY").json_body["errors"][0]["field"]
        == "body.customerId"
    )
    bad_hours = call(
        api,
        "POST",
        "/resources",
        {"name": "Sala 2", "kind": "room", "workingHours": {"mon": [{"start": "10:00", "end": "09:00"}]}},
        clinic.headers(),
    )
    assert bad_hours.status_code == 422


def test_rescheduling_frees_the_old_time_and_takes_the_new(api: Any, clinic: Account) -> None:
    first, second = _resource(api, clinic, name="Dr. Bruno"), _resource(api, clinic, name="Dra. Carla")
    service = _service(api, clinic, 60)
    appointment = _book(api, clinic, first, service, _at(days=5, hour=14)).json_body
    other = _book(api, clinic, first, service, _at(days=5, hour=16)).json_body
    clash = call(
        api,
        "POST",
        f"/appointments/{appointment['id']}/reschedule",
        {"version": 1, "startsAt": _at(days=5, hour=16, minute=30)},
        clinic.headers(),
    )
    assert clash.status_code == 409
    nudged = call(
        api,
        "POST",
        f"/appointments/{appointment['id']}/reschedule",
        {"version": 1, "startsAt": _at(days=5, hour=14, minute=30)},
        clinic.headers(),
    )
    assert nudged.status_code == 200, nudged.body
    assert nudged.json_body["startsAt"].startswith(_at(days=5, hour=14, minute=30)[:16])
    assert (
        _book(api, clinic, first, service, _at(days=5, hour=13, minute=30)).status_code == 201
    )  # the old 14:00 half is free
    moved = call(
        api,
        "POST",
        f"/appointments/{appointment['id']}/reschedule",
        {"version": 2, "startsAt": _at(days=5, hour=16), "resourceId": second["id"]},
        clinic.headers(),
    )
    assert moved.json_body["resourceId"] == second["id"]
    listed = call(api, "GET", f"/appointments?resourceId={second['id']}", headers=clinic.headers()).json_body["items"]
    assert [a["id"] for a in listed] == [appointment["id"]]
    assert other["id"] not in [a["id"] for a in listed]


def test_a_confirmed_appointment_sends_its_reminder_before_it_starts(api: Any, clinic: Account, drain: Any) -> None:
    now = datetime.now(UTC)
    # The resource works where it is midday now: in the clinic's zone, a run near midnight would book past 23:55.
    midday = f"Etc/GMT{now.hour - 12:+d}" if now.hour != 12 else "Etc/GMT"
    resource, service = _resource(api, clinic, timeZone=midday), _service(api, clinic)
    customer = create_customer(api, clinic, email="paciente@example.com")
    start = (now + timedelta(minutes=10)).replace(second=0, microsecond=0)
    start += timedelta(minutes=(5 - start.minute % 5) % 5)
    flow = call(api, "GET", "/workflows/appointment", headers=clinic.headers()).json_body
    confirmed = next(s for s in flow["statuses"] if s["name"] == "CONFIRMED")
    lead = int((start - now).total_seconds()) - 3
    confirmed["timers"] = [
        {
            "beforeField": "startsAt",
            "beforeSeconds": lead,
            "remind": {"template": "appointment.reminder_soon", "channel": "whatsapp", "to": "customer"},
        }
    ]
    assert (
        call(
            api,
            "PUT",
            "/workflows/appointment",
            {k: flow[k] for k in ("initial", "statuses", "transitions")},
            clinic.headers(),
        ).status_code
        == 200
    )
    booked = _book(api, clinic, resource, service, start.isoformat(), customerId=customer["id"]).json_body
    staff = add_user(api, clinic, Role.STAFF)
    assert (
        call(
            api, "POST", f"/appointments/{booked['id']}/transitions", {"to": "CONFIRMED", "version": 1}, staff.headers()
        ).status_code
        == 200
    )

    def reminded() -> bool:
        return any(m.template == "appointment.reminder_soon" for m in list_messages(clinic.tenant_id))

    drain(reminded, timeout_s=60)
    message = next(m for m in list_messages(clinic.tenant_id) if m.template == "appointment.reminder_soon")
    assert message.to == f"customer:{customer['id']}"
