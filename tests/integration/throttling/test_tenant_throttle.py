"""Each tenant gets its plan's request rate and burst: over it, 429 problem+json with Retry-After; others unaffected."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.access.permissions import Role
from chalicelib.core import clock
from chalicelib.plans.catalog import get_plan
from tests.support.environment import settings_from
from tests.support.identity import Account, add_user, call, change_plan, signup

LOJISTA_BURST = get_plan("lojista").request_burst
# What a dashboard's first page load asks for at once on the smallest plan (its modules: catalog, inventory, orders,
# notifications, payments): the shell (who am I, the company, its plan and usage, the status flows the order board
# draws, the bell) and the home page's lists. docs/SECURITY.md reasons the plans' bursts from it.
DASHBOARD_FIRST_LOAD = (
    "/auth/me",
    "/tenant",
    "/billing",
    "/workflows",
    "/notifications?limit=10",
    "/orders?limit=25",
    "/products?limit=25",
    "/categories",
    "/inventory",
    "/customers?limit=25",
    "/payments?limit=25",
    "/users",
)


@pytest.fixture
def advance() -> Iterator[Any]:
    """The throttle on, time frozen (the buckets refill only when the test moves the clock)."""
    with settings_from({"BTRIX_TENANT_THROTTLE": "true"}), clock.frozen_clock(clock.now()) as move:
        yield move


def _me(api: Any, account: Account) -> Any:
    return call(api, "GET", "/auth/me", headers=account.headers())


def _spend(api: Any, account: Account, requests: int) -> list[int]:
    return [_me(api, account).status_code for _ in range(requests)]


def test_a_tenant_over_its_burst_gets_429_with_retry_after_and_another_tenant_is_unaffected(
    api: Any, advance: Any
) -> None:
    busy, _ = signup(api, plan="lojista")
    calm, _ = signup(api, plan="lojista")
    assert _spend(api, busy, LOJISTA_BURST) == [200] * LOJISTA_BURST
    refused = _me(api, busy)
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.headers["Retry-After"] == "1"
    assert refused.json_body["limit"] == "requestsPerSecond"
    assert refused.json_body["instance"] == "/auth/me"
    # The other tenant of the same plan still has its whole burst.
    assert _spend(api, calm, LOJISTA_BURST) == [200] * LOJISTA_BURST
    # Once Retry-After has passed the busy tenant is served again, at its plan's rate (5 a second).
    advance(timedelta(seconds=1))
    assert _spend(api, busy, 6) == [200] * 5 + [429]


def test_a_lojista_tenants_two_users_load_their_dashboards_at_the_same_moment_without_a_429(
    api: Any, advance: Any
) -> None:
    admin, _ = signup(api, plan="lojista")
    manager = add_user(api, admin, Role.MANAGER)  # the plan's two users
    advance(timedelta(minutes=1))  # the setup's requests are paid back: both users open the app now
    answers = {
        (user.role, path): call(api, "GET", path, headers=user.headers()).status_code
        for path in DASHBOARD_FIRST_LOAD
        for user in (admin, manager)
    }
    assert 429 not in answers.values()
    assert {path for (role, path), status in answers.items() if role is Role.ADMIN and status != 200} == set()
    # A third load at once is over the burst: the allowance still bites.
    assert _spend(api, admin, LOJISTA_BURST - len(answers) + 1)[-1] == 429


def test_a_throttled_tenant_can_still_log_in(api: Any, advance: Any) -> None:
    busy, _ = signup(api, plan="lojista")
    _spend(api, busy, LOJISTA_BURST + 1)
    # Unauthenticated routes keep their own limits (the login's per identifier and IP), not the tenant's bucket.
    login = call(api, "POST", "/auth/login", {"identifier": busy.email, "password": "correct-horse-battery-42"})
    assert login.status_code == 200


def test_a_plan_change_changes_the_limit_at_the_next_request(api: Any, advance: Any) -> None:
    tenant, _ = signup(api, plan="lojista")
    assert _spend(api, tenant, LOJISTA_BURST + 1)[-1] == 429
    change_plan(api, tenant.tenant_id, "corporativo")  # 100 a second, bursts of 200
    advance(timedelta(seconds=1))
    assert _spend(api, tenant, 30) == [200] * 30  # the lojista plan would have allowed 5
    change_plan(api, tenant.tenant_id, "lojista")
    advance(timedelta(minutes=1))
    assert _spend(api, tenant, LOJISTA_BURST + 1) == [200] * LOJISTA_BURST + [429]  # capped at lojista's burst again
