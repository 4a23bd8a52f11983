"""Shared fixtures: the local AWS stack (once per session), the app's HTTP client, a fresh tenant per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

# Settings are read once per process: fix the stage before anything reads them.
os.environ["BTRIX_STAGE"] = "local"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
# Webhook tests deliver to receivers on 127.0.0.1 (a local-stage-only setting); other targets stay refused.
os.environ.setdefault("BTRIX_WEBHOOK_ALLOW_LOOPBACK", "true")
# A test's tenant makes its setup requests in bursts its plan's throttle would refuse; tests/integration/throttling
# turns the throttle on for the tenants it drives.
os.environ.setdefault("BTRIX_TENANT_THROTTLE", "false")
# Every test module ends by purging the queues (below); real SQS (and moto by default) refuses a purge within 60 s.
os.environ.setdefault("MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR", "false")

_STARTED: list[Any] = []  # the session's local stack, once a test asked for it


@pytest.fixture(scope="session")
def stack() -> Iterator[Any]:
    """DynamoDB Local + moto server, started once, provisioned, stopped at the end of the session."""
    from chalicelib.core import aws, secrets
    from chalicelib.core.config import get_settings
    from localdev.provision import provision
    from localdev.stack import LocalStack

    local = LocalStack()
    local.start()
    local.apply_env()
    get_settings.cache_clear()
    aws.reset_clients()
    secrets.reset_secrets_cache()
    try:
        provision()
        _STARTED.append(local)
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module", autouse=True)
def _no_jobs_between_modules() -> Iterator[None]:
    """Each test module leaves nothing running or queued for the next one: its entities' status-flow executions
    are stopped (moto runs them: a 15-minute timer of an order would fire in whatever module runs 15 minutes later,
    and its transition's events fan out to the endpoints of that old tenant), and the queues and their dead-letter
    queues are purged (what a module queued with a delay, a webhook retry or a backoff, would come due ahead of
    the next module's own messages; the full suite's webhook tests waited behind hundreds)."""
    yield
    if not _STARTED:
        return
    from chalicelib.core import aws
    from chalicelib.core.resources import QUEUES, dlq_name, queue_name, queue_url

    machines = aws.stepfunctions()
    for page in machines.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            _stop_running(machines, machine["stateMachineArn"])
    client = aws.sqs()
    for queue in QUEUES:
        for name in (queue_name(queue.kind), dlq_name(queue.kind)):
            client.purge_queue(QueueUrl=queue_url(name))


def _stop_running(machines: Any, machine_arn: str) -> None:
    """Stops a machine's running executions by asking for the first page again after each round, never with a
    next-page token: a token names the last execution of its page, and once that execution is stopped here (or
    ends by itself in between) moto answers the next page with InvalidToken."""
    stopped: set[str] = set()
    while True:
        page = machines.list_executions(stateMachineArn=machine_arn, statusFilter="RUNNING", maxResults=100)
        arns = {execution["executionArn"] for execution in page["executions"]} - stopped
        if not arns:
            return
        for arn in arns:
            machines.stop_execution(executionArn=arn, cause="the test module ended")
        stopped |= arns


@pytest.fixture
def tenant_id() -> str:
    """A tenant nobody else uses: tests isolate by tenant instead of resetting the table."""
    from chalicelib.core.ids import new_id

    return new_id()


@pytest.fixture(scope="session")
def api(stack: Any) -> Iterator[Any]:
    """``chalice.test`` HTTP client over the app, with the same Gateway Responses as ``make run``."""
    from chalice.test import Client

    from app import app
    from localdev.gateway import ProblemGateway

    with Client(app, stage_name="local") as client:
        # The test client builds a plain LocalGateway; ours adds the problem+json Gateway Responses.
        client.http._local_gateway = ProblemGateway(app, client._chalice_config)
        yield client.http


@pytest.fixture
def drain(stack: Any) -> Any:
    """Runs the app's queue consumers (as Lambda's event sources would) until ``condition()`` holds."""
    import time

    from app import app
    from localdev.worker import QueueWorker

    worker = QueueWorker(app, wait_seconds=0)

    def until(condition: Any, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "the workflow did not get there in time"
            if not worker.poll_once():
                time.sleep(0.1)

    return until


@pytest.fixture(scope="module")
def hooks(stack: Any) -> Iterator[Any]:
    """An HTTP client whose base URL is the local function-URL server (``/hooks/<provider>``), as ``make run``
    serves the webhook functions."""
    import threading

    import httpx

    from functions import FUNCTION_URLS
    from localdev.function_urls import make_server

    server = make_server("127.0.0.1", 0, FUNCTION_URLS)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    try:
        with httpx.Client(base_url=f"http://{host!s}:{port}/hooks", timeout=30) as client:
            yield client
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session", autouse=True)
def _contracts() -> Iterator[None]:
    """Checks, all session long, that events match their catalog and answers have documented statuses."""
    from tests.support import contracts

    stop = contracts.listen()
    try:
        yield
    finally:
        stop()
    late = contracts.take_violations()
    assert late == [], "broken after the last test:\n" + "\n".join(late)


@pytest.fixture(autouse=True)
def _contracts_kept(_contracts: None) -> Iterator[None]:
    """Fails the test during which (or during whose fixtures) an event broke its catalog schema (the catalog is
    chalicelib/webhooks/event_types/) or an operation answered a status its OpenAPI does not document."""
    from tests.support import contracts

    yield
    broken = contracts.take_violations()
    assert broken == [], "\n".join(broken)
