"""Tenant-scoped clients against the local stack: AssumeRole (moto) with the session policy, then DynamoDB Local.

DynamoDB Local does not evaluate IAM, so what the policy allows is proven in tests/unit/core/test_tenant_access.py;
here the credentials are real STS output and the client built from them reaches the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.core import tenant_access
from chalicelib.core.config import get_settings
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Kind
from chalicelib.core.tenant_access import TenantClients, tenant_table_arn

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture(scope="module")
def role_arn() -> str:
    """The tenant-access role, as infra creates it (trusting the account, here moto's)."""
    iam = boto3.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}],
    }
    try:
        arn: str = iam.get_role(RoleName="btrix-local-tenant-access")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName="btrix-local-tenant-access", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]
    return arn


@pytest.fixture
def scoped_settings(monkeypatch: pytest.MonkeyPatch, role_arn: str) -> Iterator[None]:
    """Settings with the tenant role, restored (and caches forgotten) afterwards."""
    monkeypatch.setenv("BTRIX_TENANT_ROLE_ARN", role_arn)
    get_settings.cache_clear()
    tenant_access.reset_tenant_clients()
    yield
    monkeypatch.delenv("BTRIX_TENANT_ROLE_ARN")
    get_settings.cache_clear()
    tenant_access.reset_tenant_clients()


def _item(tenant_id: str) -> dict[str, Any]:
    return {"PK": {"S": keys.entity_pk(tenant_id, Kind.USER, "U1")}, "SK": {"S": keys.META_SK}}


@pytest.mark.usefixtures("scoped_settings")
def test_tenant_client_uses_assumed_role_credentials_and_reaches_the_table(tenant_id: str) -> None:
    client = tenant_access.tenant_dynamodb(tenant_id)
    credentials = client._request_signer._credentials  # type: ignore[attr-defined]  # what the client signs with
    # The process's own (local stack) credentials are "local" with no token: these came from AssumeRole.
    assert credentials.access_key != "local"
    assert credentials.token
    table = get_settings().table_name
    client.put_item(TableName=table, Item={**_item(tenant_id), "name": {"S": "Ana"}})
    got = client.get_item(TableName=table, Key=_item(tenant_id), ConsistentRead=True)["Item"]
    assert got["name"] == {"S": "Ana"}


@pytest.mark.usefixtures("scoped_settings")
def test_tenant_clients_are_reused_per_tenant(tenant_id: str) -> None:
    first = tenant_access.tenant_dynamodb(tenant_id)
    assert tenant_access.tenant_dynamodb(tenant_id) is first
    assert tenant_access.tenant_dynamodb(f"{tenant_id}X") is not first


def test_assume_role_accepts_the_session_policy(role_arn: str, tenant_id: str) -> None:
    seen: list[dict[str, Any]] = []

    class RecordingSts:
        def __init__(self) -> None:
            self._sts = boto3.client("sts")

        def assume_role(self, **kwargs: Any) -> Any:
            seen.append(kwargs)
            return self._sts.assume_role(**kwargs)

    settings = get_settings().model_copy(update={"tenant_role_arn": role_arn})
    clients = TenantClients(role_arn, tenant_table_arn(settings), RecordingSts())
    client = clients.client(tenant_id)
    assert client.meta.region_name == settings.region
    policy = json.loads(seen[0]["Policy"])
    assert policy["Statement"][0]["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == [
        f"{keys.tenant_prefix(tenant_id)}*"
    ]
    assert policy["Statement"][0]["Resource"][0].endswith(f":table/{settings.table_name}")
