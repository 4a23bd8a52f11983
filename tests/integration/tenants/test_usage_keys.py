"""Each tenant's API key follows its plan into the plan's API Gateway usage plan (moto's apigateway)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.throttle import usage_key_value
from chalicelib.plans.catalog import PLANS
from chalicelib.tenants.usage_keys import main, remove_usage_key, sync_usage_key, usage_key_name
from tests.support.environment import settings_from
from tests.support.identity import change_plan, signup
from tests.support.webhooks import Pump


@pytest.fixture
def usage_plans(stack: Any) -> Iterator[dict[str, str]]:
    """A usage plan per plan in moto's API Gateway, named as infra names them, and the keys on; all removed after."""
    client = aws.apigateway()
    prefix = get_settings().resource_prefix
    created = {
        plan.id: client.create_usage_plan(
            name=f"{prefix}-{plan.id}",
            throttle={"rateLimit": plan.requests_per_second, "burstLimit": plan.request_burst},
            quota={"limit": plan.max_requests_per_day, "period": "DAY"},
        )["id"]
        for plan in PLANS
    }
    keys_before = {key["id"] for key in client.get_api_keys()["items"]}
    try:
        with settings_from({"BTRIX_USAGE_KEYS": "true"}):
            yield created
    finally:
        for key in client.get_api_keys()["items"]:
            if key["id"] not in keys_before:
                client.delete_api_key(apiKey=key["id"])
        for usage_plan_id in created.values():
            client.delete_usage_plan(usagePlanId=usage_plan_id)


def _key_of(tenant_id: str) -> dict[str, Any] | None:
    keys = aws.apigateway().get_api_keys(nameQuery=usage_key_name(tenant_id), includeValues=True)["items"]
    return next((key for key in keys if key["name"] == usage_key_name(tenant_id)), None)


def _plans_holding(usage_plans: dict[str, str], tenant_id: str) -> list[str]:
    key = _key_of(tenant_id)
    if key is None:
        return []
    held = {plan["id"] for plan in aws.apigateway().get_usage_plans(keyId=key["id"])["items"]}
    return sorted(plan_id for plan_id, usage_plan_id in usage_plans.items() if usage_plan_id in held)


def test_a_signup_gets_its_key_at_once_in_its_plans_usage_plan(api: Any, usage_plans: dict[str, str]) -> None:
    admin, _ = signup(api, plan="lojista")
    assert _plans_holding(usage_plans, admin.tenant_id) == ["lojista"]  # its first requests find it
    key = _key_of(admin.tenant_id)
    assert key is not None
    assert key["value"] == usage_key_value(admin.tenant_id)  # what the authorizer names for the tenant's requests
    assert key["enabled"] is True


def _pump_until(pump: Pump, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        assert time.monotonic() < deadline, "the key did not get there"
        if not pump():
            time.sleep(0.2)


def test_the_tenant_events_put_the_key_where_the_plan_says(api: Any, usage_plans: dict[str, str]) -> None:
    pump = Pump()  # table stream → outbox publisher → bus → the usage-keys rule → integrations queue → its job
    admin, _ = signup(api, plan="lojista")
    remove_usage_key(admin.tenant_id)  # as if API Gateway had failed during the signup
    _pump_until(pump, lambda: _plans_holding(usage_plans, admin.tenant_id) == ["lojista"])  # tenant.created
    key = _key_of(admin.tenant_id)
    change_plan(api, admin.tenant_id, "corporativo")
    _pump_until(pump, lambda: _plans_holding(usage_plans, admin.tenant_id) == ["corporativo"])  # tenant.plan_changed
    assert _key_of(admin.tenant_id) == key  # the same key, moved


def test_syncing_again_changes_nothing_and_a_removed_tenant_loses_its_key(
    api: Any, usage_plans: dict[str, str]
) -> None:
    admin, _ = signup(api, plan="empresa")  # the signup's key, then the operator's plan change (its event not run)
    assert (
        sync_usage_key(admin.tenant_id) == f"left usage plan {usage_plans['lojista']}; joined the usage plan of"
        f" empresa ({usage_plans['empresa']})"
    )
    assert _plans_holding(usage_plans, admin.tenant_id) == ["empresa"]
    assert sync_usage_key(admin.tenant_id) is None  # a redelivered event does nothing twice
    assert remove_usage_key(admin.tenant_id) == "deleted the API key"
    assert _key_of(admin.tenant_id) is None


def test_a_tenant_older_than_the_keys_gets_its_key_from_the_command(api: Any, usage_plans: dict[str, str]) -> None:
    admin, _ = signup(api, plan="empresa")
    remove_usage_key(admin.tenant_id)  # a tenant older than the keys
    assert main(["--tenant", admin.tenant_id]) == 0
    assert _plans_holding(usage_plans, admin.tenant_id) == ["empresa"]


def test_without_usage_plans_nothing_is_made(api: Any) -> None:
    admin, _ = signup(api, plan="lojista")
    assert sync_usage_key(admin.tenant_id) is None
    assert _key_of(admin.tenant_id) is None
