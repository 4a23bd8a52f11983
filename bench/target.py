"""The system under measurement: the local stack, provisioned and seeded, the app's HTTP client, bare clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from chalice.test import HTTPResponse, TestHTTPClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from bench.dataset import Dataset
    from chalicelib.core.db.store import Table

__all__ = ["BenchError", "Target", "running_target", "shared_clients"]


class BenchError(RuntimeError):
    """Raised when what is measured did not do what it should (a wrong status, an empty page)."""


@dataclass(frozen=True)
class Target:
    """Everything a benchmark drives: the app over HTTP, the data layer, and plain boto3 clients."""

    api: TestHTTPClient
    table: Table
    dataset: Dataset
    bare_dynamodb: DynamoDBClient
    bare_sqs: SQSClient

    @property
    def bare_clients(self) -> tuple[DynamoDBClient, SQSClient]:
        """The plain clients of the bare paths."""
        return (self.bare_dynamodb, self.bare_sqs)

    def get(self, path: str, expect: int = 200) -> HTTPResponse:
        """GET ``path`` through the app; raises ``BenchError`` unless the status is ``expect``."""
        response = self.api.get(path)
        if response.status_code != expect:
            raise BenchError(f"GET {path} answered {response.status_code}, expected {expect}: {response.body!r}")
        return response


def shared_clients() -> tuple[BaseClient, ...]:
    """Every client the application can use (``core.aws`` is the only place that builds them), DynamoDB first."""
    from chalicelib.core import aws

    return (
        aws.dynamodb(),
        aws.dynamodb_streams(),
        aws.sqs(),
        aws.eventbridge(),
        aws.stepfunctions(),
        aws.kms(),
        aws.secrets_manager(),
        aws.s3(),
    )


@contextmanager
def running_target() -> Iterator[Target]:
    """Start DynamoDB Local + moto, provision the stage, seed one tenant; stop the stack (by PID) on exit.

    The caller sets the process environment (stage, log level) before the application is first imported.
    """
    import boto3
    from chalice.test import Client

    from bench.dataset import seed
    from chalicelib.core import aws
    from chalicelib.core.config import get_settings
    from chalicelib.core.db.store import Table
    from localdev.gateway import ProblemGateway
    from localdev.provision import provision
    from localdev.stack import ROOT, LocalStack

    stack = LocalStack()
    try:
        stack.start()
        stack.apply_env()
        get_settings.cache_clear()
        aws.reset_clients()
        provision()
        table = Table()
        dataset = seed(table)

        from app import app

        with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
            # Same gateway as `make run` and the tests: Chalice's LocalGateway plus problem+json refusals.
            http: Any = client.http
            http._local_gateway = ProblemGateway(app, client._chalice_config)
            yield Target(
                api=http,
                table=table,
                dataset=dataset,
                bare_dynamodb=boto3.client("dynamodb"),
                bare_sqs=boto3.client("sqs"),
            )
    finally:
        stack.stop()
