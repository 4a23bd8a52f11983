"""CDK entry point: one BTRIX stack per stage, checked by cdk-nag (``make synth``; ``cdk`` runs it via cdk.json).

Context (``-c key=value``): ``stages`` (comma-separated, default ``dev,prod``), ``alarmEmail`` (subscribes an
address to the alarm topic), ``bundle`` (``code-only`` skips the third-party packages, as the tests do).
Synthesis needs no AWS account or credentials: stacks are environment-agnostic and do no lookups.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

INFRA = Path(__file__).resolve().parent
ROOT = INFRA.parent
# The application's modules (chalicelib, functions) are the single source of names and definitions.
for path in (str(ROOT), str(INFRA)):
    if path not in sys.path:
        sys.path.insert(0, path)

# Chalice's packager reads the region although the template it writes uses ${AWS::Region}.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import aws_cdk as cdk  # noqa: E402 - after the path and region set-up above
from aws_cdk import cx_api  # noqa: E402

from btrix_infra.nag import apply_nag  # noqa: E402
from btrix_infra.packaging import Bundling  # noqa: E402
from btrix_infra.stack import BtrixStack  # noqa: E402
from btrix_infra.stage import stage_config  # noqa: E402


def build(app: cdk.App, build_dir: Path = ROOT / ".cache" / "infra") -> list[BtrixStack]:
    """The stacks of the stages named in the context, under ``app``; bundles are assembled in ``build_dir``."""
    stages = str(app.node.try_get_context("stages") or "dev,prod").split(",")
    bundling = Bundling(
        build_dir=build_dir,
        with_dependencies=app.node.try_get_context("bundle") != "code-only",
    )
    alarm_email = app.node.try_get_context("alarmEmail")
    stacks = [
        BtrixStack(
            app,
            f"btrix-{name.strip()}",
            config=stage_config(name.strip()),
            bundling=bundling,
            alarm_email=str(alarm_email) if alarm_email else None,
        )
        for name in stages
    ]
    apply_nag(app)
    return stacks


def report(assembly: cx_api.CloudAssembly) -> int:
    """Print the error and warning annotations (cdk-nag findings among them); the number of errors."""
    errors = 0
    for stack in assembly.stacks:
        for message in stack.messages:
            if message.level not in (cx_api.SynthesisMessageLevel.ERROR, cx_api.SynthesisMessageLevel.WARNING):
                continue
            errors += message.level == cx_api.SynthesisMessageLevel.ERROR
            print(f"[{message.level.value}] {message.id}: {message.entry.data}", file=sys.stderr)
        print(f"{stack.stack_name}: {assembly.directory}/{stack.template_file}")
    return errors


def cdk_json_context() -> dict[str, object]:
    """The context of cdk.json (feature flags, default stages): the cdk CLI passes it, a plain run reads it here."""
    context: dict[str, object] = json.loads((INFRA / "cdk.json").read_text())["context"]
    return context


if __name__ == "__main__":
    if "CDK_OUTDIR" in os.environ:  # run by the cdk CLI, which passes cdk.json's context and the output folder
        application = cdk.App()
    else:  # make synth: the same context, templates in <repo>/cdk.out
        application = cdk.App(outdir=str(ROOT / "cdk.out"), context=cdk_json_context())
    build(application)
    sys.exit(1 if report(application.synth()) else 0)
