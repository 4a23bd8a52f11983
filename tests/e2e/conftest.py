"""The e2e tier drives ``make run``'s server (``python -m localdev.run``) over HTTP, as a frontend would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from localdev.stack import ROOT, free_port

_START_TIMEOUT_S = 240.0


@dataclass
class Runner:
    """The ``python -m localdev.run`` process and what its banner told us."""

    process: subprocess.Popen[str]
    api: str
    hooks: str
    websocket: str
    service_pids: list[int] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    drain: threading.Thread | None = None
    urls: dict[str, str] = field(default_factory=dict)

    def change_plan(self, tenant_id: str, plan: str = "corporativo") -> None:
        """Move a tenant to ``plan`` as the demo's platform operator (a signup always gets the default plan)."""
        import httpx

        from localdev.seed import DEMO_PASSWORD, OPERATOR_EMAIL

        login = {"identifier": OPERATOR_EMAIL, "password": DEMO_PASSWORD}
        token = httpx.post(f"{self.api}/auth/login", json=login, timeout=30).json()["accessToken"]
        answer = httpx.put(
            f"{self.api}/platform/tenants/{tenant_id}/plan",
            json={"planId": plan},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text

    def stop(self) -> int:
        """Ctrl-C, as a person would; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return int(self.process.returncode)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


@pytest.fixture(scope="module")
def runner() -> Iterator[Runner]:
    """``make run`` on free ports for this module; stopped (Ctrl-C) at the end."""
    ports = {name: free_port() for name in ("API", "HOOKS", "WS", "WS_MANAGEMENT")}
    env = {**os.environ, **{f"BTRIX_{name}_PORT": str(port) for name, port in ports.items()}}
    env.pop("BTRIX_STAGE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "localdev.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = Runner(
        process,
        f"http://127.0.0.1:{ports['API']}",
        f"http://127.0.0.1:{ports['HOOKS']}",
        f"ws://127.0.0.1:{ports['WS']}",
    )
    deadline = time.monotonic() + _START_TIMEOUT_S
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            pytest.fail("make run exited early:\n" + "".join(started.output))
        started.output.append(line)
        for name in ("DynamoDB Local", "moto server"):
            if line.strip().startswith(name):
                started.urls[name] = line.split()[-1]
        if "service PIDs" in line:
            started.service_pids = [int(p) for p in re.findall(r"\d+", line)]
            break
    else:
        started.stop()
        pytest.fail("make run did not print its banner in time:\n" + "".join(started.output))
    # Keep reading its output so that the pipe never fills and blocks the server.
    started.drain = threading.Thread(target=lambda: started.output.extend(process.stdout or []), daemon=True)
    started.drain.start()
    try:
        yield started
    finally:
        started.stop()
