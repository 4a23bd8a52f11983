"""How the analytics consumer groups a batch's events into transactions."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.analytics.aggregation import Deltas
from chalicelib.analytics.service import AppliedEvent, _chunks

ONE = Decimal(1)


def _event(n: int, hour: int, targets: int) -> tuple[AppliedEvent, Deltas]:
    event = AppliedEvent(f"e{n}", "sale.created", f"2026-05-04T{hour:02d}:30:00.000Z", {})
    deltas: Deltas = {("ALL", ("DAY", f"2026-05-{t + 1:02d}")): {"salesCount": ONE} for t in range(targets)}
    return event, deltas


def test_events_of_one_hour_sharing_items_go_in_one_transaction_up_to_the_ledger_write_limit() -> None:
    chunks = _chunks([_event(n, 10, 3) for n in range(250)])
    assert [len(c) for c in chunks] == [100, 100, 50]


def test_a_transaction_holds_at_most_a_hundred_writes() -> None:
    events = [_event(n, n % 24, 1 + n % 40) for n in range(300)]
    chunks = _chunks(events)
    assert sum(len(c) for c in chunks) == 300
    for chunk in chunks:
        hours = {e.hour for e, _ in chunk}
        targets = {t for _, deltas in chunk for t in deltas}
        assert len(hours) + len(targets) <= 100
