"""Time arithmetic of bookings: working windows in a time zone, the 5-minute blocks a booking claims, and
the free slots left. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.appointments.models import WeeklyHours

__all__ = ["GRID", "SLOT_STEP", "block_keys", "blocks", "fits_hours", "free_slots", "on_grid", "working_windows"]

# Bookings claim 5-minute blocks: fine enough for any service, coarse enough that a booking of up to 8 hours
# claims at most 96 items, inside one DynamoDB transaction (100 writes).
GRID = timedelta(minutes=5)
SLOT_STEP = timedelta(minutes=15)
Window = tuple[datetime, datetime]


def on_grid(moment: datetime) -> bool:
    """Whether ``moment`` starts a 5-minute block (seconds zero, minutes a multiple of 5)."""
    utc = moment.astimezone(UTC)
    return utc.second == 0 and utc.microsecond == 0 and utc.minute % 5 == 0


def blocks(start: datetime, duration: timedelta) -> list[datetime]:
    """The 5-minute blocks (UTC starts) that ``[start, start + duration)`` covers."""
    first = start.astimezone(UTC)
    count = -(-duration // GRID)  # ceiling division of timedeltas
    return [first + GRID * i for i in range(count)]


def block_keys(start: datetime, duration: timedelta) -> list[str]:
    """The blocks as sortable strings (``2026-03-02T14:05Z``), the sort keys of slot claims."""
    return [b.strftime("%Y-%m-%dT%H:%MZ") for b in blocks(start, duration)]


def _local(day: date, at: object, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)  # type: ignore[arg-type]


def working_windows(hours: WeeklyHours, time_zone: str, start: datetime, end: datetime) -> list[Window]:
    """The working stretches between ``start`` and ``end`` (UTC, clipped), from local weekly hours."""
    zone = ZoneInfo(time_zone)
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    windows: list[Window] = []
    while day <= last:
        for stretch in hours.of(day.weekday()):
            opens = _local(day, stretch.start, zone).astimezone(UTC)
            closes = _local(day, stretch.end, zone).astimezone(UTC)
            opens, closes = max(opens, start.astimezone(UTC)), min(closes, end.astimezone(UTC))
            if opens < closes:
                windows.append((opens, closes))
        day += timedelta(days=1)
    return sorted(windows)


def fits_hours(hours: WeeklyHours, time_zone: str, start: datetime, duration: timedelta) -> bool:
    """Whether ``[start, start + duration)`` lies inside one working stretch."""
    finish = start + duration
    windows = working_windows(hours, time_zone, start, finish)
    return any(opens <= start and finish <= closes for opens, closes in windows)


def free_slots(
    windows: Iterable[Window], taken: set[str], duration: timedelta, step: timedelta = SLOT_STEP
) -> list[Window]:
    """Starts every ``step`` inside the windows where ``duration`` fits without touching a taken block."""
    found: list[Window] = []
    for opens, closes in windows:
        # Slots start on the step grid of the hour (9:00, 9:15 …) even when a window opens at 9:05.
        minutes = (opens.minute * 60 + opens.second) / 60
        offset = timedelta(minutes=(-minutes) % (step.total_seconds() / 60))
        start = opens.replace(second=0, microsecond=0) + offset
        while start + duration <= closes:
            if not taken.intersection(block_keys(start, duration)):
                found.append((start, start + duration))
            start += step
    return found
