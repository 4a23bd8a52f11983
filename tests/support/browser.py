"""Pages rendered in headless Chromium (Debian's ``chromium``), as a person's browser would show them: the DOM
after the page's scripts ran."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

__all__ = ["NO_CHROMIUM", "chromium", "rendered_dom"]

NO_CHROMIUM = "Chromium is not installed (.ci/run installs Debian's chromium)"


def chromium() -> str | None:
    """The Chromium binary, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def rendered_dom(url: str, *, lang: str | None = None, budget_ms: int = 20000) -> subprocess.CompletedProcess[str]:
    """Chromium's ``--dump-dom`` of ``url`` (stdout: the DOM; stderr: the browser's log), in a throw-away profile,
    with ``budget_ms`` of virtual time for the page's scripts and ``lang`` as the browser's language."""
    browser = chromium()
    assert browser is not None, NO_CHROMIUM
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                *([f"--lang={lang}"] if lang else []),
                f"--virtual-time-budget={budget_ms}",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
