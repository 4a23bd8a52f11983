"""Lambda init: wall time of a fresh interpreter importing ``app``, against the ``boto3`` + DynamoDB client floor."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path

from bench.stats import Summary, summarise, timed_ms

__all__ = [
    "NO_BYTECODE",
    "VARIANTS",
    "ColdStartReport",
    "ImportCost",
    "Variant",
    "import_costs",
    "interleaved",
    "lambda_env",
    "measure_cold_start",
    "render_no_bytecode",
    "shipped_without_bytecode",
]


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
# What Lambda runs: /var/task is read-only and the package ships no bytecode, so each new container compiles every
# module of ours and of the shipped requirements it imports (the standard library and the runtime's boto3 come
# compiled). Appended to a variant's label when it runs so.
NO_BYTECODE = ", shipped code without bytecode"

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
    # ``import app`` and the first client as a new Lambda container runs them, compiling what ships (labels ending in
    # NO_BYTECODE), interleaved with the floor (which has its bytecode in Lambda too) and the warm ``import app``.
    no_bytecode: dict[str, Summary] = field(default_factory=dict)

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


_OUR_CODE = ("app.py", "chalicelib", "functions")


def _shipped_distributions(root: Path) -> set[str]:
    """The folders (resolved) of the distributions ``requirements.txt`` installs here, with all they require."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    installed = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}
    wanted = [
        Requirement(line).name
        for line in (root / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    folders: set[str] = set()
    seen: set[str] = set()
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in seen or name not in installed:
            continue
        seen.add(name)
        dist = installed[name]
        for file in dist.files or []:
            if file.parts and ".." not in file.parts and not file.parts[0].endswith((".dist-info", ".data")):
                folders.add(str(Path(str(dist.locate_file(file.parts[0]))).resolve()))
        wanted += [
            r.name
            for r in map(Requirement, dist.requires or [])
            if r.marker is None or r.marker.evaluate({"extra": ""})
        ]
    return folders


@contextmanager
def shipped_without_bytecode(env: dict[str, str], root: Path, programs: Sequence[str]) -> Iterator[dict[str, str]]:
    """``env`` for fresh interpreters that find no bytecode of our code (``app.py``, ``chalicelib/``, ``functions/``)
    nor of the shipped requirements, and write none, while the standard library and the rest of the environment
    (boto3, botocore: the Lambda runtime's) keep theirs: a bytecode cache of its own (``PYTHONPYCACHEPREFIX``) is
    filled by one run of each of ``programs``, then emptied of what ships."""
    import chalice

    ours = [str((root / name).resolve()) for name in _OUR_CODE]
    # `chalice package` ships Chalice's two runtime files with the application.
    shipped = [*ours, str(Path(chalice.__file__).parent.resolve()), *_shipped_distributions(root)]
    with tempfile.TemporaryDirectory(prefix="btrix-pycache-") as prefix:
        warm = {**env, "PYTHONPYCACHEPREFIX": prefix}
        warm.pop("PYTHONDONTWRITEBYTECODE", None)
        for code in programs:
            _run(code, warm, root)
        for pyc in Path(prefix).rglob("*.pyc"):
            module = pyc.name.split(".")[0]
            source = (Path("/") / pyc.parent.relative_to(prefix)).resolve() / f"{module}.py"
            if any(source.is_relative_to(folder) for folder in shipped):
                pyc.unlink()
        yield {**warm, "PYTHONDONTWRITEBYTECODE": "1"}


def interleaved(programs: Sequence[tuple[Variant, dict[str, str]]], root: Path, runs: int) -> dict[str, Summary]:
    """Each program ``runs`` times in its environment, the order rotating every round so none always runs right
    after another's page-cache footprint."""
    samples: dict[str, list[float]] = {v.label: [] for v, _ in programs}
    for round_ in range(runs):
        shift = round_ % len(programs)
        for variant, env in [*programs[shift:], *programs[:shift]]:
            samples[variant.label].append(timed_ms(partial(_run, variant.code, env, root)))
    return {label: summarise(times) for label, times in samples.items()}


def measure_cold_start(root: Path, runs: int = 15, top_imports: int = 8) -> ColdStartReport:
    """Run every variant ``runs`` times in fresh interpreters, interleaved, after one discarded warm-up each.

    The warm-up writes the bytecode caches, so every variant is timed with them in place. Then ``import app`` and
    the first client again as Lambda runs them, compiling what ships (``shipped_without_bytecode``), interleaved
    with the floor (whose bytecode Lambda's runtime has) and the warm ``import app``, so what compiling costs is
    taken under the same conditions.
    """
    env = lambda_env(root)
    for variant in VARIANTS:
        _run(variant.code, env, root)
    results = interleaved([(variant, env) for variant in VARIANTS], root, runs)
    importtime = _run(APP.code, env, root, "-X", "importtime").stderr
    compiling = [Variant(v.label + NO_BYTECODE, v.code) for v in (APP, APP_WITH_CLIENT)]
    with shipped_without_bytecode(env, root, [v.code for v in compiling]) as cold_env:
        no_bytecode = interleaved([(FLOOR, env), (APP, env), *((v, cold_env) for v in compiling)], root, runs)
    return ColdStartReport(
        results=results,
        import_costs=import_costs(importtime, top_imports),
        capability_costs=import_costs(importtime, top_imports, within="chalicelib"),
        no_bytecode=no_bytecode,
    )


def render_no_bytecode(report: ColdStartReport) -> list[str]:
    """As AWS runs it, compiling what ships: its ratio and its rows (the floor and the warm ``import app`` of the same
    runs beside them)."""
    if not report.no_bytecode:
        return []
    from bench.report import _ms, table

    interpreter = report.results[INTERPRETER.label].median
    floor, warm = report.no_bytecode[FLOOR.label], report.no_bytecode[APP.label]
    cold = report.no_bytecode[APP.label + NO_BYTECODE]
    rows = [
        [label, s.runs, _ms(s.median), _ms(s.p95), _ms(s.median - interpreter), f"{s.median / floor.median:.2f}"]
        for label, s in report.no_bytecode.items()
    ]
    return [
        f"As a new Lambda container runs it, compiling the shipped sources (no bytecode in the package): **import app "
        f"/ floor = {cold.median / floor.median:.2f}** (medians {_ms(cold.median)} ms / {_ms(floor.median)} ms; "
        f"compiling costs {_ms(cold.median - warm.median)} ms over the warm `import app` of the same runs)",
        table(
            ["no bytecode for what ships", "runs", "median ms", "p95 ms", "median - interpreter ms", "/ floor"],
            rows,
            "lrrrrr",
        ),
    ]
