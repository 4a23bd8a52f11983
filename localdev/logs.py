"""Where ``make run``'s output goes, and which function each log line names.

In AWS each function runs in its own process, so Powertools' Lambda-context keys (``function_name``, its request
id …) name the function of the line. Locally one process hosts all of them at once (the REST API, the webhook
functions, the queue consumers, the outbox publisher, the websocket routes), and those keys are process-wide:
whichever function ran last named every line. So each local invocation runs inside ``invocation(...)`` (the
worker, the function-URL server, the websocket server) or ``serving("api")`` (the REST server), which records the
function in a context variable (per thread), and ``FunctionKeys`` puts it on the line.

``RunLogs.install()`` (used by ``localdev.run`` only) sends every line in full (JSON, all levels, and the EMF metric
blobs Powertools prints) to ``.cache/logs/run-<time>-<pid>.log``, and gives the terminal one short line per request
and the warnings and errors; ``say`` writes to the terminal.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TextIO

__all__ = ["RUNNER", "FunctionKeys", "RunLogs", "invocation", "invoke", "request_line", "say", "serving"]

RUNNER = "make-run"  # lines logged outside any function: the runner itself (provisioning, the demo seed)
_KEYS = ("function_name", "function_request_id", "function_memory_size", "function_arn", "cold_start")
_CURRENT: ContextVar[dict[str, Any] | None] = ContextVar("local_function", default=None)
_terminal: TextIO | None = None
_terminal_lock = threading.Lock()


@contextmanager
def invocation(context: Any) -> Iterator[None]:
    """Within the block, log lines of this thread name the function of ``context`` (a Lambda context)."""
    keys = {
        "function_name": str(context.function_name),
        "function_request_id": str(getattr(context, "aws_request_id", "") or "") or None,
        "function_memory_size": getattr(context, "memory_limit_in_mb", None),
        "function_arn": str(getattr(context, "invoked_function_arn", "") or "") or None,
        "cold_start": None,
    }
    token = _CURRENT.set(keys)
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextmanager
def serving(function_name: str, request_id: str | None = None) -> Iterator[None]:
    """Within the block, log lines of this thread name ``function_name`` (the REST API: ``api``)."""
    keys: dict[str, Any] = dict.fromkeys(_KEYS)
    keys.update(function_name=function_name, function_request_id=request_id)
    token = _CURRENT.set(keys)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def invoke(handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any], context: Any) -> Any:
    """Call a Lambda handler as Lambda would, with its log lines naming its function."""
    with invocation(context):
        return handler(event, context)


class FunctionKeys(logging.Filter):
    """Puts the function running in this thread on each record (a record's own keys win over Powertools')."""

    def filter(self, record: logging.LogRecord) -> bool:
        keys = _CURRENT.get() or {**dict.fromkeys(_KEYS), "function_name": RUNNER}
        for name, value in keys.items():
            setattr(record, name, value)
        return True


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", *_KEYS}


class _Short(logging.Formatter):
    """``12:00:01 WARNING notifications-consumer: notification failed (error=…)`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        detail = ", ".join(f"{k}={v}" for k, v in extras.items() if v is not None)
        line = f"{time.strftime('%H:%M:%S', time.localtime(record.created))} {record.levelname} "
        line += f"{getattr(record, 'function_name', RUNNER)}: {record.getMessage()}"
        if detail:
            line += f" ({detail})"
        line = line if len(line) <= 300 else line[:297] + "..."
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            # The first line only: some messages carry whole tracebacks (Powertools' BatchProcessingError); the
            # file has the full one.
            said = next(iter(str(error).strip().splitlines()), "")
            said = said if len(said) <= 200 else said[:197] + "..."
            line += f"\n    {type(error).__name__}: {said}"
        return line


def say(text: str) -> None:
    """Write ``text`` to the terminal (standard output when logs were not installed)."""
    stream = _terminal or sys.stdout
    with _terminal_lock:
        print(text, file=stream, flush=True)


def request_line(function_name: str, method: str, path: str, status: int | str, started: float) -> None:
    """The terminal's one line about a request (only once ``RunLogs`` is installed)."""
    if _terminal is None:
        return
    took = (time.monotonic() - started) * 1000
    path = path if len(path) <= 120 else path[:117] + "..."
    say(f"{time.strftime('%H:%M:%S')} {function_name:<8} {method} {path} {status} {took:.0f} ms")


class RunLogs:
    """``make run``'s log file; ``install()`` routes the output, ``uninstall()`` puts it back."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{_pid()}.log"
        self._file: TextIO | None = None
        self._stdout: TextIO | None = None
        self._handlers: list[tuple[logging.Handler, logging.Handler, TextIO | None]] = []

    def install(self) -> None:
        """Every line in full to the file, warnings and errors (short) and request lines to the terminal."""
        global _terminal
        from chalicelib.core.observability import logger

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8", buffering=1)
        self._stdout = sys.stdout
        _terminal = sys.stdout
        sys.stdout = self._file  # Powertools prints its EMF metric blobs; stray prints land here too
        keys = FunctionKeys()
        full = logger.registered_handler
        before = full.setStream(self._file) if isinstance(full, logging.StreamHandler) else None
        full.addFilter(keys)
        short = logging.StreamHandler(_terminal)
        short.setLevel(logging.WARNING)
        short.setFormatter(_Short())
        short.addFilter(keys)
        logger.addHandler(short)
        self._handlers.append((full, short, before))

    def quiet(self) -> None:
        """From now on errors go to the file only: while everything stops, the services going away make the last
        polls fail, which is no news to the person who pressed Ctrl-C."""
        for _, short, _ in self._handlers:
            short.setLevel(logging.CRITICAL + 1)

    def uninstall(self) -> None:
        """Back to standard output (the runner's last lines go to the terminal as before)."""
        global _terminal
        from chalicelib.core.observability import logger

        for full, short, before in self._handlers:
            logger.handlers.remove(short)
            for added in full.filters:
                if isinstance(added, FunctionKeys):
                    full.removeFilter(added)
            if isinstance(full, logging.StreamHandler) and before is not None:
                full.setStream(before)
        self._handlers.clear()
        if self._stdout is not None:
            sys.stdout = self._stdout
        _terminal = None
        if self._file is not None:
            self._file.close()


def _pid() -> int:
    import os

    return os.getpid()
