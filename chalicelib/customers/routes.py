"""Customer routes."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page
from chalicelib.customers import service
from chalicelib.customers.models import CreateCustomerRequest, Customer, CustomerListQuery, UpdateCustomerRequest

blueprint = protected_blueprint(__name__, tag="customers")

READ, WRITE = Permission.CUSTOMERS_READ, Permission.CUSTOMERS_WRITE


@blueprint.operation("/customers", query=CustomerListQuery, response=Page[Customer], permission=READ)
def list_customers(query: CustomerListQuery, principal: Principal) -> Page[Customer]:
    """List or find customers

    Newest first; or, with one of them, the customer with an exact email or phone (E.164; a leading + may be
    omitted), or customers whose name starts with q (case and accents ignored).
    """
    return service.list_customers(principal, query)


@blueprint.operation(
    "/customers",
    "POST",
    body=CreateCustomerRequest,
    response=Customer,
    status=201,
    permission=WRITE,
    problems=(409,),
    idempotent=True,
)
def create_customer(body: CreateCustomerRequest, principal: Principal, idempotency_key: str | None) -> Customer:
    """Create a customer

    Email and phone are unique in the tenant (409 naming the field). The document (CPF or CNPJ in Brazil) is
    stored encrypted and shown masked.
    """
    return service.create_customer(principal, body, idempotency_key)


@blueprint.operation("/customers/{customer_id}", response=Customer, permission=READ, problems=(404,))
def get_customer(customer_id: str, principal: Principal) -> Customer:
    """Get a customer

    With statistics kept current by orders: ordersCount, totalSpent, lastOrderAt.
    """
    return service.get_customer(principal, customer_id)


@blueprint.operation(
    "/customers/{customer_id}",
    "PATCH",
    body=UpdateCustomerRequest,
    response=Customer,
    permission=WRITE,
    problems=(404, 409),
)
def update_customer(customer_id: str, body: UpdateCustomerRequest, principal: Principal) -> Customer:
    """Change a customer

    Send the version you read. Null clears email, phone, document, address or notes; consents change only
    for the channels sent, each stamped with the time it changed.
    """
    return service.update_customer(principal, customer_id, body)


@blueprint.operation("/customers/{customer_id}", "DELETE", status=204, permission=WRITE, problems=(404, 409))
def delete_customer(customer_id: str, principal: Principal) -> None:
    """Delete a customer

    Removes the record for good and frees its email and phone; orders keep their own copy. (Erasing a person
    from every record is a privacy request, handled separately.)
    """
    service.delete_customer(principal, customer_id)
