"""The extension points that are empty today, exercised with entries made up for the test (no Chalice packaging)."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from btrix_infra.constructs.api_definition import sqs_event_queues
from btrix_infra.constructs.functions import BundleFunctions, FunctionUrls
from btrix_infra.constructs.monitoring import Monitoring
from btrix_infra.constructs.roles import FunctionRole
from btrix_infra.constructs.workflows import WorkflowMachine, Workflows
from btrix_infra.packaging import Bundling, function_bundle
from btrix_infra.stage import ROOT, StageNames, stage_config


def test_each_function_url_entry_gets_a_public_url_its_logs_and_an_output(tmp_path: Path) -> None:
    stack = cdk.Stack(cdk.App(), "hooks")
    functions = BundleFunctions(
        stack,
        "Functions",
        bundle_dir=function_bundle(ROOT, Bundling(build_dir=tmp_path, with_dependencies=False)),
        environment={"BTRIX_STAGE": "dev"},
        config=stage_config("dev"),
    )
    role = FunctionRole(stack, "AppRole", description="webhooks")
    FunctionUrls(stack, "Hooks", routes={"acme": "functions.outbox_publisher:handler"}, functions=functions, role=role)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "functions.outbox_publisher.handler", "Environment": {"Variables": {"BTRIX_STAGE": "dev"}}},
    )
    template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "NONE"})
    assert any("acme" in name for name in template.find_outputs("*"))
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Action": ["logs:CreateLogStream", "logs:PutLogEvents"]})]
                )
            }
        },
    )


def test_every_state_machine_gets_a_role_limited_to_the_queues_a_dashboard_row_and_an_alarm() -> None:
    stack = cdk.Stack(cdk.App(), "flows")
    names, config = StageNames("dev"), stage_config("dev")
    queue = sqs.Queue(stack, "Jobs")
    machine = WorkflowMachine("btrix-dev-wf-test-flow", {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    flows = Workflows(stack, "Workflows", names=names, config=config, machines=[machine], queues=[queue])
    monitoring = Monitoring(stack, "Monitoring", names=names, key=kms.Key(stack, "Key"))
    monitoring.watch_state_machines(flows.state_machines)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"StateMachineName": "btrix-dev-wf-test-flow", "StateMachineType": "STANDARD"},
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {"PolicyDocument": {"Statement": Match.array_with([Match.object_like({"Action": "sqs:SendMessage"})])}},
    )
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"RoleArn": {"Fn::GetAtt": [Match.string_like_regexp("WorkflowsRole"), "Arn"]}},
    )
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    [alarm] = [a for a in alarms.values() if a["Properties"]["AlarmName"] == "btrix-dev-failures-wf-test-flow"]
    metrics = {m["MetricStat"]["Metric"]["MetricName"] for m in alarm["Properties"]["Metrics"] if "MetricStat" in m}
    assert metrics == {"ExecutionsFailed", "ExecutionsTimedOut"}
    body = json.dumps(template.find_resources("AWS::CloudWatch::Dashboard"))
    assert "ExecutionsFailed" in body
    assert "ExecutionsTimedOut" in body


def test_sqs_event_sources_are_read_from_the_arn_chalice_builds_from_the_queue_name() -> None:
    function = {
        "Properties": {
            "Events": {
                "Jobs": {
                    "Type": "SQS",
                    "Properties": {
                        "Queue": {
                            "Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:btrix-dev-jobs"
                        }
                    },
                },
                "Byarn": {"Type": "SQS", "Properties": {"Queue": "arn:aws:sqs:us-east-1:123456789012:other.fifo"}},
                "Tick": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}},
            }
        }
    }
    assert sqs_event_queues(function) == [("Jobs", "btrix-dev-jobs"), ("Byarn", "other.fifo")]
    assert sqs_event_queues({"Properties": {}}) == []
