"""The cold start section's no-bytecode runs: fresh interpreters compile our code and the shipped requirements, as a
new Lambda container does (its package has no bytecode, /var/task is read-only), while the standard library and the
runtime's boto3 keep their bytecode; the report shows that start beside the warm one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.cold_start import (
    APP,
    APP_WITH_CLIENT,
    FLOOR,
    INTERPRETER,
    NO_BYTECODE,
    ColdStartReport,
    lambda_env,
    shipped_without_bytecode,
)
from bench.report import render_cold_start
from bench.stats import Summary

ROOT = Path(__file__).resolve().parents[3]
MODULES = ("chalicelib", "pydantic", "boto3", "json")
_CACHED = f"""
import importlib.util, json, os, sys
import {", ".join(MODULES)}
print(json.dumps({{name: os.path.exists(importlib.util.cache_from_source(sys.modules[name].__file__))
                  for name in {MODULES!r}}}))
"""


def test_what_ships_has_no_bytecode_and_the_runtime_keeps_its_own() -> None:
    with shipped_without_bytecode(lambda_env(ROOT), ROOT, [_CACHED]) as env:
        for _ in range(2):  # the first run writes nothing the second could use
            result = subprocess.run(
                [sys.executable, "-c", _CACHED], cwd=ROOT, env=env, capture_output=True, text=True, check=True
            )
            cached = json.loads(result.stdout)
            assert cached == {"chalicelib": False, "pydantic": False, "boto3": True, "json": True}


def _summary(median: float) -> Summary:
    return Summary(runs=3, median=median, p95=median, minimum=median)


def test_the_report_shows_the_start_that_compiles_beside_the_warm_one() -> None:
    warm = {INTERPRETER.label: 10.0, FLOOR.label: 100.0, APP.label: 110.0, APP_WITH_CLIENT.label: 140.0}
    report = ColdStartReport(
        results={label: _summary(ms) for label, ms in warm.items()},
        import_costs=[],
        no_bytecode={
            FLOOR.label: _summary(100.0),
            APP.label: _summary(120.0),
            APP.label + NO_BYTECODE: _summary(250.0),
            APP_WITH_CLIENT.label + NO_BYTECODE: _summary(280.0),
        },
    )
    rendered = render_cold_start(report)
    assert "**import app / floor = 1.10**" in rendered
    assert "**import app / floor = 2.50**" in rendered
    assert "compiling costs 130.0 ms over the warm `import app` of the same runs" in rendered
    row = "| import app + first DynamoDB client, shipped code without bytecode | 3 | 280.0 | 280.0 | 270.0 | 2.80 |"
    assert row in rendered
