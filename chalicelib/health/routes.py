"""Health route."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.core.api import ApiBlueprint
from chalicelib.health.models import HealthReport
from chalicelib.health.service import check_health

blueprint = ApiBlueprint(__name__, tag="health")


@blueprint.operation("/health", response=HealthReport, extra_responses={503: "A dependency is unreachable (same body)"})
def get_health() -> Response:
    """Service health

    Reachability of the table and of every job queue (with its dead-letter depth), the version and stage.
    """
    report = check_health()
    return Response(
        body=report.model_dump_json(),
        status_code=200 if report.status == "ok" else 503,
        headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
    )
