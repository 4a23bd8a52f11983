"""cfn-lint over the synthesized templates (SAM transform included): no errors."""

from __future__ import annotations

import pytest

from tests.infra.conftest import Synthesized


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cfn_lint_finds_no_errors(synthesized: Synthesized, stage: str) -> None:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(synthesized.files[stage], ManualArgs(regions=["us-east-1", "sa-east-1"]))
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.severity == "error"]
    assert errors == []
