"""BTRIX: the Chalice application. Wiring only: blueprints, middleware and event handlers that delegate."""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib.core.api import http_middleware
from chalicelib.docs.routes import blueprint as docs
from chalicelib.health.routes import blueprint as health

app = Chalice(app_name="btrix")
app.register_middleware(http_middleware, "http")
app.register_blueprint(health)
app.register_blueprint(docs)
