"""Shipping routes: quotes for an order, and the label bought with one."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.orders.models import Order
from chalicelib.shipping import labels, service
from chalicelib.shipping.models import CreateShipmentRequest, ShipmentLabel, ShippingQuoteList

blueprint = protected_blueprint(__name__, tag="shipping")


@blueprint.operation(
    "/orders/{order_id}/shipping-quotes",
    "POST",
    response=ShippingQuoteList,
    problems=(404, 409, 502, 503),
    permission=Permission.ORDERS_WRITE,
    module=Module.ORDERS,
)
def quote_shipping(order_id: str, principal: Principal) -> ShippingQuoteList:
    """Quote shipping for an order

    Every connected carrier's (melhorenvio, correios, jadlog) price and delivery time (working days) for the order's
    products, from the business's address to the customer's, cheapest first; each quote has an id to buy its label
    with, valid 30 minutes.
    Services that cannot carry the package are listed with the reason; a carrier that could not answer is listed
    under failures (503 when none could). 422 naming the missing postal code or the product without weight or
    dimensions; 409 when no shipping integration is connected.
    """
    return service.quote_order(principal, order_id)


@blueprint.operation(
    "/orders/{order_id}/shipments",
    "POST",
    body=CreateShipmentRequest,
    response=Order,
    status=201,
    problems=(404, 409, 502, 503),
    permission=Permission.ORDERS_WRITE,
    module=Module.ORDERS,
    idempotent=True,
)
def create_shipment(
    order_id: str, body: CreateShipmentRequest, principal: Principal, idempotency_key: str | None
) -> Order:
    """Buy a shipping label

    Buys the label of one of the order's quotes from the carrier that quoted it (MelhorEnvio: cart, checkout from
    the account's balance, generate, print; Correios: a pre-posting under the contract, billed when posted, and its
    label PDF, kept by BTRIX; JadLog: a shipment order) and answers the order with its shipment: carrier, service,
    price, label id, the label's PDF URL (MelhorEnvio's link; Correios': a presigned URL that expires soon, renewed
    by GET /orders/{id}/shipment/label; JadLog has none and labelNote says why) and the tracking code (Correios,
    JadLog: at once). Its
    tracking then moves the order (posted: shipped; delivered) and the customer is told. One label per order (409);
    a retry after a failure resumes the purchase instead of buying twice. Send Idempotency-Key to retry safely.
    """
    return service.buy_label(principal, order_id, body, idempotency_key)


@blueprint.operation(
    "/orders/{order_id}/shipment/label",
    response=ShipmentLabel,
    problems=(404, 409),
    permission=Permission.ORDERS_READ_OWN,
    module=Module.ORDERS,
)
def get_shipment_label(order_id: str, principal: Principal) -> ShipmentLabel:
    """Get the order's label PDF link

    Where to download the label of the order's shipment now: for a PDF BTRIX keeps (Correios) a new presigned URL
    valid a few minutes (expiresAt); for MelhorEnvio its own link. 404 when the order has no label; 409 when the
    carrier gives no PDF (JadLog: printed in its panel), with the reason.
    """
    return labels.label_link(principal, order_id)
