"""The per-tenant token buckets: a burst, then the steady rate; tenants apart; a new allowance at the next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core import clock
from chalicelib.core.errors import RateLimited
from chalicelib.core.throttle import Allowance, TenantThrottle

START = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SMALL = Allowance(rate=5.0, burst=10)
LARGE = Allowance(rate=100.0, burst=200)


def _admitted(throttle: TenantThrottle, tenant_id: str, allowance: Allowance, tries: int) -> int:
    admitted = 0
    for _ in range(tries):
        try:
            throttle.take(tenant_id, allowance)
        except RateLimited:
            continue
        admitted += 1
    return admitted


def test_a_tenant_gets_its_burst_then_waits_for_its_rate() -> None:
    throttle = TenantThrottle()
    with clock.frozen_clock(START) as advance:
        assert _admitted(throttle, "T1", SMALL, 15) == 10
        with pytest.raises(RateLimited) as refused:
            throttle.take("T1", SMALL)
        assert refused.value.retry_after == 1
        assert refused.value.limit == "requestsPerSecond"
        advance(timedelta(seconds=1))
        assert _admitted(throttle, "T1", SMALL, 15) == 5  # five a second come back
        advance(timedelta(minutes=10))
        assert _admitted(throttle, "T1", SMALL, 15) == 10  # never more than the burst


def test_retry_after_says_when_a_token_is_back_at_a_slow_rate() -> None:
    throttle = TenantThrottle()
    slow = Allowance(rate=0.25, burst=1)
    with clock.frozen_clock(START) as advance:
        throttle.take("T1", slow)
        with pytest.raises(RateLimited) as refused:
            throttle.take("T1", slow)
        assert refused.value.retry_after == 4
        advance(timedelta(seconds=4))
        throttle.take("T1", slow)


def test_one_tenant_over_its_burst_leaves_another_unaffected() -> None:
    throttle = TenantThrottle()
    with clock.frozen_clock(START):
        assert _admitted(throttle, "T1", SMALL, 30) == 10
        assert _admitted(throttle, "T2", SMALL, 10) == 10


def test_a_new_allowance_applies_at_the_next_request() -> None:
    throttle = TenantThrottle()
    with clock.frozen_clock(START) as advance:
        assert _admitted(throttle, "T1", SMALL, 11) == 10
        advance(timedelta(seconds=1))
        assert _admitted(throttle, "T1", LARGE, 150) == 100  # refilled at the larger plan's rate
        advance(timedelta(seconds=5))
        assert _admitted(throttle, "T1", SMALL, 50) == 10  # a smaller plan caps the bucket at its burst


def test_the_least_recently_used_buckets_are_dropped_beyond_the_maximum() -> None:
    throttle = TenantThrottle(max_buckets=2)
    with clock.frozen_clock(START):
        assert _admitted(throttle, "T1", SMALL, 11) == 10
        throttle.take("T2", SMALL)
        throttle.take("T3", SMALL)  # T1's drained bucket is the oldest: dropped
        assert _admitted(throttle, "T1", SMALL, 1) == 1
        assert _admitted(throttle, "T3", SMALL, 20) == 9  # a kept bucket keeps its count
