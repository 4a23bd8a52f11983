"""Customer routes."""

from __future__ import annotations

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page
from chalicelib.customers import service
from chalicelib.customers.models import (
    ConsentHistoryQuery,
    ConsentRecord,
    CreateCustomerRequest,
    Customer,
    CustomerConsents,
    CustomerListQuery,
    RecordConsentRequest,
    UpdateCustomerRequest,
)

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


@blueprint.operation("/customers/{customer_id}/consents", response=CustomerConsents, permission=READ, problems=(404,))
def get_consents(customer_id: str, principal: Principal) -> CustomerConsents:
    """Get a customer's consents

    The current answer per purpose (marketing, transactional, email, sms, whatsapp): granted or withdrawn, when,
    how (form, WhatsApp keyword, API) and under which policy version; and, per purpose, whether BTRIX may use it
    now (marketing on a channel needs that channel granted and marketing not withdrawn; transactional messages
    are allowed unless withdrawn).
    """
    return service.get_consents(principal, customer_id)


@blueprint.operation(
    "/customers/{customer_id}/consents",
    "POST",
    body=RecordConsentRequest,
    response=CustomerConsents,
    permission=WRITE,
    problems=(404, 409),
)
def record_consent(customer_id: str, body: RecordConsentRequest, principal: Principal) -> CustomerConsents:
    """Record a consent

    A consent given or withdrawn for one purpose, with how it was collected, the policy version and evidence. It
    joins the history (an answer that repeats the current one under the same policy changes nothing) and
    notifications and analytics follow it from the next message.
    """
    return service.record_consent(principal, customer_id, body)


@blueprint.operation(
    "/customers/{customer_id}/consents/history",
    query=ConsentHistoryQuery,
    response=Page[ConsentRecord],
    permission=READ,
    problems=(404,),
)
def consent_history(customer_id: str, query: ConsentHistoryQuery, principal: Principal) -> Page[ConsentRecord]:
    """List a customer's consent history

    Every change of a consent, newest first: purpose, answer, when, how, policy version, evidence, who recorded it.
    """
    return service.consent_history(principal, customer_id, query)
