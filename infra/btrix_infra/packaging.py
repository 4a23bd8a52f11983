"""Lambda code without Docker: manylinux wheels installed by pip into a cached folder, plus the application code.

Two modes (``Bundling.with_dependencies``):

- with dependencies (``make synth``, ``make deploy``): the runtime requirements are installed for Lambda's
  platform (``pip install --platform manylinux2014_x86_64 --only-binary=:all: --target``), once per
  requirements.txt content, under ``.cache/infra/``; Chalice packages the API from the repository root itself
  (its packager also picks manylinux wheels, no Docker).
- code only (tests): the same folders without the third-party packages, so the infra tests synthesize offline
  in seconds. The templates are the same: Chalice derives them from ``app.py``, not from the dependencies.

Each webhook function (``functions.FUNCTION_URLS``) is its own asset with only what it imports
(``function_bundle(..., handler=...)``): the modules of ``functions/`` and ``chalicelib/`` its module reaches through
import statements (those inside functions too: a lazily imported module is needed when that code runs; those under
``if TYPE_CHECKING:`` are not), the data files of their packages, and the third-party distributions they import with
everything those require (``Requires-Dist``, extras left out), except ``NOT_IN_WEBHOOK_FUNCTIONS``: packages our
code reaches only through lazy imports on paths no webhook function runs (money formatting, message templates,
provider SDKs). A test runs every function on real deliveries in a process of its own and checks that it loads none
of those and nothing its asset lacks (``tests/integration/inbound/test_function_imports.py``). The outbox publisher
and the secret seeder share the asset of every handler.
"""

from __future__ import annotations

import ast
import hashlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

__all__ = [
    "FUNCTION_CODE",
    "LAMBDA_PLATFORM",
    "LAMBDA_PYTHON",
    "NOT_IN_WEBHOOK_FUNCTIONS",
    "Bundling",
    "asset_sources",
    "chalice_project",
    "code_closure",
    "distribution_closure",
    "function_bundle",
]

LAMBDA_PYTHON = "3.11"
LAMBDA_PLATFORM = "manylinux2014_x86_64"
# What a functions/ handler imports: its own package and the application library.
FUNCTION_CODE = ("functions", "chalicelib")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")
_COMPLETE = ".complete"
# What the Lambda runtime provides: never copied into a function's asset.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"})
# Top-level packages our code imports lazily where no webhook function goes (the API's money formatting and phone
# and document validators, notification templates and web push, the HTTP client and SDKs of the API's provider
# calls, the assistant's LLM client): a webhook function's asset leaves them out (issue 20: lean assets).
NOT_IN_WEBHOOK_FUNCTIONS = frozenset(
    {"babel", "http_ece", "httpx", "jinja2", "jwt", "openai", "phonenumbers", "stripe", "twilio", "validate_docbr"}
)
# Chalice's two runtime files come with every asset (``_chalice_runtime``), never its distribution.
_CHALICE = "chalice"


@dataclass(frozen=True)
class Bundling:
    """Where bundles are built and whether they carry the third-party dependencies."""

    build_dir: Path
    with_dependencies: bool = True


def _dependencies(root: Path, build_dir: Path) -> Path:
    requirements = root / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes() + f"{LAMBDA_PLATFORM}-{LAMBDA_PYTHON}".encode()).hexdigest()
    target = build_dir / f"deps-{digest[:16]}"
    if (target / _COMPLETE).exists():
        return target
    partial = build_dir / f"deps-{digest[:16]}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    # A requirement published only as a source distribution (pure Python, e.g. http-ece) has no wheel for
    # --only-binary to take: build wheels of the requirements first and offer them as extra links. Wheels built
    # here for the build machine's platform are ignored by the install below unless they are pure Python.
    wheelhouse = build_dir / "wheelhouse"
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--wheel-dir",
            str(wheelhouse),
            "-r",
            str(requirements),
        ],
        check=True,
    )
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--platform",
            LAMBDA_PLATFORM,
            "--implementation",
            "cp",
            "--python-version",
            LAMBDA_PYTHON,
            "--only-binary=:all:",
            "--find-links",
            str(wheelhouse),
            "--target",
            str(partial),
            "-r",
            str(requirements),
        ],
        check=True,
    )
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    (target / _COMPLETE).touch()
    return target


def _chalice_runtime(into: Path) -> None:
    # chalicelib imports chalice.app (Blueprint, Response); `chalice package` ships exactly these two files of
    # Chalice with the API, so the functions get the same ones.
    import chalice
    import chalice.app

    (into / "chalice").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(chalice.__file__, into / "chalice" / "__init__.py")
    shutil.copyfile(chalice.app.__file__, into / "chalice" / "app.py")


_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.Module, package: str) -> Iterator[str]:
    """The module names a module's import statements name (``from a import b`` gives ``a`` and ``a.b``), except
    those under ``if TYPE_CHECKING:``."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        # Imports are statements: only statements (and the blocks that hold them) are walked into.
        pending.extend(
            child
            for child in ast.iter_child_nodes(node)
            if isinstance(child, _BLOCKS) and not (isinstance(child, ast.If) and _type_checking(child))
        )


def _module_file(root: Path, name: str) -> Path | None:
    path = root.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def code_closure(root: Path, entry: str, ours: tuple[str, ...] = FUNCTION_CODE) -> tuple[set[Path], set[str]]:
    """The files of our packages (``ours``) that module ``entry`` reaches through import statements, with their
    packages' ``__init__.py``, and the top-level names of the other (non-standard-library) modules they import."""
    files, others = _closure(root, entry, ours)  # each stage's synthesis asks again: parsed once per process
    return set(files), set(others)


@cache
def _closure(root: Path, entry: str, ours: tuple[str, ...]) -> tuple[frozenset[Path], frozenset[str]]:
    files: set[Path] = set()
    others: set[str] = set()
    seen: set[str] = set()
    pending = [entry]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        top = name.split(".")[0]
        if top not in ours:
            if top and top != "__future__" and top not in sys.stdlib_module_names:
                others.add(top)
            continue
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):
            found = _module_file(root, ".".join(parts[:depth]))
            if found is None or found in files:
                continue
            files.add(found)
            package = ".".join(parts[:depth] if found.name == "__init__.py" else parts[: depth - 1])
            pending.extend(_imported(ast.parse(found.read_text(encoding="utf-8")), package))
    return frozenset(files), frozenset(others)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_closure(site: Path, imported: set[str]) -> list[metadata.Distribution]:
    """The distributions installed in ``site`` that provide the ``imported`` top-level modules, with everything they
    require (no extras), except what the Lambda runtime provides."""
    from packaging.requirements import Requirement

    installed = {_canonical(d.metadata["Name"]): d for d in metadata.distributions(path=[str(site)])}
    provider: dict[str, str] = {}
    for name, dist in installed.items():
        tops = (dist.read_text("top_level.txt") or "").split()
        tops += [f.parts[0].removesuffix(".py") for f in dist.files or [] if f.parts and ".." not in f.parts[0]]
        for top in tops:
            provider.setdefault(top.split(".")[0], name)
    wanted = [provider[top] for top in sorted(imported) if top in provider]
    chosen: dict[str, metadata.Distribution] = {}
    while wanted:
        name = wanted.pop()
        if name in chosen or name in RUNTIME_PROVIDED or name not in installed:
            continue
        chosen[name] = installed[name]
        for line in installed[name].requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(_canonical(requirement.name))
    return [chosen[name] for name in sorted(chosen)]


def _package_data(package_dir: Path) -> Iterator[Path]:
    """A package's files that are not modules, and what its folders that are not packages hold (e.g. locales)."""
    for entry in package_dir.iterdir():
        if entry.is_file() and entry.suffix not in (".py", ".pyc"):
            yield entry
        elif entry.is_dir() and entry.name != "__pycache__" and not (entry / "__init__.py").exists():
            yield from (f for f in entry.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def asset_sources(root: Path, module: str, site: Path | None) -> list[tuple[Path, Path]]:
    """(base, file) of what webhook handler ``module``'s asset holds, each to be put at ``file`` relative to
    ``base``: our modules it reaches and their packages' data files, and, with ``site`` (the installed
    requirements), the distributions it imports (but ``NOT_IN_WEBHOOK_FUNCTIONS``) with what they require."""
    files, imported = code_closure(root, module)
    for package_dir in {f.parent for f in files if f.name == "__init__.py"}:
        files.update(_package_data(package_dir))
    sources = [(root, file) for file in sorted(files)]
    if site is not None:
        for dist in distribution_closure(site, imported - NOT_IN_WEBHOOK_FUNCTIONS - {_CHALICE}):
            for path in dist.files or []:
                if ".." not in path.parts and "__pycache__" not in path.parts and (site / path).is_file():
                    sources.append((site, site / path))
    return sources


def _lean_bundle(root: Path, bundling: Bundling, module: str) -> Path:
    bundle = bundling.build_dir / f"function-{module.rpartition('.')[2]}"
    shutil.rmtree(bundle, ignore_errors=True)
    bundle.mkdir(parents=True)
    site = _dependencies(root, bundling.build_dir) if bundling.with_dependencies else None
    for base, file in asset_sources(root, module, site):
        (bundle / file.relative_to(base)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, bundle / file.relative_to(base))
    _chalice_runtime(bundle)
    return bundle


def function_bundle(root: Path, bundling: Bundling, module: str | None = None) -> Path:
    """The folder an asset is made of (rebuilt on each synth): for handler ``module`` (``functions.meta``), only what
    it imports; without one, every handler in ``functions/`` with all the requirements."""
    if module is not None:
        return _lean_bundle(root, bundling, module)
    bundle = bundling.build_dir / "functions"
    shutil.rmtree(bundle, ignore_errors=True)
    bundle.mkdir(parents=True)
    if bundling.with_dependencies:
        shutil.copytree(
            _dependencies(root, bundling.build_dir),
            bundle,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(_COMPLETE, "__pycache__"),
        )
    for name in FUNCTION_CODE:
        shutil.copytree(root / name, bundle / name, ignore=_IGNORED)
    _chalice_runtime(bundle)
    return bundle


def chalice_project(root: Path, bundling: Bundling) -> Path:
    """The Chalice project to package: the repository itself, or a code-only copy with no requirements."""
    if bundling.with_dependencies:
        return root
    project = bundling.build_dir / "chalice-project"
    shutil.rmtree(project, ignore_errors=True)
    (project / ".chalice").mkdir(parents=True)
    shutil.copyfile(root / "app.py", project / "app.py")
    shutil.copytree(root / "chalicelib", project / "chalicelib", ignore=_IGNORED)
    shutil.copytree(root / "vendor", project / "vendor", ignore=_IGNORED)  # third-party files for the zip's root
    shutil.copyfile(root / ".chalice" / "config.json", project / ".chalice" / "config.json")
    (project / "requirements.txt").write_text("")
    return project
