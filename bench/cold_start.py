"""Lambda init: wall time of a fresh interpreter importing ``app``, against the ``boto3`` + DynamoDB client floor."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bench.stats import Summary, summarise, timed_ms

__all__ = ["VARIANTS", "ColdStartReport", "ImportCost", "Variant", "import_costs", "lambda_env", "measure_cold_start"]


@dataclass(frozen=True)
class Variant:
    """One program a fresh interpreter runs, standing for one kind of Lambda init."""

    label: str
    code: str


INTERPRETER = Variant("interpreter only", "pass")
FLOOR = Variant("floor: boto3 + DynamoDB client", "import boto3; boto3.client('dynamodb')")
APP = Variant("import app", "import app")
APP_WITH_CLIENT = Variant(
    "import app + first DynamoDB client", "import app; from chalicelib.core import aws; aws.dynamodb()"
)
VARIANTS: tuple[Variant, ...] = (INTERPRETER, FLOOR, APP, APP_WITH_CLIENT)

_IMPORTTIME = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)$")


@dataclass(frozen=True)
class ImportCost:
    """Import time of one top-level package during ``import app`` (self times of its modules, summed)."""

    package: str
    milliseconds: float


@dataclass(frozen=True)
class ColdStartReport:
    """Medians per variant (same environment, interleaved runs) and where ``import app`` spends its time."""

    results: dict[str, Summary]
    import_costs: list[ImportCost]
    capability_costs: list[ImportCost] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """``import app`` over the floor (medians)."""
        return self.results[APP.label].median / self.results[FLOOR.label].median


def lambda_env(root: Path) -> dict[str, str]:
    """What a deployed function sees, minus the network: dummy credentials, the shipped stage variables.

    Shared config and credential files point at /dev/null so nothing on this machine (a profile, an SSO
    cache) changes what botocore reads at client creation.
    """
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    from localdev.gateway import local_config

    env.update(local_config("prod").environment_variables)
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    return env


def _run(code: str, env: dict[str, str], root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *extra, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"python -c {code!r} failed ({result.returncode}):\n{result.stderr}")
    return result


def import_costs(stderr: str, top: int, *, within: str | None = None) -> list[ImportCost]:
    """The ``top`` costliest packages of a ``-X importtime`` report (self times summed): top-level packages, or the
    subpackages of ``within`` (``chalicelib`` → ``chalicelib.orders``, ``chalicelib.core``, …)."""
    by_package: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if not match:
            continue
        parts = match.group(4).split(".")
        if within is None:
            by_package[parts[0]] += int(match.group(1)) / 1000
        elif parts[0] == within and len(parts) > 1:
            by_package[".".join(parts[:2])] += int(match.group(1)) / 1000
    ranked = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return [ImportCost(package, ms) for package, ms in ranked]


def measure_cold_start(root: Path, runs: int = 15, top_imports: int = 8) -> ColdStartReport:
    """Run every variant ``runs`` times in fresh interpreters, interleaved, after one discarded warm-up each.

    The warm-up writes the bytecode caches, so every variant is timed with them in place. Each round
    rotates the order of the variants so none always runs right after another's page-cache footprint.
    """
    env = lambda_env(root)
    for variant in VARIANTS:
        _run(variant.code, env, root)
    samples: dict[str, list[float]] = {v.label: [] for v in VARIANTS}
    for round_ in range(runs):
        shift = round_ % len(VARIANTS)
        for variant in VARIANTS[shift:] + VARIANTS[:shift]:
            samples[variant.label].append(timed_ms(partial(_run, variant.code, env, root)))
    importtime = _run(APP.code, env, root, "-X", "importtime").stderr
    return ColdStartReport(
        results={label: summarise(times) for label, times in samples.items()},
        import_costs=import_costs(importtime, top_imports),
        capability_costs=import_costs(importtime, top_imports, within="chalicelib"),
    )
