"""/api-docs.json is a valid OpenAPI 3.1 document covering every route; /api-docs serves Swagger UI."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

from app import app
from chalicelib.core.ids import ID_PATTERN
from chalicelib.docs.openapi import build_openapi
from tests.unit.core.test_api import make_app

ROOT = Path(__file__).resolve().parents[3]
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")


def test_openapi_document_is_valid_3_1_and_lists_every_route(api: Any) -> None:
    response = api.get("/api-docs.json")
    assert response.status_code == 200
    document = response.json_body
    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["openapi"] == "3.1.0"
    served = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented == served


def test_declared_models_and_problems_are_documented() -> None:
    document = build_openapi(make_app())
    validate(document, cls=OpenAPIV31SpecValidator)
    create = document["paths"]["/orders"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OrderIn"}
    assert create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/OrderOut")
    assert {"400", "415", "422", "500"} <= set(create["responses"])
    assert create["responses"]["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    schemas = document["components"]["schemas"]
    assert set(schemas["OrderIn"]["properties"]) == {"customerId", "lines"}
    assert set(schemas["OrderOut"]["properties"]) == {"orderId", "lineCount", "total"}
    listing = document["paths"]["/orders"]["get"]
    page_ref = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page_schema = schemas[page_ref.rsplit("/", 1)[-1]]
    assert set(page_schema["properties"]) == {"items", "nextCursor"}
    assert {p["name"]: p["in"] for p in listing["parameters"]} == {"limit": "query", "cursor": "query"}
    get_one = document["paths"]["/orders/{order_id}"]["get"]
    assert get_one["parameters"][0] == {
        "name": "order_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": ID_PATTERN},  # an id's shape: another is a 404 naming it
    }
    assert "404" in get_one["responses"]


def test_swagger_ui_page_and_its_assets_are_served_locally(api: Any) -> None:
    page = api.get("/api-docs")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.body.decode()
    assert "cdn" not in html.lower()
    for asset in ASSETS:
        assert f"api-docs/{asset}" in html
        response = api.get(f"/api-docs/{asset}")
        assert response.status_code == 200
        assert response.body == (ROOT / "vendor" / "swagger_ui" / asset).read_bytes()
    assert api.get("/api-docs/..%2F..%2Fapp.py").status_code == 404
    assert api.get("/api-docs/swagger-editor.js").status_code == 404


def test_swagger_ui_is_found_at_the_lambda_zips_root_and_chalicelib_holds_no_vendored_files(tmp_path: Path) -> None:
    # `chalice package` puts vendor/'s content at the zip's root, beside chalicelib/: the route must find it there.
    (tmp_path / "chalicelib" / "docs").mkdir(parents=True)
    shutil.copyfile(ROOT / "chalicelib" / "docs" / "routes.py", tmp_path / "chalicelib" / "docs" / "routes.py")
    shutil.copytree(ROOT / "vendor" / "swagger_ui", tmp_path / "swagger_ui")
    spec = importlib.util.spec_from_file_location("zipped_docs_routes", tmp_path / "chalicelib" / "docs" / "routes.py")
    assert spec is not None
    assert spec.loader is not None
    zipped = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zipped)
    assert zipped._static_dir() == tmp_path / "swagger_ui"
    assert not [p for p in (ROOT / "chalicelib").rglob("*") if p.suffix in (".js", ".css", ".map")]


def test_every_route_documents_429_with_retry_after(api: Any) -> None:
    document = api.get("/api-docs.json").json_body
    for path, item in document["paths"].items():
        for method, operation in item.items():
            refused = operation["responses"].get("429")
            assert refused is not None, f"{method.upper()} {path} does not document 429"
            assert refused["headers"]["Retry-After"]["schema"]["type"] == "integer"
