"""Tenant-scoped DynamoDB access: STS session policies limited to one tenant's keys, and clients built from them.

The tenant-access role (infra) may touch the whole table and its indexes; each session assumes it with a session
policy whose ``dynamodb:LeadingKeys`` condition only matches ``T#<tenantId>#*``. The effective permissions are the
intersection of the two, so a bug in a tenant's request path cannot read or write another tenant's partitions.
Model and limits: ``docs/SECURITY.md`` ("Tenant isolation").
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.core import aws, clock
from chalicelib.core.config import Settings, get_settings
from chalicelib.core.db.keys import tenant_prefix
from chalicelib.core.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "TENANT_ACTIONS",
    "InvalidTenantId",
    "TenantClients",
    "reset_tenant_clients",
    "tenant_dynamodb",
    "tenant_session_policy",
    "tenant_table_arn",
]

# Only actions whose every request names its partition keys. "ForAllValues" over an empty set is true, so an
# action without leading keys (Scan, PartiQL, DescribeTable) would pass the condition: it must not be listed.
TENANT_ACTIONS: tuple[str, ...] = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
)

# A tenant id becomes part of a StringLike pattern: "*" or "?" in it would widen the pattern to other tenants.
_TENANT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SESSION_DURATION = timedelta(hours=1)
# Credentials are renewed this long before they expire, so a request never starts with ones about to lapse.
_REFRESH_MARGIN = timedelta(minutes=5)
_MAX_CACHED_TENANTS = 256


class InvalidTenantId(ValueError):
    """Raised when a tenant id has characters that a key prefix or an IAM pattern cannot carry safely."""


class _AssumesRoles(Protocol):
    def assume_role(self, **kwargs: Any) -> Mapping[str, Any]: ...


ClientFactory = Callable[[Mapping[str, Any]], "DynamoDBClient"]


def _checked(tenant_id: str) -> str:
    if not _TENANT_ID.fullmatch(tenant_id):
        raise InvalidTenantId(f"tenant id must be 1-64 letters, digits, '_' or '-': {tenant_id!r}")
    return tenant_id


def tenant_session_policy(tenant_id: str, table_arn: str) -> dict[str, Any]:
    """The session policy that limits a session to the items and index entries of ``tenant_id``."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TenantItemsOnly",
                "Effect": "Allow",
                "Action": list(TENANT_ACTIONS),
                "Resource": [table_arn, f"{table_arn}/index/*"],
                "Condition": {
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{tenant_prefix(_checked(tenant_id))}*"]}
                },
            }
        ],
    }


def tenant_table_arn(settings: Settings) -> str:
    """The table's ARN; partition and account are the tenant role's (the role lives beside the table)."""
    _, partition, _, _, account, _ = settings.tenant_role_arn.split(":", 5)
    return f"arn:{partition}:dynamodb:{settings.region}:{account}:table/{settings.table_name}"


def _dynamodb_from(credentials: Mapping[str, Any]) -> DynamoDBClient:
    return aws.dynamodb_signed_by(credentials)


@dataclass(frozen=True)
class _Session:
    client: DynamoDBClient
    expires_at: datetime


class TenantClients:
    """DynamoDB clients limited to one tenant each, kept until shortly before their credentials expire."""

    def __init__(
        self,
        role_arn: str,
        table_arn: str,
        sts: _AssumesRoles,
        *,
        client_factory: ClientFactory = _dynamodb_from,
        max_tenants: int = _MAX_CACHED_TENANTS,
    ) -> None:
        self._role_arn = role_arn
        self._table_arn = table_arn
        self._sts = sts
        self._client_factory = client_factory
        self._max_tenants = max_tenants
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._lock = threading.Lock()

    def client(self, tenant_id: str) -> DynamoDBClient:
        """A DynamoDB client that can only reach ``tenant_id``'s keys (assumes the role when none is fresh)."""
        _checked(tenant_id)
        with self._lock:
            cached = self._sessions.get(tenant_id)
            if cached is not None and clock.now() < cached.expires_at - _REFRESH_MARGIN:
                self._sessions.move_to_end(tenant_id)
                return cached.client
        # STS is called outside the lock: one slow AssumeRole must not hold up other tenants' requests.
        session = self._assume(tenant_id)
        with self._lock:
            self._sessions[tenant_id] = session
            self._sessions.move_to_end(tenant_id)
            while len(self._sessions) > self._max_tenants:
                self._sessions.popitem(last=False)
        return session.client

    def _assume(self, tenant_id: str) -> _Session:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._sts.assume_role(
                RoleArn=self._role_arn,
                RoleSessionName=f"tenant-{tenant_id}"[:64],
                Policy=json.dumps(tenant_session_policy(tenant_id, self._table_arn), separators=(",", ":")),
                DurationSeconds=int(_SESSION_DURATION.total_seconds()),
            )
        except (ClientError, BotoCoreError) as exc:
            raise DependencyUnavailable(detail="tenant-scoped credentials could not be obtained") from exc
        credentials = response["Credentials"]
        return _Session(client=self._client_factory(credentials), expires_at=credentials["Expiration"])


def _sts() -> _AssumesRoles:
    client: _AssumesRoles = aws.sts()
    return client


@cache
def _tenant_clients() -> TenantClients | None:
    settings = get_settings()
    if not settings.tenant_role_arn:
        return None
    return TenantClients(settings.tenant_role_arn, tenant_table_arn(settings), _sts())


def tenant_dynamodb(tenant_id: str) -> DynamoDBClient:
    """A DynamoDB client for ``tenant_id``'s requests: scoped by IAM to ``T#<tenantId>#*`` keys.

    Without ``BTRIX_TENANT_ROLE_ARN`` (locally, where nothing enforces IAM) it is the process's shared client.
    Raises ``InvalidTenantId`` for an id that could widen the policy, ``DependencyUnavailable`` if STS refuses.
    """
    clients = _tenant_clients()
    if clients is None:
        _checked(tenant_id)
        return aws.dynamodb()
    return clients.client(tenant_id)


def reset_tenant_clients() -> None:
    """Forget cached tenant sessions (after settings or endpoints change; ``aws.reset_clients`` forgets STS's)."""
    _tenant_clients.cache_clear()
