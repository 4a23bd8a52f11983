"""State machines of the compiled built-in workflows (``chalicelib.workflows.compiler.default_machines``).

The workflow engine compiles each definition to ASL whose tasks are ``sqs:sendMessage`` (parking with
``.waitForTaskToken`` or enqueuing on-enter actions) to the job queues; nothing else. Machines are named by content
(``<prefix>-wf-<entity>-<hash>``): deployed here ahead of first use, and found by that name at run time (the engine
creates any other, e.g. a tenant's own flow, with the same role). Monitoring watches each one given here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from btrix_infra.constructs.functions import retention
from btrix_infra.nag import accept
from btrix_infra.stage import StageConfig, StageNames

__all__ = ["WorkflowMachine", "Workflows"]


@dataclass(frozen=True)
class WorkflowMachine:
    """A compiled workflow: its state machine name (``btrix-dev-wf-order-…``) and its ASL definition."""

    name: str
    definition: Mapping[str, Any]


class Workflows(Construct):
    """Standard state machines (they park for days on task tokens), allowed to send to the job queues only."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: StageNames,
        config: StageConfig,
        machines: Sequence[WorkflowMachine],
        queues: Sequence[sqs.IQueue],
    ) -> None:
        super().__init__(scope, id)
        # The engine names machines "<prefix>-wf-<entity>-<hash>" (compiler.machine_name); grants cover that prefix.
        self.name_prefix = f"{names.prefix}-wf-"
        # One role for every workflow machine, whether defined here or created by the application
        # (Settings.workflow_role_arn): their tasks only send to the job queues.
        self.role = iam.Role(
            self,
            "Role",
            role_name=names.infra("workflows"),
            description="Step Functions workflow machines: send to the job queues",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EnqueueTasks", actions=["sqs:SendMessage"], resources=[q.queue_arn for q in queues]
            )
        )
        self.state_machines: dict[str, sfn.StateMachine] = {}
        for machine in machines:
            log_group = logs.LogGroup(
                self,
                f"{machine.name}-logs",
                retention=retention(config.log_retention_days),
                removal_policy=RemovalPolicy.DESTROY,
            )
            self.state_machines[machine.name] = sfn.StateMachine(
                self,
                machine.name,
                state_machine_name=machine.name,
                state_machine_type=sfn.StateMachineType.STANDARD,
                definition_body=sfn.DefinitionBody.from_string(json.dumps(machine.definition)),
                role=self.role,
                logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
                tracing_enabled=True,
            )
        if machines:
            accept(
                self.role,
                "AwsSolutions-IAM5",
                "Execution logging (CloudWatch Logs delivery) and X-Ray tracing, which CDK grants for the machines,"
                " support no resource-level permissions",
                applies_to=["Resource::*"],
            )
