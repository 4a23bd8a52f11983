"""Fixtures of the workflow tests: a tenant, a registered test entity type, entities, and the queue worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from chalicelib.access.permissions import Role
from chalicelib.access.principal import Principal
from chalicelib.core import aws
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table
from chalicelib.core.db.table import ENTITY
from chalicelib.core.ids import new_id
from chalicelib.workflows import engine, store
from chalicelib.workflows.engine import EntitySpec, OnTransition
from chalicelib.workflows.entities import entity_specs
from chalicelib.workflows.models import EntityType
from tests.support.identity import Account, call, signup

# The engine's own tests run a made-up flow on the "marketplace_transaction" entity type (no capability registers
# it yet, and its status events carry the engine's generic data); an entity is a bare item written by the test, as
# its owner capability would write it.
TEST_TYPE = EntityType.MARKETPLACE_TRANSACTION
TEST_KIND = Kind.SALE


def flow(
    *,
    pending_timer: dict[str, Any] | None = None,
    active_timers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A small flow: PENDING → ACTIVE → DONE, CANCELLED from both, with the given timers."""
    return {
        "initial": "PENDING",
        "statuses": [
            {
                "name": "PENDING",
                "labels": {"en-US": "Waiting", "pt-BR": "Aguardando"},
                "onEnter": [{"kind": "notify", "template": "sale.received", "channel": "sms", "to": "customer"}],
                "timers": [pending_timer or {"afterSeconds": 3600, "transitionTo": "CANCELLED"}],
            },
            {"name": "ACTIVE", "timers": active_timers or []},
            {"name": "DONE", "terminal": True, "onEnter": [{"kind": "emit_webhook", "event": "sale.done"}]},
            {"name": "CANCELLED", "terminal": True},
        ],
        "transitions": [
            {"from": "PENDING", "to": "ACTIVE", "roles": ["STAFF", "MANAGER"]},
            {"from": "ACTIVE", "to": "DONE", "roles": ["MANAGER"]},
            {"from": "PENDING", "to": "CANCELLED", "roles": ["STAFF", "MANAGER"]},
            {"from": "ACTIVE", "to": "CANCELLED", "roles": ["MANAGER"]},
        ],
    }


@pytest.fixture
def admin(api: Any) -> Account:
    """A fresh restaurant tenant's ADMIN."""
    account, _ = signup(api, businessType="restaurant")
    return account


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Callable[[OnTransition | None], EntitySpec]:
    """Registers the test entity type (optionally with an owner's hook) for the duration of the test."""

    def register(hook: OnTransition | None = None) -> EntitySpec:
        spec = EntitySpec(TEST_TYPE, TEST_KIND, hook)
        monkeypatch.setitem(entity_specs(), TEST_TYPE, spec)
        return spec

    register()
    return register


def use_flow(api: Any, admin: Account, body: dict[str, Any]) -> int:
    """Write the tenant's flow for the test entity type; returns its version."""
    response = call(api, "PUT", f"/workflows/{TEST_TYPE.value}", body, admin.headers())
    assert response.status_code == 200, response.body
    return int(response.json_body["version"])


def new_entity(tenant_id: str, **fields: Any) -> str:
    """Create a test entity as its owner would: item with the engine's initial fields, then start it."""
    entity_id = new_id()
    pk, sk = store.entity_key(tenant_id, TEST_KIND, entity_id)
    Table().put_new(
        {
            "PK": pk,
            "SK": sk,
            ENTITY: "TestEntity",
            "id": entity_id,
            "version": 1,
            "customerId": "cust-1",
            **engine.initial_fields(tenant_id, TEST_TYPE),
            **fields,
        }
    )
    engine.start(tenant_id, TEST_TYPE, entity_id)
    return entity_id


def actor(account: Account, role: Role) -> Principal:
    """A user of ``account``'s tenant with ``role``."""
    return Principal(
        user_id=new_id(), tenant_id=account.tenant_id, role=role, email=f"{role.value.lower()}@example.com"
    )


def entity(tenant_id: str, entity_id: str) -> dict[str, Any]:
    item = store.get_entity(tenant_id, TEST_KIND, entity_id)
    assert item is not None
    return item


def parked_in(tenant_id: str, entity_id: str, status: str, timer: int = 0) -> bool:
    """Whether the entity's execution is parked in ``status`` (waiting for its timer ``timer``)."""
    runtime = store.get_runtime(tenant_id, TEST_KIND, entity_id)
    return runtime.task_token is not None and (runtime.parked_status, runtime.parked_timer) == (status, timer)


def execution_status(tenant_id: str, entity_id: str) -> str:
    arn = store.get_runtime(tenant_id, TEST_KIND, entity_id).execution_arn
    assert arn is not None
    return str(aws.stepfunctions().describe_execution(executionArn=arn)["status"])


def iso_in(seconds: float) -> str:
    """An ISO 8601 UTC timestamp ``seconds`` from now."""
    from datetime import UTC, timedelta

    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
