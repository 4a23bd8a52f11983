"""The API answers as its OpenAPI document says: schemathesis fuzzes every operation of the document.

Each operation of ``build_openapi(app)`` is one test (its id is the operation, ``POST /appointments``): a few
requests generated from the document's schemas (seeded, so a run is reproducible) are sent over HTTP to the local
REST server (the app on DynamoDB Local + moto, with the fake Bitrix24 and Google), as the ADMIN of a fresh tenant
with every module, or without credentials for public operations. A path parameter is, half of the time, the id of
something that exists in that tenant (created through the API as the route matrix does, ``FOREIGN_IDS``), so
updates and deletes reach real records. Each answer must be no server error, have a status and a content type the
operation documents, and a body valid against the documented schema.

Nothing here lists operations: a new route is fuzzed as soon as it is declared. A failure names the operation and
prints the request (as a curl command, credentials filtered) with the answer; run the test again by its id to
reproduce it, e.g. ``.venv/bin/python -m pytest "tests/integration/docs/test_openapi_fuzz.py::test_operation[POST
/appointments]"``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import app
from chalicelib.docs.openapi import build_openapi
from tests.integration.access.test_route_matrix import FOREIGN_IDS
from tests.support.environment import settings_from
from tests.support.identity import Account, call, client_ip, signup

# Requests per operation: enough to go past the happy path, few enough for the whole document in a couple of
# minutes (about 115 operations).
EXAMPLES = 6

SCHEMA = schemathesis.openapi.from_dict(build_openapi(app))


def _operations() -> dict[str, Any]:
    found = {}
    for result in SCHEMA.get_all_operations():
        if not isinstance(result, Ok):
            raise AssertionError(f"the OpenAPI document has an operation schemathesis cannot read: {result.err()}")
        found[result.ok().label] = result.ok()
    return found


OPERATIONS = _operations()
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Known defects other work fixes; each mark must go when its fix lands (strict: a pass then fails the run).
KNOWN: dict[str, str] = {}


def _params() -> list[Any]:
    params = []
    for label in sorted(OPERATIONS):
        reason = KNOWN.get(label)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(label, id=label, marks=marks))
    return params


@pytest.fixture(scope="module")
def server(stack: Any, hooks: httpx.Client) -> Iterator[str]:
    """The local REST server (``make run``'s) on a free port, with the fake providers behind the app that
    ``make run`` starts for the operations that call one (Bitrix24, Google's OAuth and Calendar)."""
    from localdev.fake_bitrix24 import FakeBitrix24
    from localdev.fake_google import FakeGoogle
    from localdev.gateway import make_server
    from localdev.provision import local_webhook_secrets

    local = make_server(app, "127.0.0.1", 0)
    host, port = local.server.server_address[:2]
    url = f"http://{host!s}:{port}"
    bitrix = FakeBitrix24().start()
    google_app = json.loads(local_webhook_secrets()["google-oauth-app"])
    google = FakeGoogle(client_id=google_app["clientId"], client_secret=google_app["clientSecret"]).start()
    values = {
        "BTRIX_BITRIX24_REST_URL": bitrix.rest_url,
        "BTRIX_BITRIX24_OAUTH_URL": bitrix.oauth_url,
        "BTRIX_BITRIX24_HANDLER_URL": f"{hooks.base_url}/bitrix24",
        **google.settings_env(),
        "BTRIX_GOOGLE_OAUTH_REDIRECT_URL": f"{url}/integrations/google-calendar/callback",
        "BTRIX_MELHORENVIO_OAUTH_REDIRECT_URL": f"{url}/integrations/melhorenvio/callback",
        "BTRIX_BLING_OAUTH_REDIRECT_URL": f"{url}/integrations/bling/callback",
    }
    thread = threading.Thread(target=local.server.serve_forever, daemon=True)
    try:
        with settings_from(values):
            thread.start()
            yield url  # the jobs the fuzzed requests queued are purged with every module's (tests/conftest.py)
    finally:
        local.server.shutdown()
        local.server.server_close()
        bitrix.stop()
        google.stop()


@pytest.fixture(scope="module")
def admin(api: Any) -> Iterator[Account]:
    """The ADMIN of a fresh tenant with every module. Its webhook endpoints are deleted at the end: attempts the
    fuzzed requests scheduled (retries minutes later, to whatever URL a PATCH set) then end at once, unsent."""
    account, _ = signup(api, plan="corporativo")
    yield account
    listed = call(api, "GET", "/webhook-endpoints?limit=100", headers=account.headers())
    for endpoint in listed.json_body["items"]:
        call(api, "DELETE", f"/webhook-endpoints/{endpoint['id']}", headers=account.headers())


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def _real_ids(api: Any, admin: Account, path: str) -> dict[str, str]:
    # One record per parameter, made for this operation (a DELETE of another operation does not take it away).
    names = re.findall(r"\{(\w+)\}", path)
    return {name: FOREIGN_IDS[name](api, admin) for name in names if name in FOREIGN_IDS}


def _cases(operation: Any, real: dict[str, str]) -> st.SearchStrategy[Any]:
    generated: st.SearchStrategy[Any] = operation.as_strategy()
    if not real:
        return generated
    return st.one_of(generated, operation.as_strategy(path_parameters=real))


def _reproduce(label: str) -> Callable[[BaseException], None]:
    def note(exc: BaseException) -> None:
        exc.add_note(
            f"Operation: {label}. Reproduce (seeded): .venv/bin/python -m pytest "
            f'"tests/integration/docs/test_openapi_fuzz.py::test_operation[{label}]"'
        )

    return note


@pytest.mark.parametrize("label", _params())
def test_operation(label: str, api: Any, server: str, admin: Account, session: requests.Session) -> None:
    operation = OPERATIONS[label]
    public = "security" not in operation.definition.raw
    headers = {"X-Forwarded-For": client_ip()}
    if not public:
        headers["Authorization"] = f"Bearer {admin.access_token}"
    real = _real_ids(api, admin, operation.path)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=_cases(operation, real))
    def answers_as_documented(case: Any) -> None:
        response = case.call(base_url=server, session=session, headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        answers_as_documented()
    except BaseException as exc:
        _reproduce(label)(exc)
        raise
