"""Lambda code without Docker: manylinux wheels installed by pip into a cached folder, plus the application code.

Two modes (``Bundling.with_dependencies``):

- with dependencies (``make synth``, ``make deploy``): the runtime requirements are installed for Lambda's
  platform (``pip install --platform manylinux2014_x86_64 --only-binary=:all: --target``), once per
  requirements.txt content, under ``.cache/infra/``; Chalice packages the API from the repository root itself
  (its packager also picks manylinux wheels, no Docker).
- code only (tests): the same folders without the third-party packages, so the infra tests synthesize offline
  in seconds. The templates are the same: Chalice derives them from ``app.py``, not from the dependencies.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FUNCTION_CODE", "LAMBDA_PLATFORM", "LAMBDA_PYTHON", "Bundling", "chalice_project", "function_bundle"]

LAMBDA_PYTHON = "3.11"
LAMBDA_PLATFORM = "manylinux2014_x86_64"
# What a functions/ handler imports: its own package and the application library.
FUNCTION_CODE = ("functions", "chalicelib")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")
_COMPLETE = ".complete"


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


def function_bundle(root: Path, bundling: Bundling) -> Path:
    """The folder one asset is made of, for every handler in ``functions/`` (rebuilt on each synth)."""
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
