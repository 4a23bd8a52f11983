"""The system under measurement: the local stack, provisioned and seeded, the app's HTTP client, bare clients."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from chalice.test import HTTPResponse, TestHTTPClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

    from bench.commerce import Commerce
    from bench.dataset import Dataset
    from chalicelib.core.db.store import Table

__all__ = [
    "PASSWORD",
    "BenchError",
    "BenchUser",
    "Target",
    "client_ip",
    "running_target",
    "send",
    "shared_clients",
]

PASSWORD = "bench-lantern-staple-17"

# Every address of the three documentation ranges (RFC 5737), in turn: the brute-force limits count per IP
# (5 signups or failed logins, 60 refreshes per 15 minutes), so each request names a different client.
_CLIENT_IPS = itertools.cycle(
    [f"{prefix}.{host}" for prefix in ("192.0.2", "198.51.100", "203.0.113") for host in range(1, 255)]
)


def client_ip() -> str:
    """The next documentation-range address (762 of them, then round again)."""
    return next(_CLIENT_IPS)


class BenchError(RuntimeError):
    """Raised when what is measured did not do what it should (a wrong status, an empty page)."""


@dataclass(frozen=True)
class BenchUser:
    """The ADMIN that ``running_target`` signed up through ``POST /auth/signup``, and its first session."""

    tenant_id: str
    user_id: str
    email: str
    password: str
    access_token: str
    refresh_token: str


@dataclass(frozen=True)
class Target:
    """Everything a benchmark drives: the app over HTTP, the data layer, and plain boto3 clients."""

    api: TestHTTPClient
    table: Table
    dataset: Dataset
    user: BenchUser
    bare_dynamodb: DynamoDBClient
    bare_sqs: SQSClient
    commerce: Commerce

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

    def call(
        self, method: str, path: str, body: object = None, *, token: str | None = None, expect: int = 200
    ) -> HTTPResponse:
        """A JSON request through the app from a new client address, with ``token`` as the bearer if given."""
        return send(self.api, method, path, body, token=token, expect=expect)

    def json(self, method: str, path: str, body: object = None, *, token: str | None = None) -> dict[str, Any]:
        """``call`` with the default expected status, returning the decoded JSON answer."""
        answer: dict[str, Any] = json.loads(self.call(method, path, body, token=token).body)
        return answer

    def sign_up(self) -> BenchUser:
        """Another tenant (a restaurant on the corporativo plan) and its ADMIN, through ``POST /auth/signup``."""
        return _signup(self.api)


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


def send(api: TestHTTPClient, method: str, path: str, body: object, *, token: str | None, expect: int) -> HTTPResponse:
    """A JSON request through ``api`` from a new client address; raises ``BenchError`` unless ``expect``."""
    headers = {"Content-Type": "application/json", "X-Forwarded-For": client_ip()}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    response = api.request(method, path, headers=headers, body=json.dumps(body).encode() if body is not None else b"")
    if response.status_code != expect:
        raise BenchError(f"{method} {path} answered {response.status_code}, expected {expect}: {response.body!r}")
    return response


_OPERATOR: dict[str, str] = {}


def _operator_token(api: TestHTTPClient) -> str:
    """An access token of a platform operator (made once through the bootstrap's service), who grants plans."""
    if "email" not in _OPERATOR:
        from chalicelib.auth.service import create_platform_admin
        from chalicelib.core.ids import new_id

        _OPERATOR["email"] = f"bench-operator-{new_id().lower()}@example.com"
        create_platform_admin(_OPERATOR["email"], "Bench Operator", PASSWORD)
    login = {"identifier": _OPERATOR["email"], "password": PASSWORD}
    return str(json.loads(send(api, "POST", "/auth/login", login, token=None, expect=200).body)["accessToken"])


def _signup(api: TestHTTPClient) -> BenchUser:
    """A restaurant signed up over HTTP (the default plan) and moved to corporativo by the platform operator."""
    from chalicelib.core.ids import new_id

    email = f"bench-admin-{new_id().lower()}@example.com"
    body = {
        "companyName": "Bench Company",
        "businessType": "restaurant",
        "admin": {"name": "Bea Bench", "email": email, "password": PASSWORD},
    }
    answer = json.loads(send(api, "POST", "/auth/signup", body, token=None, expect=201).body)
    plan = {"planId": "corporativo"}
    send(api, "PUT", f"/platform/tenants/{answer['tenant']['id']}/plan", plan, token=_operator_token(api), expect=200)
    return BenchUser(
        tenant_id=answer["tenant"]["id"],
        user_id=answer["user"]["id"],
        email=email,
        password=PASSWORD,
        access_token=answer["tokens"]["accessToken"],
        refresh_token=answer["tokens"]["refreshToken"],
    )


@contextmanager
def running_target() -> Iterator[Target]:
    """Start DynamoDB Local + moto, provision the stage, seed one tenant, sign one up over HTTP; stop on exit.

    The stack is stopped by PID. Two tenants exist: the seeded one holds the orders the data-layer rows read;
    the signed-up one (``Target.user``, its ADMIN) is what the ``/auth`` rows log in as, and its restaurant
    (``Target.commerce``) has a stocked product and a page of orders created through ``POST /orders``.

    The caller sets the process environment (stage, log level) before the application is first imported.
    """
    import boto3
    from chalice.test import Client

    from bench.commerce import Commerce
    from bench.dataset import seed
    from chalicelib.core import aws, secrets
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
        secrets.reset_secrets_cache()
        provision()
        table = Table()
        dataset = seed(table)

        from app import app

        with Client(app, stage_name="local", project_dir=str(ROOT)) as client:
            # Same gateway as `make run` and the tests: Chalice's LocalGateway plus problem+json refusals.
            http: Any = client.http
            http._local_gateway = ProblemGateway(app, client._chalice_config)
            user = _signup(http)
            yield Target(
                api=http,
                table=table,
                dataset=dataset,
                user=user,
                bare_dynamodb=boto3.client("dynamodb"),
                bare_sqs=boto3.client("sqs"),
                commerce=Commerce.prepare(http, user),
            )
    finally:
        stack.stop()
