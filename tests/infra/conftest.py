"""The CDK app synthesized once per test session (dev and prod, code-only bundles: offline and fast)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"
if str(INFRA) not in sys.path:
    sys.path.insert(0, str(INFRA))


@dataclass(frozen=True)
class Synthesized:
    """The synthesized stacks, their templates (as dicts and as assertion helpers) and the assembly folder."""

    stacks: dict[str, Any]
    templates: dict[str, Any]
    documents: dict[str, dict[str, Any]]
    files: dict[str, Path]
    # What synthesis changed in the test process: variables and sys.path entries (both must stay empty).
    changed_variables: set[str]
    changed_path: list[str]


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """``infra/main.py``'s app with cdk.json's context, bundles without third-party packages (documented there)."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from main import build, cdk_json_context

    variables, path = dict(os.environ), list(sys.path)

    out = tmp_path_factory.mktemp("cdk.out")
    application = cdk.App(outdir=str(out), context={**cdk_json_context(), "bundle": "code-only"})
    stacks = build(application, build_dir=tmp_path_factory.mktemp("infra-build"))
    assembly = application.synth()
    changed = {k for k in set(variables) | set(os.environ) if variables.get(k) != os.environ.get(k)}
    by_stage = {stack.stack_name.removeprefix("btrix-"): stack for stack in stacks}
    files = {stage: Path(assembly.directory) / stack.template_file for stage, stack in by_stage.items()}
    return Synthesized(
        stacks=by_stage,
        templates={stage: Template.from_stack(stack) for stage, stack in by_stage.items()},
        documents={stage: json.loads(path.read_text()) for stage, path in files.items()},
        files=files,
        changed_variables=changed,
        changed_path=[p for p in sys.path if p not in path],
    )
