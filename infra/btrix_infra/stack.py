"""One stage of BTRIX as one CloudFormation stack: data, messaging, security, API, functions, workflows, operations.

Extension points (each a line or two): a queue, rule or secret → ``chalicelib.core.resources``; a webhook →
``functions.FUNCTION_URLS``; a Chalice handler (route, SQS consumer, websocket, schedule) → ``app.py`` (packaged by
Chalice); a built-in workflow → ``chalicelib.workflows`` (deployed from ``default_machines``); a usage plan →
``btrix_infra.usage_plans``; a permission of the app → ``_grant_app``. Dashboard rows and alarms follow from the
collections, not from per-resource code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Duration, Stack
from aws_cdk import aws_kms as kms
from cdk_nag import RegexAppliesTo
from constructs import Construct

from btrix_infra.constructs.api import ChaliceApi
from btrix_infra.constructs.data import DataTable
from btrix_infra.constructs.functions import BundleFunctions, FunctionUrls, OutboxPublisher
from btrix_infra.constructs.messaging import Messaging
from btrix_infra.constructs.monitoring import Monitoring, WatchedFunction
from btrix_infra.constructs.roles import FunctionRole
from btrix_infra.constructs.security import MediaBucket, Secrets, TenantAccessRole, encryption_key
from btrix_infra.constructs.workflows import WorkflowMachine, Workflows
from btrix_infra.nag import accept
from btrix_infra.packaging import Bundling, chalice_project, function_bundle
from btrix_infra.stage import ROOT, StageConfig, StageNames, chalice_stage_config
from chalicelib.core.resources import JWT_SIGNING_KEYS
from chalicelib.core.tenant_access import TENANT_ACTIONS
from chalicelib.workflows.compiler import default_machines
from functions import FUNCTION_URLS

__all__ = ["BtrixStack"]

# How far the outbox publisher may lag behind the table stream before someone is told.
_OUTBOX_MAX_LAG = Duration.minutes(5)


class BtrixStack(Stack):
    """Everything one stage (``dev``, ``prod``) runs on."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        bundling: Bundling,
        root: Path = ROOT,
        function_urls: Mapping[str, str] = FUNCTION_URLS,
        alarm_email: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            id,
            description=f"BTRIX {config.name}: API, data, messaging, operations",
            termination_protection=config.retain_data,
            **kwargs,
        )
        names = StageNames(config.name)

        data = DataTable(self, "Data", names=names, config=config)
        messaging = Messaging(self, "Messaging", names=names)
        key = encryption_key(self, "Key", names=names, config=config)
        secrets = Secrets(self, "Secrets", names=names, key=key)
        media = MediaBucket(self, "Media", key=key, config=config)

        flows = Workflows(
            self,
            "Workflows",
            names=names,
            config=config,
            machines=[
                WorkflowMachine(machine.name, machine.definition)
                for machine in default_machines(
                    {kind: job.queue.queue_url for kind, job in messaging.queues.items()}, names.prefix
                )
            ],
            queues=[job.queue for job in messaging.queues.values()],
        )
        app_role = FunctionRole(self, "AppRole", description=f"{names.prefix}: the API and the webhook handlers")
        tenant_access = TenantAccessRole(
            self, "TenantAccess", names=names, table=data.table, index_names=data.index_names, trusted=app_role.role
        )
        self._grant_app(
            app_role,
            data=data,
            messaging=messaging,
            secrets=secrets,
            key=key,
            tenant=tenant_access,
            flows=flows,
            media=media,
        )

        # The names the application would derive from BTRIX_STAGE, passed as references so CloudFormation creates
        # the table, bus and role before the functions that use them.
        resource_environment = {
            "BTRIX_TABLE_NAME": data.table.table_name,
            "BTRIX_EVENT_BUS_NAME": messaging.bus.event_bus_name,
            "BTRIX_TENANT_ROLE_ARN": tenant_access.role.role_arn,
            "BTRIX_WORKFLOW_ROLE_ARN": flows.role.role_arn,
            "BTRIX_MEDIA_BUCKET": media.bucket.bucket_name,
        }
        api = ChaliceApi(
            self,
            "Api",
            names=names,
            config=config,
            project_dir=chalice_project(root, bundling),
            build_dir=bundling.build_dir,
            role=app_role,
            environment=resource_environment,
            queues={names.queue(job.definition): job.queue for job in messaging.queues.values()},
        )
        functions = BundleFunctions(
            self,
            "Functions",
            bundle_dir=function_bundle(root, bundling),
            environment={**chalice_stage_config(config.name, root)["environment_variables"], **resource_environment},
            config=config,
        )
        secrets.seed(functions, key)
        # The REST API's authorizer: verifies the access token only to name its tenant's usage-plan key.
        authorizer_role = FunctionRole(self, "AuthorizerRole", description=f"{names.prefix}: the API's authorizer")
        authorizer_role.allow(
            "ReadSigningKeys",
            ["secretsmanager:GetSecretValue"],
            secrets.arn_patterns(authorizer_role, (JWT_SIGNING_KEYS,)),
        )
        authorizer_role.allow("DecryptSigningKeys", ["kms:Decrypt"], [key.key_arn])
        api.use_tenant_authorizer(
            functions.add(
                "Authorizer",
                handler="functions.authorizer.handler",
                role=authorizer_role,
                description="Names the caller's tenant's usage-plan key for API Gateway's per-tenant throttling",
                timeout_s=10,
            )
        )
        outbox = OutboxPublisher(self, "Outbox", names=names, functions=functions, table=data.table, bus=messaging.bus)
        # Each webhook function from its own asset, with only what its handler imports (issue 20: lean packages).
        bundles = {p: function_bundle(root, bundling, spec.partition(":")[0]) for p, spec in function_urls.items()}
        hooks = FunctionUrls(self, "Hooks", routes=function_urls, functions=functions, role=app_role, bundles=bundles)
        if "bitrix24" in hooks.urls:
            # The install link of POST /channels/bitrix24 points portals at the bitrix24 webhook's URL.
            api.add_environment("BTRIX_BITRIX24_HANDLER_URL", hooks.urls["bitrix24"].url)
        if "mercadopago" in hooks.urls:
            # Every MercadoPago preference names the mercadopago webhook function's URL for its notifications.
            api.add_environment("BTRIX_MERCADOPAGO_NOTIFICATION_URL", hooks.urls["mercadopago"].url)

        monitoring = Monitoring(self, "Monitoring", names=names, key=key, alarm_email=alarm_email)
        monitoring.watch_api(
            api_name=api.api_name, stage=api.stage_name, error_rate_threshold=config.api_5xx_rate_threshold
        )
        monitoring.watch_functions(
            [
                *api.functions,
                WatchedFunction(
                    "outbox-publisher", outbox.function.function_name, outbox.function.log_group.log_group_name
                ),
                *[
                    WatchedFunction(f"hook-{provider}", f.function_name, f.log_group.log_group_name)
                    for provider, f in hooks.functions.items()
                ],
            ]
        )
        monitoring.watch_stream(
            label="outbox-publisher", function_name=outbox.function.function_name, max_age=_OUTBOX_MAX_LAG
        )
        monitoring.watch_queues({kind.value: (job.queue, job.dlq) for kind, job in messaging.queues.items()})
        monitoring.watch_dead_letters({"outbox-publisher": outbox.failures})
        monitoring.watch_table(table_name=data.table.table_name, index_names=data.index_names)
        monitoring.watch_state_machines(flows.state_machines)
        monitoring.watch_business_metrics()
        monitoring.watch_gateway()

        self.api = api
        self.monitoring = monitoring
        self.tenant_access = tenant_access
        for name, value in {
            "TableName": data.table.table_name,
            "EventBusName": messaging.bus.event_bus_name,
            "MediaBucketName": media.bucket.bucket_name,
            "TenantAccessRoleArn": tenant_access.role.role_arn,
            "AlarmTopicArn": monitoring.topic.topic_arn,
            "DashboardName": monitoring.dashboard.dashboard_name,
        }.items():
            CfnOutput(self, name, value=value)

    @staticmethod
    def _grant_app(
        role: FunctionRole,
        *,
        data: DataTable,
        messaging: Messaging,
        secrets: Secrets,
        key: kms.IKey,
        tenant: TenantAccessRole,
        flows: Workflows,
        media: MediaBucket,
    ) -> None:
        """What the API and webhook code does today; a capability that needs more adds its statement here."""
        table_arn = data.table.table_arn
        indexes = [f"{table_arn}/index/{name}" for name in data.index_names]
        # No Scan: the request path never scans (DESIGN.md), and IAM holds it to that.
        role.allow("TableItems", TENANT_ACTIONS, [table_arn, *indexes])
        role.allow("TableHealth", ["dynamodb:DescribeTable"], [table_arn])
        queues = [job.queue.queue_arn for job in messaging.queues.values()]
        dead_letters = [job.dlq.queue_arn for job in messaging.queues.values()]
        role.allow("EnqueueJobs", ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"], queues)
        role.allow("DeadLetterDepth", ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"], dead_letters)
        role.allow("ReadSecrets", ["secretsmanager:GetSecretValue"], secrets.arn_patterns(role))
        role.allow("FieldEncryption", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], [key.key_arn])
        # The gateway keeps received WhatsApp media under the tenant's prefix and presigns GETs for Bitrix24 (the
        # URL carries this role's permission; the bucket's KMS key is covered by FieldEncryption above). Exports
        # write their CSV there too, tagged for expiry, in multipart uploads whose waiting bytes are deleted once
        # used (chalicelib/exports/files.py).
        role.allow(
            "MediaObjects",
            ["s3:PutObject", "s3:GetObject", "s3:PutObjectTagging", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            [media.bucket.arn_for_objects("T/*")],
        )
        role.allow("TenantSessions", ["sts:AssumeRole"], [tenant.role.role_arn])
        # The workflow engine creates machines with this role (Settings.workflow_role_arn), starts executions and
        # reports transitions with task tokens.
        role.allow("PassWorkflowRole", ["iam:PassRole"], [flows.role.role_arn])
        stack = Stack.of(role)
        machines = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=f"{flows.name_prefix}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        role.allow("RunWorkflows", ["states:CreateStateMachine", "states:StartExecution"], [machines])
        # Notifications' email channel sends through SES v2 from BTRIX_EMAIL_FROM, an identity verified in the
        # account when the stage is set up (DEPLOY.md); which one is configuration, so every identity of the account.
        identities = stack.format_arn(service="ses", resource="identity", resource_name="*")
        role.allow("SendEmail", ["ses:SendEmail"], [identities])
        role.allow("ReportTransitions", ["states:SendTaskSuccess", "states:SendTaskFailure"], ["*"])
        # Each tenant's API key in its plan's usage plan (chalicelib/tenants/usage_keys.py): keys are made at run time.
        gateway = f"arn:{stack.partition}:apigateway:{stack.region}::"
        role.allow(
            "TenantUsageKeys",
            ["apigateway:GET", "apigateway:POST", "apigateway:DELETE"],
            [f"{gateway}/apikeys", f"{gateway}/apikeys/*", f"{gateway}/usageplans", f"{gateway}/usageplans/*"],
        )
        accept(
            role.policy,
            "AwsSolutions-IAM5",
            "Workflow machines are created at run time under the stage's name prefix (<prefix>-wf-*); task-token"
            " calls (SendTaskSuccess/Failure) name a token, not a resource; media objects are written at run time"
            " under the tenants' prefix (T/*) of the media bucket; the email sender is an SES identity of the"
            " account chosen by configuration (BTRIX_EMAIL_FROM); tenants' API keys are created at run time (their"
            " ids unknown here) and put in the stage's usage plans",
            applies_to=[
                "Resource::*",
                RegexAppliesTo(regex="/^Resource::arn:<AWS::Partition>:states:.*:stateMachine:btrix-[a-z]+-wf-\\*$/g"),
                RegexAppliesTo(regex="/^Resource::<MediaBucket[A-Za-z0-9]+\\.Arn>\\/T\\/\\*$/g"),
                RegexAppliesTo(regex="/^Resource::arn:<AWS::Partition>:ses:.*:identity\\/\\*$/g"),
                RegexAppliesTo(
                    regex="/^Resource::arn:<AWS::Partition>:apigateway:.*::\\/(apikeys|usageplans)\\/\\*$/g"
                ),
            ],
        )
