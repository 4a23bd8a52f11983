"""The REST API: the Chalice app (``chalice.cdk.Chalice``), its Gateway Responses, throttling and usage plans."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, Fn, RemovalPolicy, Stack, Validations
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from chalice.cdk import Chalice
from constructs import Construct

from btrix_infra.constructs.functions import retention
from btrix_infra.constructs.roles import FunctionRole
from btrix_infra.nag import accept
from btrix_infra.stage import StageConfig, StageNames, chalice_stage_config
from btrix_infra.usage_plans import USAGE_PLANS, UsagePlanDef
from chalicelib.core.problems import GATEWAY_RESPONSES, PROBLEM_CONTENT_TYPE, gateway_problem, problem_for_status

__all__ = ["API_FUNCTION", "API_RESOURCE", "ChaliceApi", "gateway_responses"]

# Logical ids `chalice package` gives the REST API and its handler.
API_RESOURCE = "RestAPI"
API_FUNCTION = "APIHandler"
# API Gateway would answer these with DEFAULT_4XX/5XX, i.e. with that mapping's status (a throttled request as 400):
# each keeps its own status, with the problem core.problems gives that status.
_OWN_STATUS: dict[str, int] = {
    "THROTTLED": 429,
    "QUOTA_EXCEEDED": 429,
    "INVALID_API_KEY": 403,
    "REQUEST_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "INTEGRATION_FAILURE": 502,
    "INTEGRATION_TIMEOUT": 504,
}
_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "resource": "$context.resourcePath",
    "status": "$context.status",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "responseType": "$context.error.responseType",
    "apiKeyId": "$context.identity.apiKeyId",
}


def gateway_responses() -> dict[str, dict[str, Any]]:
    """``x-amazon-apigateway-gateway-responses``: every refusal API Gateway makes itself, as problem+json."""
    problems = {kind: gateway_problem(kind) for kind in GATEWAY_RESPONSES}
    problems |= {kind: problem_for_status(status) for kind, status in _OWN_STATUS.items()}
    responses: dict[str, dict[str, Any]] = {}
    for kind, problem in problems.items():
        # "$context.path" is filled in by API Gateway's template engine, as the local gateway fills in the path.
        body = problem.model_copy(update={"instance": "$context.path"}).model_dump_json(exclude_none=True)
        responses[kind] = {
            "statusCode": str(problem.status),
            "responseParameters": {"gatewayresponse.header.Content-Type": f"'{PROBLEM_CONTENT_TYPE}'"},
            "responseTemplates": {"application/json": body},
        }
    return responses


@contextmanager
def _packaging_sandbox(build_dir: Path) -> Iterator[None]:
    # chalice.cdk packages in-process: it writes `chalice.out/` into the current directory, and while it imports
    # app.py it puts the project on sys.path and the stage's variables into os.environ (BTRIX_STAGE,
    # AWS_EXECUTION_ENV=AWS_Lambda…). All three are put back, so synthesis leaves the process as it found it.
    environment, path, cwd = dict(os.environ), list(sys.path), Path.cwd()
    build_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(build_dir)
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        os.environ.clear()
        os.environ.update(environment)


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
    ) -> None:
        super().__init__(scope, id)
        stage = chalice_stage_config(config.name)
        stage.update(
            environment_variables={**stage["environment_variables"], **environment},
            manage_iam_role=False,
            iam_role_arn=role.role.role_arn,
            lambda_memory_size=config.api_memory_mb,
            # API Gateway gives up on an integration after 29 s: running longer only wastes the invocation.
            lambda_timeout=29,
        )
        with _packaging_sandbox(build_dir):
            # Chalice names its stage after its scope; under the stack that is the stack name (btrix-<stage>).
            self.chalice = Chalice(Stack.of(self), "ChaliceApp", source_dir=str(project_dir), stage_config=stage)
        self.api = self.chalice.get_resource(API_RESOURCE)
        self.function = self.chalice.get_resource(API_FUNCTION)
        self.function.node.add_dependency(role.policy)
        self.function_name: str = self.function.ref
        # Chalice's own `log_retention_in_days` names the handler "ApiHandler" in its log group (1.34.0) while the
        # function is "APIHandler", which CloudFormation rejects: the log group is made here and set explicitly.
        log_group = logs.LogGroup(
            self,
            "HandlerLogs",
            log_group_name=f"/aws/lambda/{names.infra('api')}",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.function.add_property_override("LoggingConfig", {"LogGroup": log_group.log_group_name})
        role.write_logs("ApiHandlerLogs", log_group.log_group_arn)
        self.log_group_name: str = log_group.log_group_name

        self.api_name = names.prefix
        self.stage_name: str = stage["api_gateway_stage"]
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=retention(config.log_retention_days), removal_policy=RemovalPolicy.DESTROY
        )
        self.api.add_property_override("Name", self.api_name)
        self.api.add_property_override("DefinitionBody.x-amazon-apigateway-gateway-responses", gateway_responses())
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
            {"DestinationArn": self.access_logs.log_group_arn, "Format": json.dumps(_ACCESS_LOG_FORMAT)},
        )
        self.api.node.add_dependency(self._cloudwatch_account())
        self.usage_plans = {plan.id: self._usage_plan(plan) for plan in USAGE_PLANS}

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
        usage_plan = apigateway.CfnUsagePlan(
            self,
            f"UsagePlan-{plan.id}",
            usage_plan_name=f"{self.api_name}-{plan.id}",
            description=f"{plan.name}: {plan.rate:g} req/s, burst {plan.burst}, {plan.quota_per_day} req/day",
            throttle=apigateway.CfnUsagePlan.ThrottleSettingsProperty(rate_limit=plan.rate, burst_limit=plan.burst),
            quota=apigateway.CfnUsagePlan.QuotaSettingsProperty(limit=plan.quota_per_day, period="DAY"),
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
