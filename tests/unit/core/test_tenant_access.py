"""Tenant session policies: tenant A's credentials reach only T#A#… keys; sessions are cached until near expiry."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from chalicelib.core import aws, clock, tenant_access
from chalicelib.core.config import Settings
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind, RouteKind
from chalicelib.core.tenant_access import (
    InvalidTenantId,
    TenantClients,
    tenant_session_policy,
    tenant_table_arn,
)

ROLE = "arn:aws:iam::123456789012:role/btrix-dev-tenant-access"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/btrix-dev"
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _like(pattern: str, value: str) -> bool:
    # IAM StringLike: "*" any run of characters, "?" one character, everything else literal (fnmatch's "[" is not).
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _resource_matches(pattern: str, resource: str) -> bool:
    return _like(pattern, resource)


def allows(policy: Mapping[str, Any], action: str, resource: str, leading_keys: list[str]) -> bool:
    """IAM's evaluation of this policy shape: an Allow statement matches action, resource and every condition."""
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow" or action not in statement["Action"]:
            continue
        if not any(_resource_matches(p, resource) for p in statement["Resource"]):
            continue
        conditions = statement.get("Condition", {})
        assert set(conditions) <= {"ForAllValues:StringLike"}, "the matcher only knows this operator"
        patterns = conditions.get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys", ["*"])
        # ForAllValues: every value in the request must match one of the patterns (true for no values at all).
        if all(any(_like(p, key) for p in patterns) for key in leading_keys):
            return True
    return False


def test_policy_allows_tenant_own_keys_on_table_and_indexes() -> None:
    policy = tenant_session_policy("TENANTA", TABLE)
    own = [
        keys.entity_pk("TENANTA", Kind.USER, "U1"),
        keys.collection_pk("TENANTA", Collection.USERS),
        keys.event_pk("TENANTA", "E1"),
    ]
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"):
        assert allows(policy, action, TABLE, own[:1])
    assert allows(policy, "dynamodb:Query", f"{TABLE}/index/GSI1", own[1:2])
    assert allows(policy, "dynamodb:BatchWriteItem", TABLE, own)


def test_policy_denies_other_tenants_keys() -> None:
    policy = tenant_session_policy("TENANTA", TABLE)
    other = keys.entity_pk("TENANTB", Kind.USER, "U1")
    assert not allows(policy, "dynamodb:GetItem", TABLE, [other])
    assert not allows(
        policy, "dynamodb:Query", f"{TABLE}/index/GSI1", [keys.collection_pk("TENANTB", Collection.USERS)]
    )
    # One foreign key in a batch is enough to refuse the whole request.
    assert not allows(policy, "dynamodb:BatchGetItem", TABLE, [keys.entity_pk("TENANTA", Kind.USER, "U1"), other])


def test_policy_denies_a_tenant_whose_id_extends_another() -> None:
    policy = tenant_session_policy("A", TABLE)
    assert allows(policy, "dynamodb:GetItem", TABLE, [keys.entity_pk("A", Kind.USER, "U1")])
    assert not allows(policy, "dynamodb:GetItem", TABLE, [keys.entity_pk("AB", Kind.USER, "U1")])


def test_policy_denies_global_routes_scans_and_other_tables() -> None:
    policy = tenant_session_policy("TENANTA", TABLE)
    route = keys.route_pk(RouteKind.LOGIN_EMAIL, "someone@example.com")
    assert not allows(policy, "dynamodb:GetItem", TABLE, [route])
    # A Scan names no partition key, so ForAllValues would hold: the action itself must be absent.
    assert not allows(policy, "dynamodb:Scan", TABLE, [])
    assert not allows(policy, "dynamodb:GetItem", TABLE.replace("btrix-dev", "btrix-prod"), ["T#TENANTA#USER#U1"])


def test_policy_condition_is_exactly_the_tenant_prefix() -> None:
    statement = tenant_session_policy("01HZX", TABLE)["Statement"][0]
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["T#01HZX#*"]}}
    assert statement["Resource"] == [TABLE, f"{TABLE}/index/*"]
    assert "dynamodb:Scan" not in statement["Action"]


@pytest.mark.parametrize("tenant_id", ["", "*", "A*", "A?", "A#B", "A/B", "x" * 65])
def test_policy_refuses_tenant_ids_that_widen_the_pattern(tenant_id: str) -> None:
    with pytest.raises(InvalidTenantId):
        tenant_session_policy(tenant_id, TABLE)


def test_table_arn_takes_partition_and_account_from_the_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "cn-north-1")
    settings = Settings(stage="prod", tenant_role_arn="arn:aws-cn:iam::210987654321:role/t")
    assert tenant_table_arn(settings) == "arn:aws-cn:dynamodb:cn-north-1:210987654321:table/btrix-prod"


def test_settings_refuse_a_role_arn_that_is_not_a_role() -> None:
    with pytest.raises(ValueError, match="tenant_role_arn"):
        Settings(tenant_role_arn="arn:aws:iam::123456789012:user/someone")


class FakeSts:
    """Records AssumeRole calls and hands out credentials valid for the requested duration."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def assume_role(self, **kwargs: Any) -> Mapping[str, Any]:
        self.calls.append(kwargs)
        number = len(self.calls)
        return {
            "Credentials": {
                "AccessKeyId": f"AKID{number}",
                "SecretAccessKey": "secret",
                "SessionToken": f"token{number}",
                "Expiration": clock.now() + timedelta(seconds=kwargs["DurationSeconds"]),
            }
        }


def _clients(sts: FakeSts, max_tenants: int = 256) -> TenantClients:
    # The "client" is the access key it would sign with: enough to tell sessions apart.
    return TenantClients(ROLE, TABLE, sts, client_factory=lambda creds: creds["AccessKeyId"], max_tenants=max_tenants)


def _key(client: object) -> str:
    return cast(str, client)


def test_clients_assume_the_role_with_the_tenant_policy() -> None:
    sts = FakeSts()
    with clock.frozen_clock(START):
        assert _key(_clients(sts).client("TENANTA")) == "AKID1"
    call = sts.calls[0]
    assert call["RoleArn"] == ROLE
    assert call["RoleSessionName"] == "tenant-TENANTA"
    assert '"dynamodb:LeadingKeys":["T#TENANTA#*"]' in call["Policy"]


def test_clients_are_cached_per_tenant_until_shortly_before_expiry() -> None:
    sts = FakeSts()
    clients = _clients(sts)
    with clock.frozen_clock(START) as advance:
        first = clients.client("TENANTA")
        assert clients.client("TENANTA") is first
        assert clients.client("TENANTB") != first
        assert len(sts.calls) == 2
        advance(timedelta(minutes=54))
        assert clients.client("TENANTA") is first
        advance(timedelta(minutes=2))  # 4 minutes left: inside the refresh margin
        assert clients.client("TENANTA") != first
        assert len(sts.calls) == 3


def test_clients_forget_the_least_recently_used_tenant_beyond_the_bound() -> None:
    sts = FakeSts()
    clients = _clients(sts, max_tenants=2)
    with clock.frozen_clock(START):
        clients.client("A")
        clients.client("B")
        clients.client("A")
        clients.client("C")  # evicts B, the least recently used
        clients.client("A")
        assert len(sts.calls) == 3
        clients.client("B")
        assert len(sts.calls) == 4


def test_sts_failure_is_a_dependency_error() -> None:
    from botocore.exceptions import ClientError

    from chalicelib.core.errors import DependencyUnavailable

    class DeniedSts:
        def assume_role(self, **kwargs: Any) -> Mapping[str, Any]:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")

    with pytest.raises(DependencyUnavailable):
        TenantClients(ROLE, TABLE, DeniedSts()).client("TENANTA")


def test_without_a_role_the_shared_client_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tenant_access, "get_settings", lambda: Settings(tenant_role_arn=""))
    tenant_access.reset_tenant_clients()
    try:
        assert tenant_access.tenant_dynamodb("TENANTA") is aws.dynamodb()
        with pytest.raises(InvalidTenantId):
            tenant_access.tenant_dynamodb("A*")
    finally:
        tenant_access.reset_tenant_clients()
