"""State machines from compiled workflow definitions (Amazon States Language), each with its own role and logs.

The workflow engine compiles each definition to ASL whose tasks are ``sqs:sendMessage`` (parking with
``.waitForTaskToken`` or enqueuing on-enter actions) to the job queues; nothing else. A machine is handed to
``Workflows`` as a ``WorkflowMachine``; monitoring then watches it (dashboard row, failure alarm) with no more code.
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
from btrix_infra.stage import StageConfig, StageNames

__all__ = ["WorkflowMachine", "Workflows"]


@dataclass(frozen=True)
class WorkflowMachine:
    """A compiled workflow: its name (``order-restaurant``) and its ASL definition."""

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
        self.state_machines: dict[str, sfn.StateMachine] = {}
        for machine in machines:
            role = iam.Role(self, f"{machine.name}-role", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
            role.add_to_policy(
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[q.queue_arn for q in queues])
            )
            log_group = logs.LogGroup(
                self,
                f"{machine.name}-logs",
                retention=retention(config.log_retention_days),
                removal_policy=RemovalPolicy.DESTROY,
            )
            self.state_machines[machine.name] = sfn.StateMachine(
                self,
                machine.name,
                state_machine_name=names.infra(f"workflow-{machine.name}"),
                state_machine_type=sfn.StateMachineType.STANDARD,
                definition_body=sfn.DefinitionBody.from_string(json.dumps(machine.definition)),
                role=role,
                logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
                tracing_enabled=True,
            )
