"""What the Lambda package carries: every distribution of ``requirements.txt`` (installed into the zip) is one the
shipped code imports, or one it needs without importing it by name; tools and local-only packages are in
``requirements-dev.txt``."""

from __future__ import annotations

import ast
import importlib.metadata
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Shipped though never imported by name: read by something that is.
USED_INDIRECTLY = {
    "tzdata": "zoneinfo's time zones where the system has none (Lambda's image)",
    "email-validator": "pydantic's EmailStr",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _shipped_imports() -> set[str]:
    files = [ROOT / "app.py", *(ROOT / "chalicelib").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    found: set[str] = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(), str(file))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def _requirements() -> set[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return {_normal(re.split(r"[=<>\[ ;]", line.strip())[0]) for line in lines if line.strip() and line[0] != "#"}


def test_every_shipped_requirement_is_imported_by_the_shipped_code() -> None:
    modules = _shipped_imports()
    distributions = importlib.metadata.packages_distributions()
    imported = {_normal(dist) for module in modules for dist in distributions.get(module, [])}
    unused = sorted(_requirements() - imported - set(USED_INDIRECTLY))
    assert unused == [], "move to requirements-dev.txt what only tests, tools or localdev import"
