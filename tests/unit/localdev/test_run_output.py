"""``make run``'s output without a stack: which function a log line names, where lines go, the fakes' ports, the
banner's sections."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from chalice.local import LambdaContext

from chalicelib.core.observability import logger
from localdev import logs
from localdev.banner import BANNER, Running, banner, banner_section
from localdev.logs import RunLogs, invoke, serving
from localdev.run import RunSettings
from localdev.run_fakes import on_port
from localdev.seed import DemoLogin
from localdev.stack import LocalStack


@contextmanager
def _installed(directory: Path) -> Iterator[RunLogs]:
    """The runner's logs installed (into ``directory``), at INFO, put back afterwards. Installed inside the test
    (not in a fixture): pytest swaps standard output between a fixture's set-up and the test."""
    installed = RunLogs(directory)
    level = logger.log_level
    logger.setLevel("INFO")
    installed.install()
    try:
        yield installed
    finally:
        installed.uninstall()
        logger.setLevel(level)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith('{"level"')]


def test_each_line_names_the_function_that_logged_it(tmp_path: Path) -> None:
    def publisher(event: dict[str, Any], context: Any) -> None:
        # What the outbox publisher does in AWS: its Lambda-context keys, process-wide.
        logger.append_keys(function_name=context.function_name, cold_start=False)
        logger.info("published")

    with _installed(tmp_path) as run_logs:
        try:
            context = LambdaContext(function_name="outbox-publisher", memory_size=512, max_runtime_ms=1000)
            invoke(publisher, {}, context)
            with serving("api"):
                logger.info("request refused")
            logger.info("seeded")
        finally:
            logger.remove_keys(["function_name", "cold_start"])

    named = {line["message"]: line.get("function_name") for line in _lines(run_logs.path)}
    assert named == {"published": "outbox-publisher", "request refused": "api", "seeded": "make-run"}


def test_the_file_gets_every_line_and_the_terminal_only_warnings_and_requests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with _installed(tmp_path) as run_logs:
        with serving("notifications-consumer"):
            logger.info("sent", extra={"notification_id": "N1"})
            logger.warning("notification failed", extra={"error": "the provider said no"})
        print('{"_aws": {"CloudWatchMetrics": []}, "EventsPublished": [1.0, 1.0]}')  # an EMF blob, as Powertools prints
        logs.request_line("api", "GET", "/health", 200, time.monotonic())

    terminal = capsys.readouterr().out.splitlines()
    assert len(terminal) == 2, terminal
    assert terminal[0].endswith("WARNING notifications-consumer: notification failed (error=the provider said no)"), (
        terminal
    )
    assert " api      GET /health 200 " in terminal[1]
    written = run_logs.path.read_text()
    assert [line["message"] for line in _lines(run_logs.path)] == ["sent", "notification failed"]
    assert '"EventsPublished": [1.0, 1.0]' in written


def test_fakes_have_fixed_default_ports_and_a_taken_one_falls_back_to_a_free_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = RunSettings()
    defaults = [settings.fake_twilio_port, settings.fake_meta_port, settings.fake_ses_port]
    defaults += [settings.fake_webpush_port, settings.fake_bitrix24_port]
    assert defaults == [8010, 8011, 8012, 8013, 8014]

    def bind(port: int) -> socket.socket:
        sock = socket.socket()
        sock.bind(("127.0.0.1", port))
        return sock

    with bind(0) as holder:
        taken = holder.getsockname()[1]
        with on_port(bind, taken, "the fake meta") as moved:
            assert moved.getsockname()[1] not in (taken, 0)
    assert f"port {taken} is taken: the fake meta listens on a free port instead" in capsys.readouterr().out


def _running(tmp_path: Path) -> Running:
    stack = LocalStack(dynamodb_port=8100, moto_port=8101)
    logins = [DemoLogin("Cantina da Nonna", "ADMIN", "admin@cantina.example.com")]
    return Running(
        api="http://127.0.0.1:8000",
        hooks="http://127.0.0.1:8001/hooks",
        websocket="ws://127.0.0.1:8002",
        stack=stack,
        logins=logins,
        password="btrix-demo-2026",
        log_file=tmp_path / "run.log",
        fakes={"meta": "http://127.0.0.1:8011"},
    )


def test_the_banner_is_its_sections_and_a_capability_adds_one(tmp_path: Path) -> None:
    run = _running(tmp_path)

    @banner_section
    def orders(running: Running) -> list[str]:
        return ["", f"Orders: GET {running.api}/orders"]

    try:
        text = banner(run)
    finally:
        BANNER.remove(orders)
    assert text.index("REST API") < text.index("Demo logins") < text.index("Orders: GET http://127.0.0.1:8000/orders")
    assert "fake meta       http://127.0.0.1:8011" in text
    assert f"logs            {tmp_path / 'run.log'}" in text
    assert "curl -s -X POST http://127.0.0.1:8000/auth/login" in text
    assert 'curl -s http://127.0.0.1:8000/auth/me -H "Authorization: Bearer $token"' in text
    assert "WhatsApp" not in text  # no gateway demo connected: no gateway section


def test_a_failing_function_is_named_on_its_line_and_the_terminal_gets_one_line_of_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalice.app import Chalice, Rate

    from localdev.worker import Scheduler

    app = Chalice(app_name="failing-schedule")
    fired: list[str] = []

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def sweep_carts(event: Any) -> None:
        # As Powertools' BatchProcessingError does: the message carries the tracebacks of the failures.
        raise RuntimeError("All records failed processing.\n\nTraceback (most recent call last):\n  File ...")

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def expire_codes(event: Any) -> None:
        fired.append("expire_codes")

    with _installed(tmp_path) as run_logs:
        assert Scheduler(app, started=0.0).tick(now=60.0) == ["sweep_carts", "expire_codes"]

    assert fired == ["expire_codes"]  # one job failing stops no other
    [line] = [line for line in _lines(run_logs.path) if line["message"] == "scheduled function failed"]
    assert line["function_name"] == "sweep_carts"
    assert "Traceback" in line["exception"]
    terminal = capsys.readouterr().out.splitlines()
    assert len(terminal) == 2, terminal
    assert terminal[0].endswith("ERROR sweep_carts: scheduled function failed (schedule=sweep_carts)"), terminal
    assert terminal[1] == "    RuntimeError: All records failed processing."


def test_while_stopping_errors_go_to_the_file_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _installed(tmp_path) as run_logs:
        logs.say("Stopping ...")
        run_logs.quiet()
        logger.error("worker step failed", extra={"step": "QueueWorker.poll_once"})

    assert capsys.readouterr().out.splitlines() == ["Stopping ..."]
    assert [line["message"] for line in _lines(run_logs.path)] == ["worker step failed"]
