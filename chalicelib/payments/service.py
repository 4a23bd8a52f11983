"""Payments: single-use payment links to the providers' checkouts, the ledger of what was paid and refunded, and
the confirmation of payments from the providers' webhooks.

One responsibility: the payments capability's use cases (the routes' and the other capabilities' entry points); the
ledger's rules are in ``ledger.py``, the providers behind ``providers.py``, the pages in ``pages.py``.

What the capability offers (routes, other capabilities and workers call these):

- ``create_payment_link(principal, body, idempotency_key)`` (``POST /payment-links``, for an order or a sale) and,
  for other capabilities, ``create_link_for(tenant_id, order_id, actor=None, provider=None, minutes=60,
  kind="order")`` (the ShopMe
  assistant builds an order, asks for its link and tells the customer ``link.url``) and
  ``send_payment_link(tenant_id, order_id, channel=, key=)`` (the workflow action: the link and the message that
  carries it to the customer, once per key): opens the provider's checkout (Stripe Checkout Session with
  ``expires_at``, MercadoPago preference with ``expiration_date_to``; idempotency key ``btrix-link-<link id>``),
  expires the order's previous link at its provider, and stores the link with a route from a hash of its token
  (``pay_`` + 192 random bits; the token itself only in the answer). A provider that cannot be reached is a 503,
  one that refuses a 502, and then nothing is stored; a tenant without the provider's integration gets a 409
  naming it.
- ``list_payment_links(principal, query)`` (``GET /payment-links?orderId=`` or ``?saleId=``).
- ``open_payment_link(token, source_ip, accept_language, returned)`` (public ``GET /pay/<token>``, rate-limited
  per IP): a redirect to the checkout while the link is open, else a small page in the customer's language
  (unknown 404; expired, used or order closed 410; back from paying: 200).
- ``list_payments(principal, query)`` / ``get_payment(principal, payment_id)`` (``GET /payments``, ``GET
  /payments/{id}``): the ledger, listed through its indexes (all, by status, by provider, by order or sale; a time
  range).
- ``refund_payment(principal, payment_id, body, idempotency_key)`` (``POST /payments/{id}/refunds``, ADMIN and
  MANAGER): full or partial, the refund's id doubles as the provider's idempotency key.
- ``handle_provider_message(provider, tenant_id, message)`` (the integrations-queue consumer): what a verified
  webhook says, applied to the ledger (``payments/ledger.py``).

Events: ``payment.succeeded``, ``payment.failed``, ``payment.refunded`` (outgoing webhooks, live updates, and what
finance records as income and its reversals). Providers sit behind ``payments/providers.py``; what can be paid
(orders, sales) behind ``payments/payables.py``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock, idempotency, ratelimit
from chalicelib.core.config import get_settings
from chalicelib.core.crypto import decrypt_field, encrypt_field
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, tenant_scope, unscoped
from chalicelib.core.db.table import strip_storage
from chalicelib.core.errors import AppError, Conflict, FieldError, InvalidInput, NotFound, RateLimited
from chalicelib.core.ids import new_id
from chalicelib.core.models import ApiModel
from chalicelib.core.observability import logger
from chalicelib.core.pagination import Page, paginate
from chalicelib.customers.service import load_customer
from chalicelib.integrations.models import Provider
from chalicelib.integrations.service import find_credentials
from chalicelib.notifications.outbox import Channel, request_message_ops
from chalicelib.notifications.service import customer_locale
from chalicelib.payments import ledger, pages, payables, store
from chalicelib.payments.ledger import provider_call
from chalicelib.payments.models import (
    LINK_MINUTES_DEFAULT,
    Checkout,
    CheckoutRequest,
    CreatePaymentLinkRequest,
    PayableKind,
    Payment,
    PaymentLink,
    PaymentLinkQuery,
    PaymentListQuery,
    PaymentProvider,
    RefundRequest,
    paid_ids,
)
from chalicelib.payments.providers import IntegrationMissing, gateway, link_reference
from chalicelib.tenants.service import load_tenant

__all__ = [
    "LinkAnswer",
    "create_link_for",
    "create_payment_link",
    "get_payment",
    "handle_provider_message",
    "list_payment_links",
    "list_payments",
    "open_payment_link",
    "refund_payment",
    "send_payment_link",
]

ORDER: PayableKind = "order"
TOKEN_PREFIX = "pay_"
_TOKEN = re.compile(r"^pay_[A-Za-z0-9_-]{32}$")
# The route outlives the link by a week, so that an expired link still gets its "expired" page (not "unknown").
_ROUTE_GRACE = timedelta(days=7)
PAY_PAGE_IP = ratelimit.Limit("pay-page-ip", 120, 15 * 60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _pay_base() -> str:
    settings = get_settings()
    return (settings.payment_link_base_url or f"{settings.app_base_url.rstrip('/')}/pay").rstrip("/")


# --- the ledger ----------------------------------------------------------------------------------------------------


def _payment(item: dict[str, Any]) -> Payment:
    return Payment.model_validate(strip_storage(item))


def get_payment(principal: Principal, payment_id: str) -> Payment:
    """One payment with its refunds."""
    require(principal, Permission.PAYMENTS_READ)
    found = store.get_payment(principal.tenant_id, payment_id)
    if found is None:
        raise NotFound(detail=f"no payment {payment_id}")
    return found


def _bound(moment: datetime | None, default: str) -> str:
    return clock.isoformat(moment) if moment is not None else default


def list_payments(principal: Principal, query: PaymentListQuery) -> Page[Payment]:
    """One page of payments, newest first: all, or of one status, one provider, one order or one sale, in a time
    range."""
    require(principal, Permission.PAYMENTS_READ)
    tenant_id = principal.tenant_id
    between = (_bound(query.from_, "0"), _bound(query.to, "9") + "~")
    payable = query.payable
    if payable is not None:

        def by_payable(start: dict[str, str] | None) -> QueryPage:
            refs = store.list_payable_payment_ids(tenant_id, payable, between, query.limit, start)
            ids = [str(ref["paymentId"]) for ref in refs.items]
            # An order or a sale has a payment or two: read them at once, each inside this request's tenant scope.
            scope = copy_context()
            with ThreadPoolExecutor(max_workers=8) as pool:
                found = list(pool.map(lambda i: scope.copy().run(store.get_payment, tenant_id, i), ids))
            return QueryPage(items=[p.model_dump() for p in found if p is not None], last_key=refs.last_key)

        fetch = by_payable
    else:

        def fetch(start: dict[str, str] | None) -> QueryPage:
            return store.list_payments(
                tenant_id,
                status=query.status,
                provider=query.provider,
                between=between,
                limit=query.limit,
                start_key=start,
            )

    narrowing = f"{query.status or ''}:{query.provider or ''}:{':'.join(payable) if payable else ''}"
    return paginate(
        Page[Payment],
        query,
        tenant_id=tenant_id,
        scope=f"payments:{narrowing}:{between[0]}:{between[1]}",
        fetch=fetch,
        convert=_payment,
    )


def refund_payment(principal: Principal, payment_id: str, body: RefundRequest, idempotency_key: str | None) -> Payment:
    """Give money back from a payment (all that is left, or ``body.amount``); the ledger, the order and the
    ``payment.refunded`` event follow. With an ``Idempotency-Key`` the same refund is made once, also at the
    provider (the refund's id is derived from the key)."""
    require(principal, Permission.PAYMENTS_WRITE)
    tenant_id = principal.tenant_id
    refund_id = (
        new_id()
        if idempotency_key is None
        else hashlib.sha256(f"{tenant_id}\n{payment_id}\n{idempotency_key}".encode()).hexdigest()[:26].upper()
    )
    return idempotency.once(
        tenant_id,
        idempotency_key,
        f"payments.refund:{payment_id}",
        body,
        Payment,
        lambda seal: ledger.refund(
            tenant_id,
            payment_id,
            body.amount,
            body.reason,
            actor=principal,
            refund_id=refund_id,
            extra_ops=seal,
        ),
    )


# --- links -------------------------------------------------------------------------------------------------------


class _CreatedLink(ApiModel):
    """What an idempotent link create records: the link, and its token encrypted (never in clear in the table)."""

    link: PaymentLink
    token_encrypted: str


def _with_url(tenant_id: str, created: _CreatedLink) -> PaymentLink:
    token = decrypt_field(tenant_id, created.token_encrypted)
    return created.link.model_copy(update={"url": f"{_pay_base()}/{token}"})


def _default_provider(tenant_id: str) -> PaymentProvider:
    candidates: tuple[PaymentProvider, ...] = ("stripe", "mercadopago", "pagarme")
    for provider in candidates:
        if find_credentials(tenant_id, Provider(provider)) is not None:
            return provider
    raise IntegrationMissing(
        detail="no payment integration is connected: connect stripe, mercadopago or pagarme (PUT /integrations/"
        "{provider})",
        title="Integration missing",
        code="integration-missing",
    )


def _describe(
    tenant_id: str, payable: tuple[PayableKind, str], reader: Principal | None, field: str
) -> payables.Payable:
    kind, payable_id = payable
    try:
        found = payables.owner(kind).describe(tenant_id, payable_id, reader)
    except NotFound as exc:
        raise InvalidInput(detail=exc.detail, errors=(FieldError(field, f"no such {kind}"),)) from exc
    if found.closed is not None:
        raise Conflict(detail=f"{kind} {found.label} cannot be paid: {found.closed}", code=f"{kind}-closed")
    return found


def _field(location: str, kind: PayableKind) -> str:
    return f"{location}.{kind}Id"


def create_payment_link(
    principal: Principal, body: CreatePaymentLinkRequest, idempotency_key: str | None
) -> PaymentLink:
    """Open a payment link for an order or a sale the caller may see (its previous link expires); the answer
    carries the link's ``url``, to send to the customer."""
    require(principal, Permission.PAYMENT_LINKS)
    tenant_id = principal.tenant_id
    created = idempotency.once(
        tenant_id,
        idempotency_key,
        "payments.link",
        body,
        _CreatedLink,
        lambda seal: _create_link(
            tenant_id,
            body.payable,
            principal,
            body.provider,
            body.expires_in_minutes,
            _field("body", body.payable[0]),
            seal,
        ),
    )
    return _with_url(tenant_id, created)


def create_link_for(
    tenant_id: str,
    order_id: str,
    *,
    actor: Principal | None = None,
    provider: PaymentProvider | None = None,
    minutes: int = LINK_MINUTES_DEFAULT,
    kind: PayableKind = "order",
) -> PaymentLink:
    """For other capabilities (the shop assistant, the workflow action ``send_payment_link``): a new link for an
    order (or, with ``kind="sale"``, a sale) of the tenant, with its ``url``. ``actor`` None: the system (no read
    check)."""
    created = _create_link(tenant_id, (kind, order_id), actor, provider, minutes, f"{kind}Id", lambda response: [])
    return _with_url(tenant_id, created)


class _WorkflowLink(ApiModel):
    """A workflow's request for a link (what its idempotency record is checked against)."""

    order_id: str
    channel: Channel


def send_payment_link(tenant_id: str, order_id: str, *, channel: Channel, key: str) -> str:
    """The workflow action ``send_payment_link``: a new link for the order, sent to its customer on ``channel``
    (template ``payment.link``, the link a secret variable) in the transaction that stores the link; ``key`` (the
    job's) makes both once. Returns a line for the sync log (an order without a customer, paid or closed gets no
    link, and says so)."""
    payable = payables.owner(ORDER).describe(tenant_id, order_id, None)
    customer_id = payable.customer_id
    if customer_id is None:
        return f"order {payable.label} has no customer: no payment link sent"
    if payable.closed is not None:
        return f"order {payable.label} cannot be paid ({payable.closed}): no payment link sent"
    if store.get_state(tenant_id, (ORDER, order_id)).paid_by is not None:
        return f"order {payable.label} is paid already: no payment link sent"

    def notify(link: PaymentLink) -> list[WriteOp]:
        variables = {"entityType": ORDER, "entityId": order_id, "link": link.url, "minutes": LINK_MINUTES_DEFAULT}
        return request_message_ops(
            tenant_id, channel, f"customer:{customer_id}", "payment.link", link.locale, variables
        )

    created = idempotency.once(
        tenant_id,
        key,
        "payments.link.workflow",
        _WorkflowLink(order_id=order_id, channel=channel),
        _CreatedLink,
        lambda seal: _create_link(
            tenant_id, (ORDER, order_id), None, None, LINK_MINUTES_DEFAULT, "orderId", seal, notify
        ),
    )
    return f"payment link {created.link.id} of order {payable.label} sent to its customer ({channel})"


def _close_quietly(provider: PaymentProvider, tenant_id: str, checkout: Checkout) -> None:
    """Best effort: a checkout we opened but could not keep (it expires by itself anyway)."""
    try:
        provider_call(lambda: gateway(provider).close_checkout(tenant_id, checkout.id))
    except AppError:  # the provider's failure, mapped by provider_call: the original failure is the one reported
        logger.warning("could not close an unused checkout", extra={"provider": provider, "checkoutId": checkout.id})


def _create_link(
    tenant_id: str,
    payable_ref: tuple[PayableKind, str],
    reader: Principal | None,
    provider: PaymentProvider | None,
    minutes: int,
    field: str,
    seal: idempotency.Seal,
    message: Callable[[PaymentLink], list[WriteOp]] | None = None,
) -> _CreatedLink:
    kind = payable_ref[0]
    payable = _describe(tenant_id, payable_ref, reader, field)
    chosen: PaymentProvider = provider or _default_provider(tenant_id)
    state = store.get_state(tenant_id, payable_ref)
    if state.paid_by is not None:
        raise Conflict(detail=f"{kind} {payable.label} is paid already (payment {state.paid_by})", code=f"{kind}-paid")
    tenant = load_tenant(tenant_id)
    locale = (customer_locale(tenant_id, payable.customer_id) if payable.customer_id else None) or tenant.locale
    customer = load_customer(tenant_id, payable.customer_id) if payable.customer_id else None
    moment = clock.now()
    link_id = new_id(moment)
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    expires = moment + timedelta(minutes=minutes)
    url = f"{_pay_base()}/{token}"
    request = CheckoutRequest(
        tenant_id=tenant_id,
        link_id=link_id,
        payable_kind=kind,
        payable_id=payable_ref[1],
        title=pages.checkout_title(locale, tenant.name, payable.label),
        amount=payable.total,
        locale=locale,
        expires_at=expires,
        reference=link_reference(tenant_id, payable_ref, link_id),
        success_url=f"{url}?returned=true",
        cancel_url=url,
        customer_email=customer.email if customer else None,
    )
    checkout = provider_call(lambda: gateway(chosen).open_checkout(request, idempotency_key=f"btrix-link-{link_id}"))
    previous = (
        store.get_link(tenant_id, payable_ref, state.current_link_id, consistent=True)
        if state.current_link_id
        else None
    )
    at = clock.isoformat(moment)
    ops: list[WriteOp] = []
    if previous is not None and previous.status == "open":
        try:
            closed = provider_call(
                lambda: gateway(previous.provider).close_checkout(tenant_id, previous.provider_checkout_id)
            )
        except AppError:  # the previous checkout's provider failed (provider_call maps it): ours goes too
            _close_quietly(chosen, tenant_id, checkout)
            raise
        if not closed:
            _close_quietly(chosen, tenant_id, checkout)
            paid = f"the {kind}'s previous link was just paid; it is being confirmed"
            raise Conflict(detail=paid, code=f"{kind}-paid")
        ops.append(
            store.link_change_op(
                previous,
                {"status": "expired", "expiredReason": "replaced", "updatedAt": at},
                while_status="open",
            )
        )
    link = PaymentLink(
        id=link_id,
        tenant_id=tenant_id,
        order_id=paid_ids(payable_ref)[0],
        sale_id=paid_ids(payable_ref)[1],
        provider=chosen,
        status="open",
        amount=payable.total,
        locale=locale,
        valid_until=clock.isoformat(expires),
        provider_checkout_id=checkout.id,
        checkout_url=checkout.url,
        created_by=reader.user_id if reader else "system",
        created_at=at,
        updated_at=at,
    )
    created = _CreatedLink(link=link, token_encrypted=encrypt_field(tenant_id, token))
    actor = reader or ledger.system(tenant_id)
    ops += [
        *store.new_link_ops(link, _hash(token), clock.to_epoch(expires + _ROUTE_GRACE)),
        store.state_for_new_link_op(tenant_id, payable_ref, state, link_id),
        audit_op(
            actor,
            "payment_link.created",
            Kind.ORDER if kind == ORDER else Kind.SALE,
            payable_ref[1],
            after={"linkId": link_id, "provider": chosen, "validUntil": link.valid_until},
            tenant_id=tenant_id,
        ),
        *seal(created),
        *(message(link.model_copy(update={"url": url})) if message is not None else []),
    ]
    try:
        with unscoped():  # the link's route is the platform's (ROUTE#), written with the link
            Table().transact(ops)
    except Conflict as exc:
        # Another link or a payment came first (or a twin request with the same Idempotency-Key): ours goes.
        _close_quietly(chosen, tenant_id, checkout)
        raise Conflict(detail=f"the {kind}'s payment changed meanwhile (another link, or paid); retry") from exc
    return created


def list_payment_links(principal: Principal, query: PaymentLinkQuery) -> Page[PaymentLink]:
    """One page of an order's or a sale's links, newest first (their URLs are not kept: a new link replaces a lost
    one)."""
    require(principal, Permission.PAYMENT_LINKS)
    tenant_id = principal.tenant_id
    kind, payable_id = payable = query.payable
    try:
        payables.owner(kind).describe(tenant_id, payable_id, principal)
    except NotFound as exc:
        raise InvalidInput(detail=exc.detail, errors=(FieldError(_field("query", kind), f"no such {kind}"),)) from exc
    return paginate(
        Page[PaymentLink],
        query,
        tenant_id=tenant_id,
        scope=f"payment-links:{payable_id}",
        fetch=lambda start: store.list_links(tenant_id, payable, query.limit, start),
        convert=lambda item: PaymentLink.model_validate(strip_storage(item)),
    )


# --- /pay/<token> -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkAnswer:
    """What ``GET /pay/<token>`` answers: a redirect (``location``) or a page."""

    status: int
    html: str
    location: str | None = None
    retry_after: int | None = None
    language: str | None = None  # the page's (Content-Language); it may follow the browser's Accept-Language


def _page(status: int, kind: pages.PageKind, locale: str | None, business: str | None = None) -> LinkAnswer:
    html = pages.render_page(kind, locale, business)
    return LinkAnswer(status=status, html=html, language=pages.language_of(locale))


def open_payment_link(token: str, source_ip: str | None, accept_language: str | None, returned: bool) -> LinkAnswer:
    """Where a customer's click on a payment link goes: the provider's checkout while the link is open (302);
    else a page saying why not, in the customer's language. ``returned``: the customer is back from paying."""
    browser = pages.accepted_language(accept_language)
    try:
        ratelimit.consume(PAY_PAGE_IP, source_ip or "unknown")
    except RateLimited as exc:
        answer = _page(429, "busy", browser)
        return LinkAnswer(answer.status, answer.html, retry_after=exc.retry_after, language=answer.language)
    found = store.find_route(_hash(token)) if _TOKEN.match(token) else None
    now = clock.now()
    if found is None or found[1] <= clock.to_epoch(now):
        return _page(404, "unknown", browser)
    route = found[0]
    with tenant_scope(route.tenant_id):
        link = store.get_link(route.tenant_id, (route.kind, route.payable_id), route.link_id)
        if link is None:
            return _page(404, "unknown", browser)
        business = load_tenant(route.tenant_id).name
        if link.status == "used":
            return _page(200 if returned else 410, "paid" if returned else "used", link.locale, business)
        if returned:
            return _page(200, "confirming", link.locale, business)
        if link.status == "expired" or link.valid_until <= clock.isoformat(now):
            return _page(410, "expired", link.locale, business)
        if payables.owner(route.kind).describe(route.tenant_id, route.payable_id, None).closed is not None:
            return _page(410, "closed", link.locale, business)
    if link.checkout_url is None:
        return _page(410, "expired", link.locale, business)
    return LinkAnswer(
        status=302, html=pages.render_page("confirming", link.locale, business), location=link.checkout_url
    )


# --- confirmation ---------------------------------------------------------------------------------------------------


def handle_provider_message(provider: PaymentProvider, tenant_id: str, message: dict[str, Any]) -> str | None:
    """Apply what a verified provider webhook says (as ``chalicelib/inbound`` queued it) to the ledger; returns a
    line for the integration's sync log, or None when the message concerns nothing of ours."""
    return ledger.apply_message(provider, tenant_id, message)
