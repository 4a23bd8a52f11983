"""Stock rules: what each movement changes, and guards that hold exactly when the planned outcome is right."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.inventory.models import MovementType
from chalicelib.inventory.rules import Change, Guard, change_of, guard_for

MOVEMENTS: tuple[MovementType, ...] = ("in", "out", "reserve", "release")


@pytest.mark.parametrize(
    ("movement", "expected"),
    [
        ("in", Change(3, 0, 3)),
        ("out", Change(-3, 0, -3, needs_available=3)),
        ("reserve", Change(0, 3, -3, needs_available=3)),
        ("release", Change(0, -3, 3, needs_reserved=3)),
        ("consume", Change(-3, -3, 0, needs_reserved=3)),
    ],
)
def test_each_movement_keeps_available_equal_to_on_hand_minus_reserved(
    movement: MovementType, expected: Change
) -> None:
    change = change_of(movement, 3)
    assert change == expected
    assert change.available == change.on_hand - change.reserved


def test_consume_without_a_reservation_takes_available_units() -> None:
    assert change_of("consume", 2, from_reserved=False) == Change(-2, 0, -2, needs_available=2)


def test_a_change_the_read_already_refuses_raises() -> None:
    with pytest.raises(ValueError, match="only 1 available"):
        guard_for(1, 0, change_of("reserve", 2))


def _accepts(guard: Guard, available: int) -> bool:
    if guard.exactly is not None:
        return available == guard.exactly
    return available >= guard.at_least and (guard.below is None or available < guard.below)


def test_a_guard_accepts_the_read_and_only_stored_values_that_lead_to_the_planned_outcome() -> None:
    # Whatever another writer did in between, if the guard holds on the stored value, the write is allowed,
    # and the low-stock state before and after is the one planned (so the index entry and the event are right).
    for read, threshold, quantity in itertools.product(range(0, 9), range(0, 6), range(1, 4)):
        for movement in MOVEMENTS:
            change = change_of(movement, quantity)
            if read < change.needs_available:
                continue
            guard = guard_for(read, threshold, change)
            assert _accepts(guard, read)
            for stored in range(0, 14):
                if not _accepts(guard, stored):
                    continue
                assert stored >= change.needs_available
                assert (stored < threshold) == guard.low_before
                assert (stored + change.available < threshold) == guard.low_after


def test_only_the_movement_that_crosses_under_the_threshold_is_pinned_to_the_exact_count() -> None:
    crossing = guard_for(5, 5, change_of("reserve", 1))
    assert (crossing.becomes_low, crossing.exactly) == (True, 5)
    staying = guard_for(9, 5, change_of("reserve", 1))
    assert (staying.becomes_low, staying.exactly, staying.at_least, staying.below) == (False, None, 6, None)
    already_low = guard_for(3, 5, change_of("reserve", 1))
    assert (already_low.becomes_low, already_low.exactly, already_low.below) == (False, None, 5)
    no_threshold = guard_for(2, 0, change_of("reserve", 2))
    assert (no_threshold.at_least, no_threshold.below, no_threshold.exactly) == (2, None, None)
    assert guard_for(7, 0, change_of("in", 1), exact=True).exactly == 7
