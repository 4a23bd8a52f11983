"""BTRIX: the Chalice application. Wiring only: blueprints, middleware and event handlers that delegate."""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib.access.routes import blueprint as access
from chalicelib.audit.routes import blueprint as audit
from chalicelib.auth.routes import blueprint as auth
from chalicelib.core.api import http_middleware
from chalicelib.docs.routes import blueprint as docs
from chalicelib.health.routes import blueprint as health
from chalicelib.plans.routes import blueprint as plans
from chalicelib.tenants.routes import blueprint as tenants
from chalicelib.users.routes import blueprint as users

app = Chalice(app_name="btrix")
app.register_middleware(http_middleware, "http")
for blueprint in (health, docs, auth, access, plans, tenants, users, audit):
    app.register_blueprint(blueprint)
