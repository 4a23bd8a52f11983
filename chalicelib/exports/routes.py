"""Export routes."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page
from chalicelib.exports import service
from chalicelib.exports.models import CreateExportRequest, Export, ExportListQuery

blueprint = protected_blueprint(__name__, tag="exports")


@blueprint.operation(
    "/exports",
    "POST",
    body=CreateExportRequest,
    response=Export,
    status=202,
    permission=Permission.DATA_EXPORT,
    idempotent=True,
)
def create_export(body: CreateExportRequest, principal: Principal, idempotency_key: str | None) -> Export:
    """Export sales, leads or customers

    A background job writes a CSV file (filters as in the kind's list; the rows you may list). Follow its progress
    with GET /exports/{id}, which gives a download URL once it is completed. Sales and leads need the sales module.
    """
    return service.create_export(principal, body, idempotency_key)


@blueprint.operation("/exports", query=ExportListQuery, response=Page[Export], permission=Permission.DATA_EXPORT)
def list_exports(query: ExportListQuery, principal: Principal) -> Page[Export]:
    """List exports

    Newest first, each with its progress.
    """
    return service.list_exports(principal, query)


@blueprint.operation("/exports/{export_id}", response=Export, problems=(404,), permission=Permission.DATA_EXPORT)
def get_export(export_id: str, principal: Principal) -> Export:
    """Get an export

    Its progress (rows done of the total estimate) and, once completed, a presigned download URL that expires.
    """
    return service.get_export(principal, export_id)
