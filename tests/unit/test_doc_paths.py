"""Paths the documentation names exist: README.md, docs/*.md, and the docstrings and comments of the code.

A reader follows ``core/db/keys/`` or ``tests/support/contracts.py`` to the file; after a module is split or renamed,
a mention of its old path sends them nowhere. A mention may be shortened from the left (``erp/products.py`` for
``chalicelib/erp/products.py``); a path into an installed package (``chalice/app.py``) is not the repository's and
is left alone: its first folder is none of the repository's.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A file with an extension, or a folder with a trailing slash, of at least two parts: ``erp/sync.py``, ``core/db/``.
PATH = re.compile(
    r"(?<![\w./<>{}#:@$-])((?:[A-Za-z_][\w-]*/)+(?:[\w-]+\.(?:py|md|json|toml|txt|ya?ml|java|sh|html)(?!\w))?)"
)
# A Python module's prose: its triple-quoted strings (docstrings) and its comments (a line of its own, or after code
# as ruff formats them, two spaces before the ``#``).
PROSE = re.compile(r'"""[\s\S]*?"""|(?m:^[ \t]*#.*$|  # .*$)')


def _tracked() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [path for path in listed.splitlines() if (ROOT / path).exists()]


def _known(tracked: list[str]) -> tuple[set[str], set[str]]:
    """Every tracked file and folder (``a/b.py``, ``a/b/``) with each of its shortenings from the left (``b.py``),
    and every folder's own name."""
    paths: set[str] = set()
    names: set[str] = set()
    for path in tracked:
        parts = path.split("/")
        names.update(parts[:-1])
        for start in range(len(parts)):
            paths.add("/".join(parts[start:]))
            for end in range(start + 1, len(parts)):
                paths.add("/".join(parts[start:end]) + "/")
    return paths, names


def _prose(path: str, text: str) -> list[tuple[int, str]]:
    """(line, text) of the prose of a file: all of a Markdown file; a Python module's docstrings and comments."""
    if path.endswith(".md"):
        return list(enumerate(text.splitlines(), 1))
    return [(text.count("\n", 0, found.start()) + 1, found.group()) for found in PROSE.finditer(text)]


def _documents(tracked: list[str]) -> list[str]:
    docs = [p for p in tracked if p == "README.md" or (p.startswith("docs/") and p.endswith(".md"))]
    code = [p for p in tracked if p.endswith(".py") and not p.startswith("vendor/")]
    return docs + code


def _missing() -> list[str]:
    tracked = _tracked()
    paths, folders = _known(tracked)
    missing = []
    for document in _documents(tracked):
        for line, prose in _prose(document, (ROOT / document).read_text(encoding="utf-8")):
            for found in PATH.finditer(prose):
                mention = found.group(1)
                if mention.split("/")[0] not in folders:
                    continue  # not a path of this repository (an installed package's, a URL's)
                if mention not in paths:
                    at = line + prose.count("\n", 0, found.start())
                    missing.append(f"{document}:{at}: {mention}")
    return missing


def test_every_repository_path_the_documentation_names_exists() -> None:
    assert _missing() == [], "these mentions name no file or folder of the repository (renamed, moved or split?)"
