"""Keys and boundaries: the KMS key, the secrets, the media bucket and the tenant-access role."""

from __future__ import annotations

import math
from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from btrix_infra.nag import accept
from btrix_infra.stage import StageConfig, StageNames
from chalicelib.core.resources import SECRETS, SecretDef
from chalicelib.core.tenant_access import TENANT_ACTIONS

__all__ = ["MediaBucket", "Secrets", "TenantAccessRole", "encryption_key"]

# Generated secrets are alphanumeric: this many characters carry at least the entropy of the bytes asked for.
_BITS_PER_CHARACTER = math.log2(62)


def encryption_key(scope: Construct, id: str, *, names: StageNames, config: StageConfig) -> kms.Key:
    """The stage's key: field encryption, secrets, the media bucket and the alarm topic; rotated yearly."""
    key = kms.Key(
        scope,
        id,
        alias=names.kms_alias,
        description=f"{names.prefix}: field encryption, secrets, media, alarms",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
    )
    # CloudWatch alarms publish to the encrypted alarm topic: the service must be able to use the key.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
        )
    )
    return key


class Secrets(Construct):
    """One secret per generated ``SecretDef``; operator-set ones (provider credentials) are created by hand.

    Secrets Manager cannot hold an empty secret, and a made-up value would pass for a credential; the local
    provisioning skips them for the same reason. ``arn_patterns`` covers both kinds, so grants need no change
    when an operator creates one (docs/DEPLOY.md).
    """

    def __init__(self, scope: Construct, id: str, *, names: StageNames, key: kms.IKey) -> None:
        super().__init__(scope, id)
        self.created: dict[str, secretsmanager.Secret] = {}
        for secret in SECRETS:
            if not secret.generated_bytes:
                continue
            self.created[secret.suffix] = secretsmanager.Secret(
                self,
                secret.suffix,
                secret_name=names.secret(secret),
                description=secret.description,
                encryption_key=key,
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True,
                    include_space=False,
                    password_length=math.ceil(secret.generated_bytes * 8 / _BITS_PER_CHARACTER),
                ),
            )
        self._names = names
        accept(
            self,
            "AwsSolutions-SMG4",
            "HMAC keys (cursor signing, lookup hashes): rotating one invalidates outstanding cursors or every stored"
            " lookup hash, so it is a planned operator procedure (docs/DEPLOY.md), not an automatic schedule",
        )

    def arn_patterns(self, scope: Construct, secrets: tuple[SecretDef, ...] = SECRETS) -> list[str]:
        """ARNs matching each secret by name (Secrets Manager appends six random characters)."""
        stack = Stack.of(scope)
        return [
            stack.format_arn(
                service="secretsmanager",
                resource="secret",
                resource_name=f"{self._names.secret(secret)}-??????",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for secret in secrets
        ]


class MediaBucket(Construct):
    """Media and exports: KMS-encrypted, no public access, TLS only, access-logged to a second bucket."""

    def __init__(self, scope: Construct, id: str, *, key: kms.IKey, config: StageConfig) -> None:
        super().__init__(scope, id)
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access logging can only write to buckets encrypted with S3-managed keys.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(config.log_retention_days))],
            removal_policy=removal,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="media/",
            lifecycle_rules=[s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(7))],
            removal_policy=removal,
        )


class TenantAccessRole(Construct):
    """The role tenant sessions assume: its own ceiling is the table and its indexes, the tenant's session policy
    (``chalicelib.core.tenant_access``) narrows each session to ``T#<tenantId>#*`` keys."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: StageNames,
        table: dynamodb.ITable,
        index_names: Sequence[str],
        trusted: iam.IRole,
    ) -> None:
        super().__init__(scope, id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=names.infra("tenant-access"),
            description="Assumed per tenant with a session policy on dynamodb:LeadingKeys (docs/SECURITY.md)",
            assumed_by=iam.ArnPrincipal(trusted.role_arn),
            max_session_duration=Duration.hours(1),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="TenantItems",
                actions=list(TENANT_ACTIONS),
                resources=[table.table_arn, *[f"{table.table_arn}/index/{name}" for name in index_names]],
            )
        )
