"""The Chalice app (``chalice.cdk.Chalice``): REST API with Gateway Responses, throttling and usage plans; websocket
API and SQS consumers when app.py declares them; every Chalice function's logs, variables and permissions.

Per-tenant throttling: the REST API takes its API keys from an authorizer (key source ``AUTHORIZER``) and every
authenticated route requires one, so API Gateway counts each request against the usage plan of the caller's
tenant's plan (``use_tenant_authorizer``; the keys are the application's, ``chalicelib/tenants/usage_keys.py``).
Routes without a caller (login, signup, docs, health) have neither: the stage throttle alone applies to them.

What it adds to Chalice's definitions (Gateway Responses, CORS preflights, the protected methods, the access log
formats) is computed in ``constructs/api_definition.py``."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, Fn, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from cdk_nag import RegexAppliesTo
from chalice.cdk import Chalice
from constructs import Construct

from btrix_infra.constructs.api_definition import (
    ACCESS_LOG_FORMAT,
    WEBSOCKET_ACCESS_LOG_FORMAT,
    gateway_responses,
    preflight_methods,
    protected_methods,
    sqs_event_queues,
)
from btrix_infra.constructs.functions import retention
from btrix_infra.constructs.monitoring import WatchedFunction
from btrix_infra.constructs.roles import FunctionRole
from btrix_infra.nag import accept
from btrix_infra.stage import StageConfig, StageNames, chalice_stage_config
from btrix_infra.usage_plans import USAGE_PLANS, UsagePlanDef
from chalicelib.core.resources import QUEUES
from chalicelib.core.throttle import usage_key_value

__all__ = ["API_FUNCTION", "API_RESOURCE", "TENANT_AUTHORIZER", "ChaliceApi"]

# Logical ids `chalice package` gives the REST API and its handler.
API_RESOURCE = "RestAPI"
API_FUNCTION = "APIHandler"
_WEBSOCKET_API = "WebsocketAPI"
# The security schemes of authenticated methods: the authorizer that names the tenant's key, and the key itself.
TENANT_AUTHORIZER = "btrix-tenant"
_API_KEY = "api_key"
# The usage plan of requests no valid access token identifies (the guard refuses them): one shared key.
_UNIDENTIFIED = UsagePlanDef("unidentified", "Unidentified callers", rate=50.0, burst=100, quota_per_day=None)


@contextmanager
def _packaging_sandbox(build_dir: Path) -> Iterator[None]:
    # chalice.cdk packages in-process: it writes `chalice.out/` into the current directory, and while it imports
    # app.py it puts the project on sys.path and the stage's variables into os.environ (BTRIX_STAGE,
    # AWS_EXECUTION_ENV=AWS_Lambda…). All three are put back, so synthesis leaves the process as it found it.
    environment, path, cwd = dict(os.environ), list(sys.path), Path.cwd()
    # app.py computes stage-dependent values when imported (queue names of its SQS handlers): it and the library
    # are imported afresh for each stage, under that stage's variables, and the process's own modules come back.
    modules = {name: module for name, module in sys.modules.items() if _is_app_module(name)}
    for name in modules:
        del sys.modules[name]
    build_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(build_dir)
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        os.environ.clear()
        os.environ.update(environment)
        for name in [name for name in sys.modules if _is_app_module(name)]:
            del sys.modules[name]
        sys.modules.update(modules)


def _is_app_module(name: str) -> bool:
    return name == "app" or name == "chalicelib" or name.startswith("chalicelib.")


class ChaliceApi(Construct):
    """The Chalice app packaged by ``chalice.cdk``, with this stage's ``.chalice/config.json`` section."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: StageNames,
        config: StageConfig,
        project_dir: Path,
        build_dir: Path,
        role: FunctionRole,
        environment: Mapping[str, str],
        queues: Mapping[str, sqs.IQueue],
    ) -> None:
        super().__init__(scope, id)
        stage = chalice_stage_config(config.name)
        stage.update(
            manage_iam_role=False,
            iam_role_arn=role.role.role_arn,
            lambda_memory_size=config.api_memory_mb,
            # API Gateway gives up on an integration after 29 s: running longer only wastes the invocation.
            lambda_timeout=29,
        )
        with _packaging_sandbox(build_dir):
            # Chalice names its stage after its scope; under the stack that is the stack name (btrix-<stage>).
            self.chalice = Chalice(Stack.of(self), "ChaliceApp", source_dir=str(project_dir), stage_config=stage)
            # The app chalice.cdk has just imported (this stage's): which of its routes have a caller.
            self._protected = protected_methods(sys.modules["app"].app)
        self.api = self.chalice.get_resource(API_RESOURCE)
        self._account = self._cloudwatch_account()
        # chalice.cdk keeps no public handle on the template it generated; its package folder holds it.
        sam = json.loads((Path(self.chalice._sam_package_dir) / "sam.json").read_text())
        self.functions: list[WatchedFunction] = []
        self._function_ids: list[str] = []
        for logical_id, resource in sam["Resources"].items():
            if resource["Type"] == "AWS::Serverless::Function":
                self._function_ids.append(logical_id)
                self.functions.append(
                    self._function(logical_id, names=names, config=config, role=role, environment=environment)
                )
                self._wire_queues(logical_id, resource, role=role, queues=queues, names=names, config=config)
        if _WEBSOCKET_API in sam["Resources"]:
            self._websocket_api(sam, config=config, role=role, stage_name=stage["api_gateway_stage"])

        self.api_name = names.prefix
        self.stage_name: str = stage["api_gateway_stage"]
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=retention(config.log_retention_days), removal_policy=RemovalPolicy.DESTROY
        )
        self.api.add_property_override("Name", self.api_name)
        self.api.add_property_override("DefinitionBody.x-amazon-apigateway-gateway-responses", gateway_responses())
        definition = sam["Resources"][API_RESOURCE]["Properties"]["DefinitionBody"]
        for path, options in preflight_methods(definition).items():
            escaped = path.replace(".", "\\.")  # a literal dot in an override's path (/.well-known/jwks.json)
            self.api.add_property_override(f"DefinitionBody.paths.{escaped}.options", options)
        self.api.add_property_override(
            "MethodSettings",
            [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": config.throttle_rate,
                    "ThrottlingBurstLimit": config.throttle_burst,
                    "MetricsEnabled": True,
                    "LoggingLevel": "ERROR",
                    "DataTraceEnabled": False,
                }
            ],
        )
        self.api.add_property_override(
            "AccessLogSetting",
            {"DestinationArn": self.access_logs.log_group_arn, "Format": json.dumps(ACCESS_LOG_FORMAT)},
        )
        self.api.node.add_dependency(self._account)
        self.usage_plans = {plan.id: self._usage_plan(plan) for plan in (*USAGE_PLANS, _UNIDENTIFIED)}
        # The app keeps each tenant's key in its plan's usage plan, found by name (<prefix>-<plan>): an id passed
        # here would make a cycle (usage plan → stage → API → function → usage plan).
        self.add_environment("BTRIX_USAGE_KEYS", "true")
        unidentified = apigateway.CfnApiKey(
            self,
            "UnidentifiedKey",
            name=f"{names.prefix}-unidentified",
            value=usage_key_value(None, prefix=names.prefix),
            enabled=True,
            description="Counts requests no valid access token identifies (named by the authorizer)",
        )
        apigateway.CfnUsagePlanKey(
            self,
            "UnidentifiedPlanKey",
            key_id=unidentified.ref,
            key_type="API_KEY",
            usage_plan_id=self.usage_plans[_UNIDENTIFIED.id].ref,
        )

    def use_tenant_authorizer(self, function: lambda_.IFunction) -> None:
        """Make ``function`` the REST API's REQUEST authorizer and its API key source, on every authenticated method:
        API Gateway then counts each request against the usage plan of the key the authorizer names. Not cached
        (TTL 0): a browser session's request carries its token in a cookie, so no header is there to cache by."""
        uri = Fn.sub(
            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Arn}/invocations",
            {"Arn": function.function_arn},
        )
        self.api.add_property_override("DefinitionBody.x-amazon-apigateway-api-key-source", "AUTHORIZER")
        self.api.add_property_override(
            f"DefinitionBody.securityDefinitions.{TENANT_AUTHORIZER}",
            {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {
                    "type": "request",
                    "authorizerUri": uri,
                    "authorizerResultTtlInSeconds": 0,
                },
            },
        )
        self.api.add_property_override(
            f"DefinitionBody.securityDefinitions.{_API_KEY}", {"type": "apiKey", "name": "x-api-key", "in": "header"}
        )
        for path, method in sorted(self._protected):
            escaped = path.replace(".", "\\.")
            self.api.add_property_override(
                f"DefinitionBody.paths.{escaped}.{method}.security", [{TENANT_AUTHORIZER: [], _API_KEY: []}]
            )
        lambda_.CfnPermission(
            self,
            "AuthorizerInvoke",
            action="lambda:InvokeFunction",
            function_name=function.function_arn,
            principal="apigateway.amazonaws.com",
            source_arn=Stack.of(self).format_arn(
                service="execute-api", resource=self.api.ref, resource_name="authorizers/*"
            ),
        )

    def add_environment(self, name: str, value: str) -> None:
        """Set ``name`` on every function of the app (a value known only once other resources exist)."""
        for logical_id in self._function_ids:
            self.chalice.add_environment_variable(name, value, logical_id)

    def _function(
        self,
        logical_id: str,
        *,
        names: StageNames,
        config: StageConfig,
        role: FunctionRole,
        environment: Mapping[str, str],
    ) -> WatchedFunction:
        """One Chalice function: infra's variables, its own log group, and its permissions in place before it."""
        function = self.chalice.get_resource(logical_id)
        function.node.add_dependency(role.policy)
        # Set on the template rather than in the stage config: Chalice exports the stage config's variables while
        # it imports app.py, and these are CloudFormation references, not values the app could use then.
        for key, value in environment.items():
            self.chalice.add_environment_variable(key, value, logical_id)
        label = "api" if logical_id == API_FUNCTION else re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id).lower()
        # Chalice's own `log_retention_in_days` refers to the API handler as "ApiHandler" in its log group (1.34.0)
        # while the function is "APIHandler", which CloudFormation rejects: log groups are made here instead.
        log_group = logs.LogGroup(
            self,
            f"{logical_id}Logs",
            log_group_name=f"/aws/lambda/{names.infra(label)}",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        function.add_property_override("LoggingConfig", {"LogGroup": log_group.log_group_name})
        role.write_logs(f"{logical_id}Logs", log_group.log_group_arn)
        return WatchedFunction(label, function.ref, log_group.log_group_name)

    def _wire_queues(
        self,
        logical_id: str,
        resource: Mapping[str, Any],
        *,
        role: FunctionRole,
        queues: Mapping[str, sqs.IQueue],
        names: StageNames,
        config: StageConfig,
    ) -> None:
        """Point each SQS event source at the stack's queue (Chalice writes an ARN built from the name, which
        CloudFormation would not order after the queue) with its queue's maximum concurrency, reserve the
        consumer's concurrency where its queue asks for it, and let the role consume it."""
        definitions = {names.queue(definition): definition for definition in QUEUES}
        function = self.chalice.get_resource(logical_id)
        for event_id, name in sqs_event_queues(resource):
            if name not in queues:
                raise KeyError(f"{logical_id} consumes {name!r}, which is not a queue of chalicelib.core.resources")
            queue, definition = queues[name], definitions[name]
            function.add_property_override(f"Events.{event_id}.Properties.Queue", queue.queue_arn)
            function.add_property_override(
                f"Events.{event_id}.Properties.ScalingConfig", {"MaximumConcurrency": definition.max_concurrency}
            )
            if config.reserve_concurrency and definition.reserved_concurrency is not None:
                function.add_property_override("ReservedConcurrentExecutions", definition.reserved_concurrency)
            role.allow(
                f"Consume{logical_id}{event_id}",
                ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
                [queue.queue_arn],
            )

    def _websocket_api(
        self, sam: Mapping[str, Any], *, config: StageConfig, role: FunctionRole, stage_name: str
    ) -> None:
        """Access logs and throttling on the websocket stage; its management URL and the right to push to it."""
        management_url = Fn.sub(
            f"https://${{{_WEBSOCKET_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage_name}"
        )
        for logical_id, resource in sam["Resources"].items():
            if resource["Type"] == "AWS::Serverless::Function":
                self.chalice.add_environment_variable("BTRIX_WEBSOCKET_MANAGEMENT_URL", management_url, logical_id)
        stage = self.chalice.get_resource(f"{_WEBSOCKET_API}Stage")
        logs_group = logs.LogGroup(
            self,
            "WebsocketAccessLogs",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        stage.add_property_override(
            "AccessLogSettings",
            {"DestinationArn": logs_group.log_group_arn, "Format": json.dumps(WEBSOCKET_ACCESS_LOG_FORMAT)},
        )
        stage.add_property_override(
            "DefaultRouteSettings",
            {"ThrottlingRateLimit": config.throttle_rate, "ThrottlingBurstLimit": config.throttle_burst},
        )
        stage.node.add_dependency(self._account)
        accept(
            stage,
            "AwsSolutions-APIG1",
            "Access logging is on: set by a property override of the stage Chalice generated, which cdk-nag (it runs"
            " before overrides apply) cannot see; tests/infra checks the setting in the template",
        )
        for logical_id, resource in sam["Resources"].items():
            if resource["Type"] == "AWS::ApiGatewayV2::Route":
                accept(
                    self.chalice.get_resource(logical_id),
                    "AwsSolutions-APIG4",
                    "The $connect handler verifies the access token (?token=) in the application, as the REST guard"
                    " does; later frames and $disconnect belong to a connection accepted that way",
                )
        api_id = self.chalice.get_resource(_WEBSOCKET_API).ref
        arn = Stack.of(self).format_arn(service="execute-api", resource=api_id, resource_name="*")
        role.allow("WebsocketPushes", ["execute-api:ManageConnections"], [arn])
        accept(
            role.policy,
            "AwsSolutions-IAM5",
            "Pushing to a websocket client names its connection id, known only at run time: the grant covers the"
            " connections of this stack's websocket API and nothing else",
            applies_to=[
                RegexAppliesTo(regex="/^Resource::arn:<AWS::Partition>:execute-api:.*:<WebsocketAPI>\\/\\*$/g")
            ],
        )

    def _cloudwatch_account(self) -> apigateway.CfnAccount:
        # API Gateway writes execution and access logs through one role per account and region. Kept on stack
        # deletion, as CDK's own RestApi does: another stage's API in the account may rely on it.
        role = iam.Role(
            self,
            "CloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
        role.apply_removal_policy(RemovalPolicy.RETAIN)
        accept(
            role,
            "AwsSolutions-IAM4",
            "The account-level role AWS documents for API Gateway logging: API Gateway names the execution log"
            " groups itself, so the managed policy is the narrowest that works",
            applies_to=[
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            ],
        )
        account = apigateway.CfnAccount(self, "Account", cloud_watch_role_arn=role.role_arn)
        account.apply_removal_policy(RemovalPolicy.RETAIN)
        return account

    def _usage_plan(self, plan: UsagePlanDef) -> apigateway.CfnUsagePlan:
        daily = f"{plan.quota_per_day} req/day" if plan.quota_per_day else "no daily quota"
        usage_plan = apigateway.CfnUsagePlan(
            self,
            f"UsagePlan-{plan.id}",
            usage_plan_name=f"{self.api_name}-{plan.id}",
            description=f"{plan.name}: {plan.rate:g} req/s, burst {plan.burst}, {daily}",
            throttle=apigateway.CfnUsagePlan.ThrottleSettingsProperty(rate_limit=plan.rate, burst_limit=plan.burst),
            quota=apigateway.CfnUsagePlan.QuotaSettingsProperty(limit=plan.quota_per_day, period="DAY")
            if plan.quota_per_day
            else None,
            # "<api>.Stage" is the stage SAM creates for the API; referring to it orders the plan after it.
            api_stages=[
                apigateway.CfnUsagePlan.ApiStageProperty(api_id=self.api.ref, stage=Fn.ref(f"{API_RESOURCE}.Stage"))
            ],
        )
        Validations.of(usage_plan).acknowledge(
            Acknowledgment(
                id="CloudFormation-Validate::F1020",
                reason="RestAPI.Stage is the stage the SAM transform creates for RestAPI: it exists once transformed",
            )
        )
        CfnOutput(self, f"UsagePlanId-{plan.id}", value=usage_plan.ref, description=f"Usage plan of {plan.name}")
        return usage_plan
