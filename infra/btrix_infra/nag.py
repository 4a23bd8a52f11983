"""cdk-nag: the AwsSolutions rules over every stack, and the findings accepted on purpose, each with its reason.

Findings are accepted next to the construct that causes them (``accept``), so the reason sits beside the code it
explains; ``tests/infra/test_nag.py`` fails on any finding that is not accepted.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct

__all__ = ["accept", "apply_nag"]


def apply_nag(app: cdk.App) -> None:
    """Check every stack of ``app`` at synthesis; findings become error/warning annotations."""
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))


def accept(scope: IConstruct, rule: str, reason: str, *, applies_to: Sequence[str | RegexAppliesTo] = ()) -> None:
    """Accept finding ``rule`` on ``scope`` and its children (``applies_to`` narrows granular rules like IAM5)."""
    suppression = NagPackSuppression(id=rule, reason=reason, applies_to=list(applies_to) or None)
    NagSuppressions.add_resource_suppressions(scope, [suppression], apply_to_children=True)
