"""AWS clients: created lazily once per process and shared; endpoints come from the standard env vars.

Every client comes from one boto3 session: a new session loads botocore's endpoint and retry data and resolves the
credentials again, which made a container's second client (the signing keys' Secrets Manager, on the first
authenticated request) cost as much as its first; from the shared session it costs a tenth of that. A session is
not safe to build clients from in several threads at once, so building one holds a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib.core.config import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

__all__ = [
    "apigateway",
    "dynamodb",
    "dynamodb_signed_by",
    "dynamodb_streams",
    "eventbridge",
    "kms",
    "reset_clients",
    "s3",
    "secrets_manager",
    "sqs",
    "stepfunctions",
    "sts",
    "websocket_management",
]


def _config(**options: Any) -> Any:
    from botocore.config import Config

    settings = get_settings()
    return Config(
        region_name=settings.region,
        connect_timeout=settings.aws_connect_timeout,
        read_timeout=settings.aws_read_timeout,
        retries={"mode": "standard", "max_attempts": settings.aws_max_attempts},
        **options,
    )


_building = threading.Lock()


@cache
def _session() -> Any:
    # boto3 is imported here, not at module import: building clients is the costly part of a cold start
    # and not every invocation needs every client.
    import boto3

    return boto3.session.Session()


@cache
def _client(service: str) -> Any:
    # S3 presigns with SigV4: objects encrypted with a KMS key refuse the legacy signature botocore would pick.
    options = {"signature_version": "s3v4"} if service == "s3" else {}
    with _building:
        return _session().client(service, config=_config(**options))


@cache
def websocket_management(endpoint_url: str) -> Any:
    """The API Gateway management client of a websocket API (its endpoint is per API and stage)."""
    with _building:
        return _session().client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=_config())


def dynamodb_signed_by(credentials: Mapping[str, Any]) -> DynamoDBClient:
    """A new DynamoDB client that signs with ``credentials`` (a tenant's scoped session, ``core/tenant_access.py``),
    built from the shared session: a tenant's first request in a container pays for a client, not a session."""
    with _building:
        client: DynamoDBClient = _session().client(
            "dynamodb",
            config=_config(),
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return client


def reset_clients() -> None:
    """Forget the cached clients and their session (after endpoints or credentials change, e.g. a new local stack)."""
    _client.cache_clear()
    websocket_management.cache_clear()
    _session.cache_clear()


def apigateway() -> Any:
    """The API Gateway (REST APIs) client: the tenants' usage-plan keys (``chalicelib/tenants/usage_keys.py``)."""
    return _client("apigateway")


def dynamodb() -> DynamoDBClient:
    """The DynamoDB client."""
    return _client("dynamodb")  # type: ignore[no-any-return]


def dynamodb_streams() -> DynamoDBStreamsClient:
    """The DynamoDB Streams client (a separate endpoint: ``AWS_ENDPOINT_URL_DYNAMODB_STREAMS``)."""
    return _client("dynamodbstreams")  # type: ignore[no-any-return]


def sqs() -> SQSClient:
    """The SQS client."""
    return _client("sqs")  # type: ignore[no-any-return]


def eventbridge() -> EventBridgeClient:
    """The EventBridge client."""
    return _client("events")  # type: ignore[no-any-return]


def stepfunctions() -> SFNClient:
    """The Step Functions client."""
    return _client("stepfunctions")  # type: ignore[no-any-return]


def kms() -> KMSClient:
    """The KMS client."""
    return _client("kms")  # type: ignore[no-any-return]


def sts() -> Any:
    """The STS client (the tenant-access role's sessions)."""
    return _client("sts")


def secrets_manager() -> SecretsManagerClient:
    """The Secrets Manager client."""
    return _client("secretsmanager")  # type: ignore[no-any-return]


def s3() -> S3Client:
    """The S3 client."""
    return _client("s3")  # type: ignore[no-any-return]
