"""Documentation routes: ``/api-docs.json`` (OpenAPI 3.1) and ``/api-docs`` (Swagger UI, its third-party assets
vendored in ``vendor/swagger_ui/``, outside our code)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from chalice.app import Response

from chalicelib.core.api import ApiBlueprint
from chalicelib.core.errors import NotFound
from chalicelib.docs.openapi import build_openapi

blueprint = ApiBlueprint(__name__, tag="docs")

# What the page loads: the only files of Swagger UI's distribution that ship (vendor/swagger_ui/README.md). `chalice
# package` puts what is in vendor/ at the root of the Lambda zip, beside chalicelib/; a checkout keeps it in vendor/.
_PROJECT = Path(__file__).resolve().parents[2]
_STATIC_DIRS = (_PROJECT / "swagger_ui", _PROJECT / "vendor" / "swagger_ui")
_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
}

# Relative URLs, so the page works under an API Gateway stage prefix (/prod/api-docs) as well as locally.
_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>BTRIX API</title>
  <link rel="stylesheet" href="api-docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="api-docs/swagger-ui-bundle.js"></script>
  <script src="api-docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "api-docs.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout"
    });
  </script>
</body>
</html>
"""


@cache
def _static_dir() -> Path:
    return next((d for d in _STATIC_DIRS if d.is_dir()), _STATIC_DIRS[-1])


@cache
def _openapi_json() -> str:
    return json.dumps(build_openapi(blueprint.current_app))


@blueprint.operation("/api-docs.json", response=None, produces="application/json")
def get_openapi() -> Response:
    """OpenAPI document

    The OpenAPI 3.1 description of every route of this API, generated from the routes and their models.
    """
    return Response(body=_openapi_json(), headers={"Content-Type": "application/json"})


@blueprint.operation("/api-docs", produces="text/html")
def get_swagger_ui() -> Response:
    """Swagger UI

    Interactive documentation of this API (assets served from this service, no CDN).
    """
    return Response(body=_PAGE, headers={"Content-Type": "text/html; charset=utf-8"})


@blueprint.operation("/api-docs/{asset}", produces="text/plain", problems=(404,))
def get_swagger_asset(asset: str) -> Response:
    """Swagger UI asset

    One of the stylesheets or scripts the Swagger UI page loads.
    """
    content_type = _ASSETS.get(asset)
    if content_type is None:
        raise NotFound(detail=f"no documentation asset named {asset!r}")
    body = (_static_dir() / asset).read_text(encoding="utf-8")
    return Response(body=body, headers={"Content-Type": content_type, "Cache-Control": "public, max-age=86400"})
