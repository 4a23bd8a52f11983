"""Shipping use cases: quote an order with every connected carrier, and buy the label of a quote (tracking is
``shipping/tracking.py``).

Quotes (``POST /orders/{id}/shipping-quotes``): the origin is the tenant's address, the destination the order's
customer's, the package the order's product lines (each product's catalog weight and box; services are not
shipped). Each service a carrier can sell is kept as a quote with an id, valid ``shipping_quote_ttl_s``.

A label (``POST /orders/{id}/shipments {quoteId}``) is bought from the carrier that quoted, in its steps
(``carriers.Carrier.buy``: MelhorEnvio cart → checkout → generate → print; Correios one pre-posting; JadLog one
shipment order). The order's one label item records each step as it is done, under a lease, so a retry after a
crash or an outage resumes where it stopped instead of buying twice; a second purchase for the order is a 409. The
label's id, PDF URL, tracking code and status go on the order (``shipment``), and the label joins the tenant's open
list.

One responsibility: the shipping routes' use cases (an order's quotes, and the purchase of its label).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.catalog.service import load_products
from chalicelib.core import clock, idempotency
from chalicelib.core.address import Address
from chalicelib.core.db.store import Table, TransactionConflict, VersionConflict
from chalicelib.core.errors import AppError, Conflict, FieldError, InvalidInput
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.core.observability import logger
from chalicelib.customers.service import find_customer
from chalicelib.integrations import probes
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.http import ProviderError, app_error
from chalicelib.integrations.service import (
    IntegrationNotConnected,
    is_connected,
    record_sync,
)
from chalicelib.orders.models import Order, OrderShipment
from chalicelib.orders.service import readable_order, shipment_ops
from chalicelib.shipping import carriers, labels, store
from chalicelib.shipping.models import (
    CarrierFailure,
    CreateShipmentRequest,
    LabelRecord,
    ShippingQuote,
    ShippingQuoteList,
    UnavailableService,
)
from chalicelib.tenants.service import load_tenant

__all__ = ["buy_label", "quote_order"]

_MAX_QUOTES = 20
_LEASE_S = 120
_CEP = re.compile(r"^[0-9]{8}$")


# --- quotes ---------------------------------------------------------------------------------------------------------


def _cep(address: Address | None, field: str, whose: str) -> str:
    postal = "".join(ch for ch in (address.postal_code or "") if ch.isdigit()) if address else ""
    if not _CEP.match(postal):
        detail = f"{whose} has no Brazilian postal code (CEP, 8 digits)"
        raise InvalidInput(detail=detail, errors=(FieldError(field, detail, "missing-postal-code"),))
    return postal


def _packages(order: Order) -> tuple[list[carriers.Package], int]:
    # A delivery platform's line that matched no product of the catalog has nothing to weigh: it is not packed.
    lines = [(i, line, line.product_id) for i, line in enumerate(order.items) if line.product_id is not None]
    products = load_products(order.tenant_id, [product_id for _, _, product_id in lines], field="order.items")
    packages, grams, missing = [], 0, []
    for (i, line, _), product in zip(lines, products, strict=True):
        if product.kind != "product":
            continue  # a service travels with nobody
        if product.weight_grams is None or product.dimensions is None:
            missing.append(
                FieldError(
                    f"order.items[{i}].productId",
                    f"{product.name} has no weight or dimensions: set weightGrams and dimensions in the catalog",
                    "missing-dimensions",
                )
            )
            continue
        box = product.dimensions
        packages.append(
            carriers.Package(
                id=product.id,
                width_cm=box.width_cm,
                height_cm=box.height_cm,
                length_cm=box.length_cm,
                weight_kg=Decimal(product.weight_grams) / 1000,
                unit_value=line.unit_price.amount,
                quantity=line.quantity,
            )
        )
        grams += product.weight_grams * line.quantity
    if missing:
        raise InvalidInput(detail=f"{len(missing)} product(s) cannot be quoted", errors=tuple(missing))
    if not packages:
        detail = "the order has no products to ship (only services)"
        raise InvalidInput(detail=detail, errors=(FieldError("order.items", detail, "nothing-to-ship"),))
    return packages, grams


def quote_order(principal: Principal, order_id: str) -> ShippingQuoteList:
    """Every connected carrier's quotes for the order's package, stored (each with an id, valid a while)."""
    require(principal, Permission.ORDERS_WRITE)
    order = readable_order(principal, order_id)
    tenant_id = principal.tenant_id
    origin = _cep(load_tenant(tenant_id).address, "tenant.address.postalCode", "the business's address")
    customer = find_customer(tenant_id, order.customer_id) if order.customer_id else None
    if customer is None:
        detail = "the order has no customer to ship to"
        raise InvalidInput(detail=detail, errors=(FieldError("order.customerId", detail, "missing-customer"),))
    destination = _cep(customer.address, "customer.address.postalCode", "the customer's address")
    packages, grams = _packages(order)
    providers = [p for p in carriers.SHIPPING_PROVIDERS if is_connected(tenant_id, p)]
    if not providers:
        names = ", ".join(p.value for p in carriers.SHIPPING_PROVIDERS)
        raise Conflict(
            detail=f"no shipping integration is connected (PUT /integrations/{{{names}}})", code="no-carrier"
        )
    moment = clock.now()
    valid_until = moment + timedelta(seconds=_ttl())
    quotes: list[ShippingQuote] = []
    unavailable: list[UnavailableService] = []
    failures: list[CarrierFailure] = []
    errors: list[ProviderError] = []
    for provider in providers:
        try:
            answered = carriers.carrier(provider).quote(tenant_id, origin, destination, packages)
        except IntegrationNotConnected:
            continue  # disconnected just now (its refresh token refused)
        except ProviderError as exc:
            record_sync(tenant_id, provider, "quote", ok=False, error=exc.detail)
            failures.append(CarrierFailure(provider=provider.value, detail=exc.detail))
            errors.append(exc)
            continue
        for service in answered:
            if service.price is None:
                reason = service.error or "unavailable"
                unavailable.append(
                    UnavailableService(
                        provider=provider.value, carrier=service.company, service=service.name, reason=reason
                    )
                )
                continue
            quotes.append(
                ShippingQuote(
                    id=new_id(moment),
                    order_id=order.id,
                    provider=provider.value,
                    carrier=service.company,
                    service=service.name,
                    service_id=service.service_id,
                    price=Money(amount=service.price, currency="BRL"),
                    delivery_days=service.delivery_days,
                    created_at=clock.isoformat(moment),
                    valid_until=clock.isoformat(valid_until),
                )
            )
    if not quotes and errors and len(errors) == len(providers):
        # Every carrier failed: the request fails as the most hopeful of their failures (503 when a retry may work).
        raise app_error(min(errors, key=lambda exc: not exc.retryable))
    quotes = sorted(quotes, key=lambda q: (q.price.amount, q.delivery_days or 0))[:_MAX_QUOTES]
    if quotes:
        epoch = clock.to_epoch(valid_until)
        Table().transact([store.quote_op(tenant_id, quote, epoch) for quote in quotes])
    return ShippingQuoteList(
        items=quotes,
        unavailable=unavailable,
        failures=failures,
        origin_postal_code=origin,
        destination_postal_code=destination,
        weight_grams=grams,
    )


def _ttl() -> int:
    from chalicelib.core.config import get_settings

    return get_settings().shipping_quote_ttl_s


# --- label purchase -------------------------------------------------------------------------------------------------


def _bad_quote(detail: str) -> InvalidInput:
    return InvalidInput(detail=detail, errors=(FieldError("body.quoteId", detail, "invalid-quote"),))


def _label_exists(order: Order) -> Conflict:
    shipment = order.shipment
    label = f" ({shipment.carrier} {shipment.service}, label {shipment.label_id})" if shipment else ""
    return Conflict(detail=f"the order already has a shipping label{label}", code="label-exists")


def buy_label(principal: Principal, order_id: str, body: CreateShipmentRequest, idempotency_key: str | None) -> Order:
    """Buy the label of one of the order's quotes and keep it on the order (once per order)."""
    require(principal, Permission.ORDERS_WRITE)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "shipments.create",
        body,
        Order,
        lambda seal: _buy(principal, order_id, body.quote_id, seal),
    )


def _claim(principal: Principal, order: Order, quote: ShippingQuote) -> LabelRecord:
    """The order's label item, leased to this request: a new one, or one a crashed request left unfinished."""
    now = clock.now()
    lease, until = new_id(now), clock.to_epoch(now) + _LEASE_S
    record = LabelRecord(
        tenant_id=order.tenant_id,
        order_id=order.id,
        provider=quote.provider,
        quote_id=quote.id,
        state="claimed",
        lease_id=lease,
        lease_until=until,
        claimed_at=clock.isoformat(now),
        updated_at=clock.isoformat(now),
    )
    try:
        Table().transact([store.claim_label_op(record)])
    except TransactionConflict:
        pass
    else:
        return record
    existing = store.get_label(order.tenant_id, order.id)
    if existing is None:
        raise Conflict(detail="the order's label changed meanwhile; retry", code="label-busy")
    if existing.state == "done":
        raise _label_exists(order)
    if existing.quote_id != quote.id:
        detail = f"a purchase with quote {existing.quote_id} is unfinished: retry it with that quoteId"
        raise Conflict(detail=detail, code="label-unfinished", errors=(FieldError("body.quoteId", detail, "other"),))
    try:
        Table().transact([store.take_lease_op(order.tenant_id, order.id, lease, until, clock.to_epoch(now))])
    except TransactionConflict as exc:
        raise Conflict(
            detail="a label purchase for this order is in progress; retry shortly", code="label-busy"
        ) from exc
    return existing.model_copy(update={"lease_id": lease, "lease_until": until})


def _saver(record: LabelRecord) -> Callable[[carriers.LabelProgress], carriers.LabelProgress]:
    """Keep each step of the label on its item, while this request holds the lease."""

    def save(progress: carriers.LabelProgress) -> carriers.LabelProgress:
        fields = {
            "state": progress.state,
            "labelId": progress.label_id,
            "labelUrl": progress.label_url,
            "trackingCode": progress.tracking_code,
            "labelReceipt": progress.label_receipt,
            "labelFile": progress.label_file,
            "labelNote": progress.label_note,
            "updatedAt": clock.now_iso(),
        }
        changes = {name: value for name, value in fields.items() if value is not None}
        Table().transact(
            [store.label_change_op(record.tenant_id, record.order_id, set_=changes, lease_id=record.lease_id)]
        )
        return progress

    return save


def _release(record: LabelRecord) -> None:
    op = store.label_change_op(
        record.tenant_id, record.order_id, remove=("leaseId", "leaseUntil"), lease_id=record.lease_id
    )
    try:
        Table().transact([op])
    except TransactionConflict:
        logger.info("label lease gone on release", extra={"orderId": record.order_id})


def _label_order(order: Order, quote: ShippingQuote, started_at: str) -> carriers.LabelOrder:
    tenant = load_tenant(order.tenant_id)
    customer = find_customer(order.tenant_id, order.customer_id) if order.customer_id else None
    sender_address, recipient_address = tenant.address, customer.address if customer else None
    if sender_address is None or customer is None or recipient_address is None:
        raise _bad_quote("the order's addresses changed since the quote: ask for new quotes")
    # Unconfirmed: MelhorEnvio and Correios ask for the sender's CNPJ/CPF and the recipient's CPF on a label; BTRIX
    # keeps both only encrypted, and the fakes do not require them. Sent when a later change decrypts them here.
    sender = carriers.ShippingAddress(
        name=tenant.name,
        postal_code=_cep(sender_address, "tenant.address.postalCode", "the business's address"),
        address=sender_address.street,
        number=sender_address.number,
        complement=sender_address.complement,
        district=sender_address.district,
        city=sender_address.city,
        state_abbr=sender_address.state,
        phone=tenant.whatsapp_number,
    )
    recipient = carriers.ShippingAddress(
        name=customer.name,
        postal_code=_cep(recipient_address, "customer.address.postalCode", "the customer's address"),
        address=recipient_address.street,
        number=recipient_address.number,
        complement=recipient_address.complement,
        district=recipient_address.district,
        city=recipient_address.city,
        state_abbr=recipient_address.state,
        phone=customer.phone,
        email=customer.email,
    )
    packages, _ = _packages(order)
    return carriers.LabelOrder(
        tenant_id=order.tenant_id,
        order_id=order.id,
        number=order.number,
        service_id=quote.service_id,
        sender=sender,
        recipient=recipient,
        packages=packages,
        names={line.product_id: line.name for line in order.items if line.product_id is not None},
        started_at=datetime.fromisoformat(started_at),
    )


def _buy(principal: Principal, order_id: str, quote_id: str, seal: idempotency.Seal) -> Order:
    order = readable_order(principal, order_id)
    if order.shipment is not None:
        raise _label_exists(order)
    quote = store.get_quote(principal.tenant_id, order_id, quote_id)
    if quote is None:
        raise _bad_quote(f"no quote {quote_id} of this order")
    if quote.valid_until <= clock.now_iso():
        raise _bad_quote("the quote expired: ask for new quotes")
    provider = Provider(quote.provider)
    record = _claim(principal, order, quote)
    started = clock.now()
    progress = carriers.LabelProgress(
        record.state,
        record.label_id,
        record.label_url,
        record.tracking_code,
        record.label_receipt,
        record.label_file,
        record.label_note,
    )
    try:
        label_order = _label_order(order, quote, record.claimed_at)
        progress = carriers.carrier(provider).buy(principal.tenant_id, label_order, progress, _saver(record))
    except ProviderError as exc:
        _release(record)
        record_sync(principal.tenant_id, provider, "buy_label", ok=False, error=exc.detail)
        raise app_error(exc) from exc
    except AppError:
        _release(record)
        raise
    assert progress.label_id is not None
    now = clock.now_iso()
    shipment = OrderShipment(
        provider=quote.provider,
        carrier=quote.carrier,
        service=quote.service,
        price=quote.price,
        delivery_days=quote.delivery_days,
        quote_id=quote.id,
        label_id=progress.label_id,
        label_url=labels.label_url(progress.label_file)[0] if progress.label_file else progress.label_url,
        label_note=progress.label_note,
        tracking_code=progress.tracking_code,
        status="purchased",
        purchased_at=now,
        updated_at=now,
    )
    after = order.model_copy(update={"shipment": shipment, "updated_at": now, "version": order.version + 1})
    finish = store.label_change_op(
        principal.tenant_id,
        order_id,
        set_={"state": "done", "open": True, "updatedAt": now, **store.open_keys(principal.tenant_id, now, order_id)},
        remove=("leaseId", "leaseUntil"),
        lease_id=record.lease_id,
    )
    try:
        Table().transact([*shipment_ops(principal, order, shipment), finish, *seal(after)])
    except VersionConflict:
        # The order moved meanwhile (a status change): the label is bought, so record it on the order as it is now.
        current = readable_order(principal, order_id)
        after = current.model_copy(update={"shipment": shipment, "updated_at": now, "version": current.version + 1})
        Table().transact([*shipment_ops(principal, current, shipment), finish, *seal(after)])
    elapsed = int((clock.now() - started).total_seconds() * 1000)
    detail = f"label {progress.label_id} for order #{order.number} ({quote.carrier} {quote.service})"
    record_sync(principal.tenant_id, provider, "buy_label", ok=True, detail=detail, duration_ms=elapsed)
    return after


# POST /integrations/<carrier>/test: who the carrier says the tenant's credentials (or current token) belong to.
for _carrier in carriers.CARRIERS.values():
    probes.register(_carrier.provider, _carrier.whoami)
