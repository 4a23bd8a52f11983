"""The route table app.py hands Chalice (chalicelib/route_table.py) is what the capabilities' routes modules declare,
and a capability is imported by the first request to one of its routes, not by ``import app``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chalice.app import Chalice
from chalice.test import Client

from chalicelib.core import capabilities
from chalicelib.core.api import ApiBlueprint, operation_of
from chalicelib.route_table import ROUTES

ROOT = Path(__file__).resolve().parents[3]


def _capabilities_with_routes() -> list[str]:
    return sorted(path.parent.name for path in (ROOT / "chalicelib").glob("*/routes.py"))


def test_every_declared_route_is_in_the_table_and_nothing_else() -> None:
    assert sorted(ROUTES) == _capabilities_with_routes(), "a capability with a routes.py has its block in the table"
    assert capabilities.check_routes(ROUTES, _capabilities_with_routes()) == []


def test_check_routes_names_the_line_to_add_and_the_line_to_remove() -> None:
    table = {capability: list(lines) for capability, lines in ROUTES.items()}
    missing = table["orders"].pop(0)
    table["plans"] = [*table["plans"], ("DELETE", "/plans", "delete_plans")]

    problems = capabilities.check_routes(table, _capabilities_with_routes())

    assert problems == [
        f"chalicelib.orders.routes declares {missing[0]} {missing[1]} ({missing[2]}): add {missing!r} under 'orders'",
        "the table serves DELETE /plans by chalicelib.plans.routes.delete_plans, which declares no such route: "
        "remove ('DELETE', '/plans', 'delete_plans') from 'plans'",
    ]


def test_import_app_imports_no_capability() -> None:
    probe = (
        "import sys, app; "
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('chalicelib.') and m.count('.') >= 1}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert not set(eval(loaded)) & set(ROUTES), loaded  # noqa: S307 - our own probe's printed list


def test_a_stand_in_serves_its_declared_view_through_the_app_and_shows_its_operation() -> None:
    served = Chalice(app_name="stand-in")
    capabilities.serve_routes(served, {"plans": ROUTES["plans"]})
    entry = served.routes["/plans"]["GET"]

    operation = operation_of(entry.view_function)
    with Client(served) as client:
        response = client.http.get("/plans")

    assert operation is not None
    assert operation.path == "/plans"
    assert response.status_code == 200
    assert response.json_body
    blueprint: ApiBlueprint = capabilities.capability_routes("plans").blueprint
    assert blueprint.current_app is served
