"""Lambda package size: what ``requirements.txt`` installs, plus the application code and Chalice's runtime."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["NotMeasured", "PackageReport", "measure_package"]

APP_CODE = ("app.py", "chalicelib", "functions", "vendor")
_PIP_TIMEOUT_S = 240


@dataclass(frozen=True)
class PackageReport:
    """Sizes in bytes; ``largest`` are the biggest installed top-level packages."""

    dependencies: int
    app_code: int
    chalice_runtime: int
    zipped: int
    largest: list[tuple[str, int]]
    pip_seconds: float
    # Each webhook function's own asset (only what its handler imports): (provider, unzipped, zipped).
    assets: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def unzipped(self) -> int:
        """Everything that ships, unzipped (the 250 MB Lambda limit applies to this)."""
        return self.dependencies + self.app_code + self.chalice_runtime


@dataclass(frozen=True)
class NotMeasured:
    """Why the package size could not be measured (pip failed or took too long)."""

    reason: str


def _files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for file in sorted(path.rglob("*")):
        if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
            yield file


def _size(paths: Iterable[Path]) -> int:
    return sum(file.stat().st_size for path in paths for file in _files(path))


def _chalice_runtime() -> list[Path]:
    # `chalice package` ships only these two files of Chalice (see its packager's _iter_app_filenames).
    import chalice
    import chalice.app

    return [Path(chalice.app.__file__), Path(chalice.__file__)]


def _pip_install(requirements: Path, into: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",  # `chalice package` ships sources, not bytecode
            "--target",
            str(into),
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        timeout=_PIP_TIMEOUT_S,
        check=False,
    )


def _zip_size(sources: list[tuple[Path, Path]], into: Path) -> int:
    archive = into / "package.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for base, path in sources:
            for file in _files(path):
                zipped.write(file, file.relative_to(base))
    return archive.stat().st_size


def _function_assets(root: Path, site: Path, runtime: list[Path], into: Path) -> list[tuple[str, int, int]]:
    """Each webhook function's asset as infra builds it (``btrix_infra.packaging.asset_sources``): what its handler
    reaches by imports in our code, the distributions those import with their requirements, and Chalice's two
    files."""
    infra = str(root / "infra")
    if infra not in sys.path:
        sys.path.insert(0, infra)
    from btrix_infra.packaging import asset_sources
    from functions import FUNCTION_URLS

    assets = []
    for provider, spec in FUNCTION_URLS.items():
        sources = asset_sources(root, spec.partition(":")[0], site)
        sources += [(runtime[0].parent.parent, path) for path in runtime]
        unzipped = sum(file.stat().st_size for _, path in sources for file in _files(path))
        assets.append((provider, unzipped, _zip_size(sources, into)))
    return assets


def measure_package(root: Path, top: int = 5) -> PackageReport | NotMeasured:
    """``pip install --target`` the requirements into a temporary folder, then add up and zip what ships."""
    with tempfile.TemporaryDirectory(prefix="btrix-package-") as scratch:
        target = Path(scratch) / "site"
        start = time.monotonic()
        try:
            result = _pip_install(root / "requirements.txt", target)
        except subprocess.TimeoutExpired:
            return NotMeasured(f"pip install did not finish within {_PIP_TIMEOUT_S} s")
        except OSError as exc:
            return NotMeasured(f"pip could not run: {exc}")
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
            return NotMeasured(f"pip install failed ({result.returncode}): {(errors or ['no error line'])[-1]}")
        pip_seconds = time.monotonic() - start
        entries = sorted(target.iterdir())
        largest = sorted(
            ((entry.name, _size([entry])) for entry in entries if not entry.name.endswith(".dist-info")),
            key=lambda pair: pair[1],
            reverse=True,
        )[:top]
        app = [root / name for name in APP_CODE if (root / name).exists()]
        runtime = _chalice_runtime()
        sources = [(target, entry) for entry in entries]
        sources += [(root, path) for path in app]
        sources += [(runtime[0].parent.parent, path) for path in runtime]
        return PackageReport(
            dependencies=_size(entries),
            app_code=_size(app),
            chalice_runtime=_size(runtime),
            zipped=_zip_size(sources, Path(scratch)),
            largest=largest,
            pip_seconds=pip_seconds,
            assets=_function_assets(root, target, runtime, Path(scratch)),
        )
