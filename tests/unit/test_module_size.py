"""Module size: a module of ``chalicelib`` over 400 lines is one responsibility, and its docstring says which.

A long module that says ``One responsibility: ...`` in its docstring (a table of keys, a catalog of events, the
built-in flows) is fine; one that grew by gathering jobs is split instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"
MAX_LINES = 400
MARK = "One responsibility:"


def _line_counts() -> dict[str, int]:
    return {
        path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines()) for path in sorted(PACKAGE.rglob("*.py"))
    }


def _long_modules() -> list[str]:
    return [name for name, lines in _line_counts().items() if lines > MAX_LINES]


@pytest.mark.parametrize("name", _long_modules())
def test_a_long_module_names_its_one_responsibility(name: str) -> None:
    docstring = ast.get_docstring(ast.parse((ROOT / name).read_text())) or ""
    stated = [line for line in docstring.splitlines() if line.startswith(MARK)]
    assert stated, f"{name} is over {MAX_LINES} lines: split it by job, or say '{MARK} ...' in its docstring"
    assert len(stated[0]) > len(MARK) + 10, f"{name}: say which responsibility after '{MARK}'"
