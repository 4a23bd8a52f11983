"""A new container's first ``GET /orders/{id}`` imports what that request needs, not what other requests need (issue
20's cold path: every module imported there is paid by the first request of every new container). A test on what a
fresh interpreter has imported after answering, never on a time: ``python -m bench --only cold-start`` measures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from localdev.proxy_events import get_order_event
from tests.support.commerce import stocked_product
from tests.support.identity import Account, call, signup

ROOT = Path(__file__).resolve().parents[3]

# Not on the path of an order read: provider SDKs, templates, Babel, password hashing, PyJWT (an ES256 token is
# verified by auth.jws), cryptography's key formats and X.509 (the key set carries each key's public point) and its
# OpenSSL backend with its ciphers (auth.jws verifies without ECDSA's check of deterministic signing),
# pydantic-settings, the ULID library (a read makes no new id); the use cases of other requests (creating or moving
# an order, the status flows and their definitions, the catalog and stock) and the capabilities an order read does
# not touch.
NOT_NEEDED = (
    "argon2",
    "babel",
    "chalicelib.audit",
    "chalicelib.auth.service",
    "chalicelib.catalog",
    "chalicelib.customers",
    "chalicelib.integrations",
    "chalicelib.inventory",
    "chalicelib.notifications",
    "chalicelib.orders.service",
    "chalicelib.payments",
    "chalicelib.tenants.service",
    "chalicelib.tenants.usage_keys",
    "chalicelib.users.service",
    "chalicelib.workflows.engine",
    "chalicelib.workflows.models",
    "cryptography.hazmat.backends",
    "cryptography.hazmat.primitives.ciphers",
    "cryptography.hazmat.primitives.serialization",
    "cryptography.x509",
    "jinja2",
    "jwt",
    "openai",
    "phonenumbers",
    "pydantic_settings",
    "stripe",
    "twilio",
    "ulid",
)

_PROBE = """
import json, sys
import boto3.session
clients = []
build = boto3.session.Session.client
def client(self, service, *args, **kwargs):
    clients.append(service)
    return build(self, service, *args, **kwargs)
boto3.session.Session.client = client
import app
answer = app.app(json.loads(sys.argv[1]), None)
print(json.dumps(
    {"status": answer["statusCode"], "body": answer["body"], "modules": sorted(sys.modules), "clients": clients}
))
"""


def _order(api: Any, account: Account) -> str:
    product = stocked_product(api, account, 5, name="Pão de queijo", price={"amount": "4.50", "currency": "BRL"})
    created = call(api, "POST", "/orders", {"items": [{"productId": product["id"], "quantity": 2}]}, account.headers())
    assert created.status_code == 201, created.body
    return str(created.json_body["id"])


def _not_needed(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == heavy or m.startswith(f"{heavy}.") for heavy in NOT_NEEDED)]


def test_a_new_containers_first_order_read_answers_without_importing_what_it_does_not_need(api: Any) -> None:
    admin, _ = signup(api, businessType="restaurant")
    order_id = _order(api, admin)

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE,
            json.dumps(
                get_order_event(order_id, admin.access_token, request_id="cold-imports", source_ip="192.0.2.10")
            ),
        ],
        cwd=ROOT,
        env=dict(os.environ),  # the local stack's endpoints and this stage's settings
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["status"] == 200, seen["body"]
    assert json.loads(seen["body"])["id"] == order_id
    assert _not_needed(seen["modules"]) == []
    # The token verifies with the signing keys' published half, read with the user and the tenant: no Secrets
    # Manager client (the costliest part of that request once) is built on the way.
    assert seen["clients"] == ["dynamodb"]
