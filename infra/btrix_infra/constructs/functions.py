"""Lambda handlers of ``functions/``: the table-stream outbox publisher and the providers' webhook function URLs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from btrix_infra.constructs.messaging import dead_letter_queue
from btrix_infra.constructs.roles import FunctionRole
from btrix_infra.nag import accept
from btrix_infra.stage import StageConfig, StageNames
from chalicelib.core.db.table import ENTITY
from chalicelib.core.events import EVENT_ENTITY

__all__ = ["LAMBDA_RUNTIME", "BundleFunctions", "FunctionUrls", "OutboxPublisher", "retention"]

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_11
_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
}


def retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs' retention setting for ``days`` (one of the values it offers)."""
    return _RETENTION[days]


class BundleFunctions(Construct):
    """Functions built from one code asset (``functions/`` + ``chalicelib/`` + the runtime requirements)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bundle_dir: Path,
        environment: Mapping[str, str],
        config: StageConfig,
    ) -> None:
        super().__init__(scope, id)
        self.code = lambda_.Code.from_asset(str(bundle_dir))
        self._environment = dict(environment)
        self._config = config
        self.functions: dict[str, lambda_.Function] = {}

    def add(
        self,
        id: str,
        *,
        handler: str,
        role: FunctionRole,
        description: str,
        timeout_s: int = 30,
        memory_mb: int = 256,
        code: lambda_.Code | None = None,
    ) -> lambda_.Function:
        """A function running ``handler`` (``module.function``) with its own log group, logging through ``role``;
        from ``code`` (its own asset) if given, else from the asset of every handler."""
        log_group = logs.LogGroup(
            self,
            f"{id}Logs",
            retention=retention(self._config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        function = lambda_.Function(
            self,
            id,
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.X86_64,
            handler=handler,
            code=code or self.code,
            role=role.role,
            environment=self._environment,
            log_group=log_group,
            timeout=Duration.seconds(timeout_s),
            memory_size=memory_mb,
            description=description,
        )
        role.write_logs(f"{id}Logs", log_group.log_group_arn)
        accept(
            function,
            "AwsSolutions-L1",
            f"{LAMBDA_RUNTIME.name} is the Python the application is built, packaged (Chalice packages for the"
            " interpreter it runs on) and tested with; a newer runtime is a project-wide upgrade",
        )
        function.node.add_dependency(role.policy)
        self.functions[id] = function
        return function


class OutboxPublisher(Construct):
    """Table stream → ``functions.outbox_publisher.handler`` → the event bus; failures to a dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: StageNames,
        functions: BundleFunctions,
        table: dynamodb.ITable,
        bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, id)
        self.role = FunctionRole(self, "Role", description="Outbox publisher: table stream to the event bus")
        self.role.allow("PublishEvents", ["events:PutEvents"], [bus.event_bus_arn])
        self.function = functions.add(
            "OutboxPublisher",
            handler="functions.outbox_publisher.handler",
            role=self.role,
            description="Publishes the outbox's event items from the table stream to the EventBridge bus",
            timeout_s=60,
        )
        self.failures: sqs.Queue = dead_letter_queue(
            self, "Failures", name=names.infra("outbox-failures"), retention=Duration.days(14)
        )
        accept(
            self.failures,
            "AwsSolutions-SQS3",
            "This queue is a dead-letter queue: the on-failure destination of the stream event source (the rule only"
            " recognises DLQs named in another queue's redrive policy)",
        )
        self.function.add_event_source(
            sources.DynamoEventSource(
                table,
                # From the oldest record still in the stream: events written before the mapping existed count too.
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=100,
                max_batching_window=Duration.seconds(1),
                report_batch_item_failures=True,
                bisect_batch_on_error=True,
                retry_attempts=10,
                max_record_age=Duration.days(1),
                on_failure=sources.SqsDlq(self.failures),
                # Only outbox inserts: the handler skips every other record, so Lambda need not be invoked for them.
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.is_equal("INSERT"),
                            "dynamodb": {"NewImage": {ENTITY: {"S": lambda_.FilterRule.is_equal(EVENT_ENTITY)}}},
                        }
                    )
                ],
            )
        )
        # The event source's grant creates the role's default policy: accepted once it exists.
        accept(
            self.role.role,
            "AwsSolutions-IAM5",
            "dynamodb:ListStreams, which the stream event source needs, supports no resource-level permissions",
            applies_to=["Resource::*"],
        )


class FunctionUrls(Construct):
    """One function URL per entry of ``functions.FUNCTION_URLS`` (provider → ``module:function``), each function
    from its own asset (``bundles``: provider → the folder with only what its handler imports).

    Providers cannot sign AWS requests, so the URLs are public (auth type NONE); each handler verifies the
    provider's signature on the raw body before it stores or enqueues anything.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        routes: Mapping[str, str],
        functions: BundleFunctions,
        role: FunctionRole,
        bundles: Mapping[str, Path] | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.urls: dict[str, lambda_.FunctionUrl] = {}
        self.functions: dict[str, lambda_.Function] = {}
        for provider, spec in routes.items():
            module, _, handler = spec.partition(":")
            function = functions.add(
                f"Hook-{provider}",
                handler=f"{module}.{handler}",
                role=role,
                description=f"Webhook of {provider} (function URL)",
                code=lambda_.Code.from_asset(str(bundles[provider])) if bundles and provider in bundles else None,
            )
            url = function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
            CfnOutput(self, f"Url-{provider}", value=url.url, description=f"Webhook URL for {provider}")
            self.functions[provider] = function
            self.urls[provider] = url
