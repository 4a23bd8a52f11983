"""Working windows across time zones and DST, claimed blocks, free slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.appointments.models import WeeklyHours
from chalicelib.appointments.slots import block_keys, fits_hours, free_slots, on_grid, working_windows

HOURS = WeeklyHours.model_validate(
    {
        "mon": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}],
        "sat": [{"start": "10:00", "end": "14:00"}],
    }
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_windows_follow_the_local_time_zone() -> None:
    # Monday 2 March 2026 in São Paulo (UTC-3): 09-12 and 13-18 local = 12-15 and 16-21 UTC.
    windows = working_windows(HOURS, "America/Sao_Paulo", utc(2026, 3, 2), utc(2026, 3, 3))
    assert windows == [(utc(2026, 3, 2, 12), utc(2026, 3, 2, 15)), (utc(2026, 3, 2, 16), utc(2026, 3, 2, 21))]


def test_windows_shift_with_daylight_saving_time() -> None:
    winter = working_windows(HOURS, "Europe/Copenhagen", utc(2026, 3, 23), utc(2026, 3, 24))
    summer = working_windows(HOURS, "Europe/Copenhagen", utc(2026, 3, 30), utc(2026, 3, 31))
    assert winter[0][0] == utc(2026, 3, 23, 8)  # 09:00 CET
    assert summer[0][0] == utc(2026, 3, 30, 7)  # 09:00 CEST


def test_windows_are_clipped_to_the_range_and_closed_days_have_none() -> None:
    windows = working_windows(HOURS, "UTC", utc(2026, 3, 2, 10, 30), utc(2026, 3, 2, 11))
    assert windows == [(utc(2026, 3, 2, 10, 30), utc(2026, 3, 2, 11))]
    assert working_windows(HOURS, "UTC", utc(2026, 3, 3), utc(2026, 3, 5)) == []  # Tuesday to Thursday


def test_a_booking_claims_every_block_it_covers() -> None:
    assert block_keys(utc(2026, 3, 2, 9), timedelta(minutes=12)) == [
        "2026-03-02T09:00Z",
        "2026-03-02T09:05Z",
        "2026-03-02T09:10Z",
    ]
    assert on_grid(utc(2026, 3, 2, 9, 5))
    assert not on_grid(utc(2026, 3, 2, 9, 7))


def test_bookings_must_fit_one_working_stretch() -> None:
    assert fits_hours(HOURS, "UTC", utc(2026, 3, 2, 11), timedelta(hours=1))
    assert not fits_hours(HOURS, "UTC", utc(2026, 3, 2, 11, 30), timedelta(hours=1))  # runs into lunch
    assert not fits_hours(HOURS, "UTC", utc(2026, 3, 3, 10), timedelta(minutes=30))  # closed on Tuesday


def test_free_slots_skip_taken_blocks() -> None:
    windows = [(utc(2026, 3, 2, 9), utc(2026, 3, 2, 10, 30))]
    taken = set(block_keys(utc(2026, 3, 2, 9, 30), timedelta(minutes=30)))
    slots = free_slots(windows, taken, timedelta(minutes=30))
    assert [s[0].strftime("%H:%M") for s in slots] == ["09:00", "10:00"]
    assert all(end - start == timedelta(minutes=30) for start, end in slots)


def test_slots_start_on_the_quarter_hour() -> None:
    slots = free_slots([(utc(2026, 3, 2, 9, 5), utc(2026, 3, 2, 10))], set(), timedelta(minutes=30))
    assert [s[0].strftime("%H:%M") for s in slots] == ["09:15", "09:30"]
