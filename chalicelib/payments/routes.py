"""Payment routes: the ledger, payment links, refunds, and the public ``/pay/{token}``."""

from __future__ import annotations

from chalice.app import Response
from pydantic import ConfigDict, Field

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.api import RequestMeta
from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import Page
from chalicelib.payments import service
from chalicelib.payments.models import (
    CreatePaymentLinkRequest,
    Payment,
    PaymentLink,
    PaymentLinkQuery,
    PaymentListQuery,
    RefundRequest,
)

blueprint = protected_blueprint(__name__, tag="payments")


class PayQuery(ApiModel):
    """Query of ``/pay/{token}``: ``returned`` on the way back from the checkout (providers add their own
    parameters to the return URL; they are ignored)."""

    model_config = ConfigDict(extra="ignore")

    returned: bool = Field(default=False, description="The customer is back from the provider's checkout")


@blueprint.operation(
    "/payments",
    query=PaymentListQuery,
    response=Page[Payment],
    permission=Permission.PAYMENTS_READ,
    module=Module.PAYMENTS,
)
def list_payments(query: PaymentListQuery, principal: Principal) -> Page[Payment]:
    """List payments

    Newest first; by status, by provider or by order, within from/to (creation time).
    """
    return service.list_payments(principal, query)


@blueprint.operation(
    "/payments/{payment_id}",
    response=Payment,
    problems=(404,),
    permission=Permission.PAYMENTS_READ,
    module=Module.PAYMENTS,
)
def get_payment(payment_id: str, principal: Principal) -> Payment:
    """Get a payment

    With its refunds, fees when the provider reports them, and the payment it duplicated if BTRIX refunded it.
    """
    return service.get_payment(principal, payment_id)


@blueprint.operation(
    "/payments/{payment_id}/refunds",
    "POST",
    body=RefundRequest,
    response=Payment,
    status=201,
    permission=Permission.PAYMENTS_WRITE,
    module=Module.PAYMENTS,
    idempotent=True,
    problems=(404, 409, 502, 503),
)
def refund_payment(payment_id: str, body: RefundRequest, principal: Principal, idempotency_key: str | None) -> Payment:
    """Refund a payment

    All that is left, or the amount given, at the payment's provider; answers the payment with the refund (pending
    until the provider confirms it). Send Idempotency-Key to retry safely: the provider refunds once.
    """
    return service.refund_payment(principal, payment_id, body, idempotency_key)


@blueprint.operation(
    "/payment-links",
    "POST",
    body=CreatePaymentLinkRequest,
    response=PaymentLink,
    status=201,
    permission=Permission.PAYMENT_LINKS,
    module=Module.PAYMENTS,
    idempotent=True,
    problems=(409, 502, 503),
)
def create_payment_link(
    body: CreatePaymentLinkRequest, principal: Principal, idempotency_key: str | None
) -> PaymentLink:
    """Create a payment link

    A single-use link to the provider's checkout for the order's total (Stripe or MercadoPago, from the tenant's
    integrations), valid 30 minutes to 24 hours (default 60). The order's previous link stops working. The answer
    carries the link's url: send it to the customer (it is not shown again). 409 when the order is paid, closed,
    or the provider's integration is missing.
    """
    return service.create_payment_link(principal, body, idempotency_key)


@blueprint.operation(
    "/payment-links",
    query=PaymentLinkQuery,
    response=Page[PaymentLink],
    permission=Permission.PAYMENT_LINKS,
    module=Module.PAYMENTS,
)
def list_payment_links(query: PaymentLinkQuery, principal: Principal) -> Page[PaymentLink]:
    """List an order's payment links

    Newest first, with their status (open, used, expired and why).
    """
    return service.list_payment_links(principal, query)


@blueprint.operation(
    "/pay/{token}",
    query=PayQuery,
    status=302,
    produces="text/html",
    public=True,
    extra_responses={
        200: "Back from the checkout: the payment is confirmed, or being confirmed",
        404: "No such link (a page in the browser's language)",
        410: "The link expired, was used, or its order can no longer be paid (a page in the customer's language)",
        429: "Too many attempts from this address (a page; Retry-After)",
    },
)
def open_payment_link(token: str, query: PayQuery, meta: RequestMeta) -> Response:
    """Open a payment link

    Public: where the customer's click goes. Redirects to the provider's checkout while the link is open.
    """
    headers = blueprint.current_request.headers
    answer = service.open_payment_link(token, meta.source_ip, headers.get("accept-language"), query.returned)
    sent: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Cache-Control": "no-store",
        # The token is in this URL: the checkout it redirects to must not receive it as the referrer.
        "Referrer-Policy": "no-referrer",
    }
    if answer.location is not None:
        sent["Location"] = answer.location
    if answer.retry_after is not None:
        sent["Retry-After"] = str(answer.retry_after)
    if answer.language is not None:  # a page: in the link's language, or the browser's for an unknown link
        sent["Content-Language"] = answer.language
        sent["Vary"] = "Accept-Language"
    return Response(body=answer.html, status_code=answer.status, headers=sent)
