"""The e2e tier drives ``make run``'s server (``python -m localdev.run``) over HTTP, as a frontend would; it is ready
when its ready file appears (``BTRIX_READY_FILE``), which also says its URLs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from localdev.stack import ROOT, free_port

_START_TIMEOUT_S = 480.0  # seeding and handling the demo's events take minutes on a busy shared machine


@dataclass
class Runner:
    """The ``python -m localdev.run`` process, its output and what its ready file told us."""

    process: subprocess.Popen[str]
    api: str
    hooks: str
    websocket: str
    service_pids: list[int] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    drain: threading.Thread | None = None
    urls: dict[str, str] = field(default_factory=dict)
    ready: dict[str, Any] = field(default_factory=dict)  # the ready file

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


def start_runner(ready_file: Path, **env: str) -> tuple[subprocess.Popen[str], list[str], threading.Thread]:
    """``python -m localdev.run`` with ``env``, its ready file at ``ready_file``; returns the process, the list its
    output is read into (by the returned thread, so that the pipe never fills and blocks it)."""
    environment = {**os.environ, "BTRIX_READY_FILE": str(ready_file), **env}
    environment.pop("BTRIX_STAGE", None)
    environment.pop("POWERTOOLS_LOG_LEVEL", None)  # the tests' WARNING: make run logs at its stage's level
    process = subprocess.Popen(
        [sys.executable, "-m", "localdev.run"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    drain = threading.Thread(target=lambda: output.extend(process.stdout or []), daemon=True)
    drain.start()
    return process, output, drain


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """``make run`` on free ports for this module, waited for through its ready file; stopped (Ctrl-C) at the end."""
    ports = {name: free_port() for name in ("API", "HOOKS", "WS", "WS_MANAGEMENT")}
    fakes = (
        "TWILIO",
        "META",
        "SES",
        "WEBPUSH",
        "BITRIX24",
        "STRIPE",
        "MERCADOPAGO",
        "BILLY",
        "GOOGLE",
        "LLM",
        "MELHORENVIO",
        "PAGARME",
        "IFOOD",
        "GA4",
        "RAPPI",
        "BLING",
        "TINY",
    )
    ports.update({f"FAKE_{name}": free_port() for name in fakes})  # modules may run while a person's make run does
    ready_file = tmp_path_factory.mktemp("make-run") / "ready.json"
    process, output, drain = start_runner(ready_file, **{f"BTRIX_{k}_PORT": str(v) for k, v in ports.items()})
    started = Runner(
        process,
        f"http://127.0.0.1:{ports['API']}",
        f"http://127.0.0.1:{ports['HOOKS']}",
        f"ws://127.0.0.1:{ports['WS']}",
        output=output,
        drain=drain,
    )
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not ready_file.exists():
        if process.poll() is not None:
            pytest.fail("make run exited early:\n" + "".join(output))
        if time.monotonic() > deadline:
            started.stop()
            pytest.fail("make run did not get ready in time:\n" + "".join(output))
        time.sleep(0.2)
    ready = json.loads(ready_file.read_text())
    started.ready = ready
    started.service_pids = [int(pid) for pid in ready["servicePids"]]
    started.urls = {"DynamoDB Local": ready["dynamodb"], "moto server": ready["moto"], **ready["fakes"]}
    try:
        yield started
    finally:
        started.stop()
