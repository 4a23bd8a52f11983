"""The webhook functions served in a process of their own (``python -m tests.support.function_host PORT``), as each
Lambda function runs them: nothing of the API imported beside them. It prints ``ready`` once it serves; when its
standard input closes it stops and prints, as JSON, the top-level packages the process loaded, so a test can check
what the functions' real deliveries needed (the lean assets ship no more: ``infra/btrix_infra/packaging.py``).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["FunctionHost", "main", "serve_functions"]


class FunctionHost:
    """A running host: its base URL (``…/hooks``), and the packages it loaded once stopped (``loaded``)."""

    def __init__(self, process: Any, base_url: str) -> None:
        self.process = process
        self.base_url = base_url
        self.loaded: set[str] = set()

    def stop(self) -> set[str]:
        """Stop the host; the top-level packages its process loaded."""
        out, _ = self.process.communicate(timeout=60)
        self.loaded = set(json.loads(out.strip().splitlines()[-1]))
        return self.loaded


@contextmanager
def serve_functions() -> Iterator[FunctionHost]:
    """Start the host on a free port with this process's environment (the local stack's), stop it at the end."""
    import os
    import subprocess

    from localdev.stack import ROOT, free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.function_host", str(port)],
        cwd=ROOT,
        env=dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    host = FunctionHost(process, f"http://127.0.0.1:{port}/hooks")
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()
        if ready.strip() != "ready":
            raise RuntimeError(f"the function host did not start: {ready!r}")
        yield host
    finally:
        if process.poll() is None and not host.loaded:
            process.kill()
            process.wait(timeout=30)


def main(argv: list[str]) -> int:
    """Serve every ``functions.FUNCTION_URLS`` handler on ``argv[0]`` until standard input closes."""
    from functions import FUNCTION_URLS
    from localdev.function_urls import make_server

    server = make_server("127.0.0.1", int(argv[0]), FUNCTION_URLS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    server.shutdown()
    server.server_close()
    print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
