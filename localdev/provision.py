"""Creates the stage's resources on the local stack from the definitions infra uses (idempotent)."""

from __future__ import annotations

import importlib
import json
import secrets as random_secrets
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.auth.keys import publish_key_set
from chalicelib.core import aws
from chalicelib.core.config import get_settings
from chalicelib.core.db.table import TTL_ATTRIBUTE, create_table_request
from chalicelib.core.resources import (
    QUEUES,
    RULES,
    SECRETS,
    QueueDef,
    dlq_name,
    kms_alias,
    queue_name,
    queue_url,
    rule_name,
    secret_name,
)

__all__ = ["LOCAL_WEBHOOK_SECRETS_FILE", "local_webhook_secrets", "provision"]


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _table() -> None:
    client = aws.dynamodb()
    name = get_settings().table_name
    try:
        client.create_table(**create_table_request(name))
    except ClientError as exc:
        if _code(exc) != "ResourceInUseException":
            raise
        return
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )


def _queue(definition: QueueDef) -> None:
    client = aws.sqs()
    fifo: dict[Any, str] = {"FifoQueue": "true"} if definition.fifo else {}
    dlq_url = client.create_queue(
        QueueName=dlq_name(definition.kind),
        Attributes={"MessageRetentionPeriod": str(definition.dlq_retention_s), **fifo},
    )["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client.create_queue(
        QueueName=queue_name(definition.kind),
        Attributes={
            "VisibilityTimeout": str(definition.visibility_timeout_s),
            "MessageRetentionPeriod": str(definition.retention_s),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(definition.max_receive_count)}
            ),
            **fifo,
        },
    )


def _bus() -> None:
    try:
        aws.eventbridge().create_event_bus(Name=get_settings().event_bus_name)
    except ClientError as exc:
        if _code(exc) != "ResourceAlreadyExistsException":
            raise


def _rules() -> None:
    events, sqs = aws.eventbridge(), aws.sqs()
    bus = get_settings().event_bus_name
    for rule in RULES:
        url = queue_url(queue_name(rule.target))
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=rule_name(rule), EventBusName=bus, EventPattern=json.dumps(rule.pattern()))
        events.put_targets(Rule=rule_name(rule), EventBusName=bus, Targets=[{"Id": rule.target.value, "Arn": arn}])


def _kms_key() -> None:
    client = aws.kms()
    alias = kms_alias()
    aliases = client.list_aliases()["Aliases"]
    if any(a["AliasName"] == alias for a in aliases):
        return
    key_id = client.create_key(Description=f"{get_settings().resource_prefix} field encryption")["KeyMetadata"]
    client.create_alias(AliasName=alias, TargetKeyId=key_id["KeyId"])


def _media_bucket() -> None:
    """The media bucket as infra makes it: private, encrypted by default with the stage's key."""
    client, name = aws.s3(), get_settings().media_bucket
    try:
        client.create_bucket(Bucket=name)
    except ClientError as exc:
        if _code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    client.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    rule: Any = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_alias()},
        "BucketKeyEnabled": True,
    }
    client.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})


# Fixed, well-known values for the platform secrets that verify provider webhooks, so that `make run` and the
# tests can sign requests the way a provider would. Only this local provisioning reads the file.
LOCAL_WEBHOOK_SECRETS_FILE = Path(__file__).with_name("webhook_secrets.json")


def local_webhook_secrets() -> dict[str, str]:
    """The local stack's values of the webhook secrets (secret suffix → value)."""
    values = json.loads(LOCAL_WEBHOOK_SECRETS_FILE.read_text())
    return {suffix: str(value) for suffix, value in values.items() if not suffix.startswith("_")}


def _secrets() -> None:
    client = aws.secrets_manager()
    local_values = local_webhook_secrets()
    for secret in SECRETS:
        if secret.generator:
            module, _, function = secret.generator.partition(":")
            value = str(getattr(importlib.import_module(module), function)())
        elif secret.generated_bytes:
            value = random_secrets.token_urlsafe(secret.generated_bytes)
        elif secret.suffix in local_values:
            value = local_values[secret.suffix]
        else:
            continue  # provider credentials are set by an operator, not invented here
        try:
            client.create_secret(Name=secret_name(secret), Description=secret.description, SecretString=value)
        except ClientError as exc:
            if _code(exc) != "ResourceExistsException":
                raise


def provision() -> None:
    """Create the table (GSIs, TTL, stream), the queues with their DLQs, the bus and its rules, the KMS key,
    the media bucket, the secrets, and the signing keys' public half (the guard verifies tokens with it)."""
    _table()
    for definition in QUEUES:
        _queue(definition)
    _bus()
    _rules()
    _kms_key()
    _media_bucket()
    _secrets()
    publish_key_set()
