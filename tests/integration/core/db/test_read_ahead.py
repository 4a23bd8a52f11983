"""A request's read-ahead: the guard reads the caller's user and tenant in one BatchGetItem, the handler's reads of
them answer from it, a write forgets it, and nothing read ahead outlives the request (a deactivated user or a
suspended tenant is refused on the very next request)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.access.permissions import Role
from chalicelib.core import aws
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TenantScopeViolation, read_ahead, tenant_scope
from chalicelib.core.ids import new_id
from tests.support.aws_calls import calls_of
from tests.support.identity import add_user, call, platform_operator, signup

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def dynamodb_calls() -> Iterator[list[str]]:
    """The DynamoDB operations the shared client makes meanwhile, in order."""
    with calls_of(aws.dynamodb()) as calls:
        yield calls


def _item(tenant_id: str, **fields: Any) -> dict[str, Any]:
    return {"PK": keys.entity_pk(tenant_id, Kind.ORDER, new_id()), "SK": keys.META_SK, "status": "NEW", **fields}


def test_prefetched_items_answer_gets_until_a_write(dynamodb_calls: list[str]) -> None:
    table, tenant_id = Table(), new_id()
    first, second = _item(tenant_id), _item(tenant_id)
    table.put(first)
    missing = (keys.entity_pk(tenant_id, Kind.ORDER, new_id()), keys.META_SK)
    dynamodb_calls.clear()
    with read_ahead():
        table.prefetch([(first["PK"], first["SK"]), (second["PK"], second["SK"]), missing])
        assert dynamodb_calls == ["BatchGetItem"]
        assert table.get(first["PK"], first["SK"]) == first
        assert table.get(second["PK"], second["SK"]) is None  # not written yet: read ahead as missing
        assert table.get(*missing) is None
        assert dynamodb_calls == ["BatchGetItem"]
        assert table.get(first["PK"], first["SK"], consistent=True) == first  # a consistent read asks DynamoDB
        table.put(second)  # any write forgets what was read ahead
        assert table.get(second["PK"], second["SK"]) == second
        assert dynamodb_calls == ["BatchGetItem", "GetItem", "PutItem", "GetItem"]
    dynamodb_calls.clear()
    table.prefetch([(first["PK"], first["SK"])])  # outside a request: nothing is read ahead
    assert table.get(first["PK"], first["SK"]) == first
    assert dynamodb_calls == ["GetItem"]


def test_items_read_ahead_stay_inside_the_tenant_scope() -> None:
    table, tenant_id = Table(), new_id()
    item = _item(tenant_id)
    table.put(item)
    with read_ahead():
        table.prefetch([(item["PK"], item["SK"])])
        with tenant_scope(new_id()), pytest.raises(TenantScopeViolation):
            table.get(item["PK"], item["SK"])


def test_an_authenticated_request_reads_user_and_tenant_once_and_the_handler_reuses_them(
    api: Any, dynamodb_calls: list[str]
) -> None:
    admin, _ = signup(api)
    dynamodb_calls.clear()
    answer = call(api, "GET", "/auth/me", headers=admin.headers())
    assert answer.status_code == 200
    assert answer.json_body["user"]["id"] == admin.user_id
    # The guard's BatchGetItem of the user and the tenant serves the handler's reads of both.
    assert dynamodb_calls == ["BatchGetItem"]


def test_a_deactivated_user_and_a_suspended_tenant_are_refused_on_the_very_next_request(api: Any) -> None:
    admin, _ = signup(api)
    staff = add_user(api, admin, Role.STAFF)
    assert call(api, "GET", "/auth/me", headers=staff.headers()).status_code == 200
    assert call(api, "POST", f"/users/{staff.user_id}/deactivate", headers=admin.headers()).status_code == 200
    assert call(api, "GET", "/auth/me", headers=staff.headers()).status_code == 401

    assert call(api, "GET", "/orders", headers=admin.headers()).status_code == 200
    operator = platform_operator(api)
    suspended = call(api, "POST", f"/platform/tenants/{admin.tenant_id}/suspend", headers=operator.headers())
    assert suspended.status_code == 200, suspended.json_body
    refused = call(api, "GET", "/orders", headers=admin.headers())
    assert (refused.status_code, refused.json_body["type"]) == (403, "urn:btrix:problem:tenant-suspended")
