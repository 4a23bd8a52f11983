"""AWS clients: created lazily once per process and shared; endpoints come from the standard env vars."""

from __future__ import annotations

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
    "dynamodb_streams",
    "eventbridge",
    "kms",
    "reset_clients",
    "s3",
    "secrets_manager",
    "sqs",
    "stepfunctions",
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


@cache
def _client(service: str) -> Any:
    # boto3 is imported here, not at module import: building clients is the costly part of a cold start
    # and not every invocation needs every client.
    import boto3

    # S3 presigns with SigV4: objects encrypted with a KMS key refuse the legacy signature botocore would pick.
    options = {"signature_version": "s3v4"} if service == "s3" else {}
    return boto3.session.Session().client(service, config=_config(**options))  # type: ignore[call-overload]


@cache
def websocket_management(endpoint_url: str) -> Any:
    """The API Gateway management client of a websocket API (its endpoint is per API and stage)."""
    import boto3

    return boto3.session.Session().client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=_config())


def reset_clients() -> None:
    """Forget the cached clients (after endpoints or credentials change, e.g. a new local stack)."""
    _client.cache_clear()
    websocket_management.cache_clear()


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


def secrets_manager() -> SecretsManagerClient:
    """The Secrets Manager client."""
    return _client("secretsmanager")  # type: ignore[no-any-return]


def s3() -> S3Client:
    """The S3 client."""
    return _client("s3")  # type: ignore[no-any-return]
