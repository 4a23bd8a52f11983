"""The webhook functions' import closure stays lean: a fresh interpreter that imports every handler of
``functions.FUNCTION_URLS`` loads no SDK or library of the API's other paths (their assets do not ship them:
``infra/btrix_infra/packaging.py``; what real deliveries load is checked in
``tests/integration/inbound/test_function_imports.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from functions import FUNCTION_URLS

ROOT = Path(__file__).resolve().parents[3]
HEAVY = {"twilio", "jinja2", "babel", "stripe", "openai", "phonenumbers", "httpx"}
_PROBE = """
import importlib, json, sys
loaded = {}
for module in sys.argv[1:]:
    before = set(sys.modules)
    importlib.import_module(module)
    loaded[module] = sorted({name.split(".")[0] for name in set(sys.modules) - before})
print(json.dumps(loaded))
"""


def test_no_webhook_function_imports_an_sdk_or_library_of_the_api() -> None:
    modules = sorted({spec.partition(":")[0] for spec in FUNCTION_URLS.values()})
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    found = subprocess.run(
        [sys.executable, "-c", _PROBE, *modules],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert found.returncode == 0, found.stderr[-2000:]
    loaded: dict[str, list[str]] = json.loads(found.stdout)
    assert set(loaded) == set(modules)
    assert "pydantic" in loaded[modules[0]]  # the probe sees what a module pulls in
    heavy = {module: sorted(HEAVY & set(names)) for module, names in loaded.items() if HEAVY & set(names)}
    assert heavy == {}
