"""A new container's first authenticated request: a fresh interpreter imports ``app`` and answers one
``GET /orders/{id}`` (API Gateway's proxy event handed to the Lambda handler), against the floor plus one bare
GetItem of the same order, on the running local stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.cold_start import NO_BYTECODE, ImportCost, Variant, import_costs, interleaved, shipped_without_bytecode
from bench.stats import Summary
from localdev.proxy_events import get_order_event

if TYPE_CHECKING:
    from bench.target import Target

__all__ = ["ColdRequestReport", "measure_cold_request"]

_ROOT = Path(__file__).resolve().parent.parent
FULL_LABEL = "import app + first GET /orders/{id} (guard, order)"
BARE_LABEL = "floor + 1 bare GetItem (the order)"
FLOOR_LABEL = "floor: boto3 + DynamoDB client"
# The same two programs ended right after the answer (os._exit): a Lambda container answers its first request and
# stays; it never pays the interpreter's exit (freeing every object), which the whole-process runs above include.
FULL_ANSWERED = "import app + first GET /orders/{id}, ended at the answer"
BARE_ANSWERED = "floor + 1 bare GetItem, ended at the answer"
_END_AT_ANSWER = "import os\nos._exit(0)\n"


@dataclass(frozen=True)
class ColdRequestReport:
    """Medians of each variant (fresh interpreters, interleaved) and what the new container spends where."""

    results: dict[str, Summary]
    import_costs: list[ImportCost]
    capability_costs: list[ImportCost]
    # The first request ended at the answer as Lambda runs it, compiling what ships (FULL_ANSWERED + NO_BYTECODE),
    # interleaved with the bare GetItem and the warm first request, both ended at the answer.
    no_bytecode: dict[str, Summary] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """The first request of a new container over the floor plus one bare GetItem, both ended at the answer (what
        issue 20 counts: import, first clients, the request; medians)."""
        return self.results[FULL_ANSWERED].median / self.results[BARE_ANSWERED].median

    @property
    def process_ratio(self) -> float:
        """The same over whole processes (their exit included; medians)."""
        return self.results[FULL_LABEL].median / self.results[BARE_LABEL].median


def variants(target: Target) -> tuple[Variant, ...]:
    """The programs: the full first request, the floor plus the bare GetItem, and the floor alone; then the first two
    ended at the answer."""
    from chalicelib.core.db.table import PARTITION_KEY, SORT_KEY
    from chalicelib.orders.store import order_key

    user, order_id = target.user, target.commerce.order_ids[0]
    pk, sk = order_key(user.tenant_id, order_id)
    key = {PARTITION_KEY: {"S": pk}, SORT_KEY: {"S": sk}}
    event = json.dumps(
        get_order_event(order_id, user.access_token, request_id="bench-cold-request", source_ip="192.0.2.200")
    )
    full = (
        "import json, app\n"
        f"answer = app.app(json.loads({event!r}), None)\n"
        "assert answer['statusCode'] == 200, answer\n"
        f"assert json.loads(answer['body'])['id'] == {order_id!r}\n"
    )
    bare = (
        "import boto3\n"
        f"item = boto3.client('dynamodb').get_item(TableName={target.table.name!r}, Key={key!r})\n"
        "assert 'Item' in item\n"
    )
    return (
        Variant(FULL_LABEL, full),
        Variant(BARE_LABEL, bare),
        Variant(FLOOR_LABEL, "import boto3; boto3.client('dynamodb')"),
        Variant(FULL_ANSWERED, full + _END_AT_ANSWER),
        Variant(BARE_ANSWERED, bare + _END_AT_ANSWER),
    )


def _run(code: str, env: dict[str, str], *extra: str) -> str:
    result = subprocess.run(
        [sys.executable, *extra, "-c", code], cwd=_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"cold request variant failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stderr


def measure_cold_request(target: Target, runs: int = 15, top_imports: int = 8) -> ColdRequestReport:
    """Each variant ``runs`` times in fresh interpreters (after one discarded warm-up each), the order rotating every
    round; the environment is this process's (the local stack's endpoints and stage), with no shared AWS files and
    bytecode writing allowed: the warm-up writes the caches of modules changed since they were last compiled (with
    ``PYTHONDONTWRITEBYTECODE`` set, as in some shells, every timed run compiled them again while ``import app``'s
    section, whose environment is its own, did not). Then one more run of the first request under ``-X importtime``:
    what the new container imports, by package."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    programs = variants(target)
    for variant in programs:
        _run(variant.code, env)
    samples = interleaved([(variant, env) for variant in programs], _ROOT, runs)
    importtime = _run(programs[0].code, env, "-X", "importtime")
    full, bare = programs[3], programs[4]
    compiling = Variant(full.label + NO_BYTECODE, full.code)
    with shipped_without_bytecode(env, _ROOT, [compiling.code]) as cold_env:
        no_bytecode = interleaved([(bare, env), (full, env), (compiling, cold_env)], _ROOT, runs)
    return ColdRequestReport(
        samples,
        import_costs(importtime, top_imports),
        import_costs(importtime, top_imports, within="chalicelib"),
        no_bytecode,
    )


def _ms(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def render_cold_request(report: ColdRequestReport) -> str:
    """The first request's ratio, the medians per variant, and what its container imports by package."""
    from bench.report import table

    bare, floor = report.results[BARE_LABEL], report.results[FLOOR_LABEL]
    full_answered, bare_answered = report.results[FULL_ANSWERED], report.results[BARE_ANSWERED]
    rows = [
        [label, s.runs, _ms(s.median), _ms(s.p95), f"{s.median / floor.median:.2f}", f"{s.median / base.median:.2f}"]
        for label, s in report.results.items()
        for base in [bare_answered if label in (FULL_ANSWERED, BARE_ANSWERED) else bare]
    ]
    full = report.results[FULL_LABEL]
    return "\n\n".join(
        [
            f"**first GET /orders/{{id}} of a new container / (floor + 1 bare GetItem) = {report.ratio:.2f}**, both "
            f"ended at the answer (medians {_ms(full_answered.median)} ms / {_ms(bare_answered.median)} ms); "
            f"{report.process_ratio:.2f} over whole processes, their exit included "
            f"({_ms(full.median)} ms / {_ms(bare.median)} ms)",
            table(["fresh `python -c`", "runs", "median ms", "p95 ms", "/ floor", "/ floor + GetItem"], rows, "lrrrrr"),
            *_render_no_bytecode(report),
            "What that container imports (`-X importtime` of the first request, self time summed per top-level "
            "package, one run):",
            table(["package", "ms"], [[c.package, _ms(c.milliseconds)] for c in report.import_costs], "lr"),
            "... and per capability of `chalicelib`:",
            table(["package", "ms"], [[c.package, _ms(c.milliseconds)] for c in report.capability_costs], "lr"),
            _COLD_REQUEST,
        ]
    )


def _render_no_bytecode(report: ColdRequestReport) -> list[str]:
    if not report.no_bytecode:
        return []
    bare, cold = report.no_bytecode[BARE_ANSWERED], report.no_bytecode[FULL_ANSWERED + NO_BYTECODE]
    warm = report.no_bytecode[FULL_ANSWERED]
    return [
        f"As a new Lambda container answers it, compiling the shipped sources (no bytecode in the package): **first "
        f"GET /orders/{{id}} / (floor + 1 bare GetItem) = {cold.median / bare.median:.2f}**, both ended at the answer "
        f"(medians {_ms(cold.median)} ms / {_ms(bare.median)} ms, {cold.runs} runs of each, interleaved; compiling "
        f"costs {_ms(cold.median - warm.median)} ms over the warm first request of the same runs)",
    ]


_COLD_REQUEST = """\
The first request of a new container, as Lambda runs it: a fresh interpreter imports `app` and hands the Lambda
handler (`app.app(event, context)`) API Gateway's proxy event of `GET /orders/{id}` as the signed-up ADMIN, on the
running local stack (the first clients, the signing keys' secret, the guard's BatchGetItem of the user and the
tenant, the order's GetItem). Its bare counterpart is what any DynamoDB-backed function pays for its first answer:
`import boto3`, one DynamoDB client and one GetItem of the same order. Both run with this run's environment (the
local stack's endpoints), interleaved, after a discarded warm-up each (warm bytecode and page caches). The ratio is
taken on the two programs ended right after the answer (`os._exit`): a Lambda container answers and stays, it never
pays the interpreter's exit, which frees every object it made (more for the application than for the floor, and much
less once `app` freezes what its imports made: `core/capabilities.py`); the whole-process ratio is shown beside it.
The line below the table is the same first request as Lambda runs it, compiling what ships (the no-bytecode rows
above), interleaved with the bare program and the warm first request, all ended at the answer."""
