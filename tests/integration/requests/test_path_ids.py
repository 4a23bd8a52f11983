"""Ids in paths: an id of another shape than ours names nothing, so every route answers 404 for it, never a 500.

Generated from the routes: every path parameter naming an entity (``{…_id}``) is sent too long for a key
(DynamoDB refuses a key part over 2 KB), longer than any id, and with characters no id has; the other parameters
hold fresh ids. A caller the route refuses gets its 403 first (the path says nothing to it).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.access.permissions import MATRIX, Permission, Role
from chalicelib.core.ids import new_id
from tests.support.identity import Account, call, signup
from tests.support.request_models import declared_operations

MALFORMED = ("x" * 3000, "x" * 65, "a#b", "a b", "é")

ROUTES = [
    (method, path, name)
    for method, path, operation in declared_operations()
    for name in re.findall(r"\{(\w+)\}", path)
    if name.endswith("_id")
]


def test_routes_with_ids_in_their_paths_are_probed() -> None:
    assert len(ROUTES) > 20


@pytest.fixture(scope="module")
def admin(api: Any) -> Account:
    me, _ = signup(api, plan="corporativo")
    return me


@pytest.mark.parametrize(("method", "path", "param"), ROUTES, ids=[f"{m} {p} {q}" for m, p, q in ROUTES])
def test_a_malformed_id_in_the_path_is_a_404_naming_it(
    api: Any, admin: Account, method: str, path: str, param: str
) -> None:
    operation = next(o for m, p, o in declared_operations() if (m, p) == (method, path))
    allowed = operation.public or Permission(str(operation.permission)) in MATRIX[Role.ADMIN]
    body: dict[str, Any] | None = {} if operation.body is not None else None
    wrong = []
    for malformed in MALFORMED:
        filled = {
            name: quote(malformed, safe="") if name == param else new_id() for name in re.findall(r"\{(\w+)\}", path)
        }
        target = path.format(**filled)
        response = call(api, method, target, body, admin.headers())
        named = [e.get("field") for e in response.json_body.get("errors", [])] if response.status_code == 404 else []
        if (response.status_code, named) != ((404, [f"path.{param}"]) if allowed else (403, [])):
            wrong.append(f"{param}={malformed[:10]!r}: {response.status_code} {response.body[:200]!r}")
    assert wrong == []
