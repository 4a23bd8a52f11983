"""Sale routes."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page, PageParams
from chalicelib.orders.models import TransitionRequest
from chalicelib.sales import service
from chalicelib.sales.models import CreateSaleRequest, Sale, SaleListQuery, UpdateSaleRequest
from chalicelib.workflows.models import HistoryEntry

blueprint = protected_blueprint(__name__, tag="sales")


@blueprint.operation(
    "/sales",
    "POST",
    body=CreateSaleRequest,
    response=Sale,
    status=201,
    permission=Permission.SALES_WRITE_OWN,
    module=Module.SALES,
    idempotent=True,
)
def create_sale(body: CreateSaleRequest, principal: Principal, idempotency_key: str | None) -> Sale:
    """Create a sale

    A service of the catalog sold to a customer. Amounts are computed (tax on base - discount); the number is the
    next of the year (S-2026-000123); the status flow starts. A sales rep may assign sales only to itself. Send
    Idempotency-Key to retry safely.
    """
    return service.create_sale(principal, body, idempotency_key)


@blueprint.operation(
    "/sales", query=SaleListQuery, response=Page[Sale], permission=Permission.SALES_READ_OWN, module=Module.SALES
)
def list_sales(query: SaleListQuery, principal: Principal) -> Page[Sale]:
    """List sales

    Newest first, within from/to: by status, rep (assignedTo) or customer, or a rep with a status or a customer.
    A sales rep lists only its own sales.
    """
    return service.list_sales(principal, query)


@blueprint.operation(
    "/sales/{sale_id}", response=Sale, problems=(404,), permission=Permission.SALES_READ_OWN, module=Module.SALES
)
def get_sale(sale_id: str, principal: Principal) -> Sale:
    """Get a sale"""
    return service.get_sale(principal, sale_id)


@blueprint.operation(
    "/sales/{sale_id}",
    "PATCH",
    body=UpdateSaleRequest,
    response=Sale,
    permission=Permission.SALES_WRITE_OWN,
    module=Module.SALES,
    problems=(404, 409),
)
def update_sale(sale_id: str, body: UpdateSaleRequest, principal: Principal) -> Sale:
    """Change a sale

    Customer, service, rep, scheduled date, amounts (computed again) or notes; send the version you read. A
    closed sale changes only its notes.
    """
    return service.update_sale(principal, sale_id, body)


@blueprint.operation(
    "/sales/{sale_id}",
    "DELETE",
    status=204,
    permission=Permission.SALES_DELETE,
    module=Module.SALES,
    problems=(404, 409),
)
def delete_sale(sale_id: str, principal: Principal) -> None:
    """Delete a sale

    For good; its number is not given again.
    """
    service.delete_sale(principal, sale_id)


@blueprint.operation(
    "/sales/{sale_id}/transitions",
    "POST",
    body=TransitionRequest,
    response=Sale,
    permission=Permission.SALES_WRITE_OWN,
    module=Module.SALES,
    problems=(404, 409),
)
def transition_sale(sale_id: str, body: TransitionRequest, principal: Principal) -> Sale:
    """Move a sale to another status

    Allowed by the sale's status flow for the caller's role; send the version you read (409 if it changed).
    """
    return service.transition_sale(principal, sale_id, body.to, body.note, body.version)


@blueprint.operation(
    "/sales/{sale_id}/history",
    query=PageParams,
    response=Page[HistoryEntry],
    problems=(404,),
    permission=Permission.SALES_READ_OWN,
    module=Module.SALES,
)
def sale_history(sale_id: str, query: PageParams, principal: Principal) -> Page[HistoryEntry]:
    """Status history of a sale

    Every status change, oldest first: from, to, who, when, note.
    """
    return service.sale_history(principal, sale_id, query)
