"""Lambda execution roles whose permissions are written statement by statement (no managed policies)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from constructs import Construct

__all__ = ["FunctionRole"]


class FunctionRole(Construct):
    """A role Lambda assumes, with one inline policy that grants only what ``allow`` lists."""

    def __init__(self, scope: Construct, id: str, *, description: str) -> None:
        super().__init__(scope, id)
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
        )
        self.policy = iam.Policy(self, "Policy", roles=[self.role])

    def allow(self, sid: str, actions: Sequence[str], resources: Sequence[str]) -> None:
        """Grant ``actions`` on ``resources``; ``sid`` names the statement (IAM allows only letters and digits)."""
        self.policy.add_statements(
            iam.PolicyStatement(sid=re.sub(r"[^A-Za-z0-9]", "", sid), actions=list(actions), resources=list(resources))
        )

    def write_logs(self, sid: str, log_group_arn: str) -> None:
        """Let the function write its log streams in its own log group (and nowhere else)."""
        self.allow(sid, ["logs:CreateLogStream", "logs:PutLogEvents"], [log_group_arn])
