"""Payments: single-use payment links to the providers' checkouts, the ledger of what was paid and refunded, and
the confirmation of payments from the providers' webhooks.

One responsibility: the payments capability's use cases (the routes' and the other capabilities' entry points); the
ledger's rules are in ``ledger.py`` and ``refunds.py``, opening a link in ``links.py``, the providers behind
``providers/``, the pages in ``pages.py``.

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
finance records as income and its reversals). Providers sit behind ``payments/providers/``; what can be paid
(orders, sales) behind ``payments/payables.py``.
"""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.core import clock, idempotency, ratelimit
from chalicelib.core.db.store import QueryPage, WriteOp, tenant_scope
from chalicelib.core.db.table import strip_storage
from chalicelib.core.errors import FieldError, InvalidInput, NotFound, RateLimited
from chalicelib.core.ids import new_id
from chalicelib.core.models import ApiModel
from chalicelib.core.pagination import Page, paginate
from chalicelib.notifications.outbox import Channel, request_message_ops
from chalicelib.payments import ledger, links, pages, payables, refunds, store
from chalicelib.payments.links import ORDER
from chalicelib.payments.models import (
    LINK_MINUTES_DEFAULT,
    CreatePaymentLinkRequest,
    PayableKind,
    Payment,
    PaymentLink,
    PaymentLinkQuery,
    PaymentListQuery,
    PaymentProvider,
    RefundRequest,
)
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

_TOKEN = re.compile(r"^pay_[A-Za-z0-9_-]{32}$")
PAY_PAGE_IP = ratelimit.Limit("pay-page-ip", 120, 15 * 60)


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
        lambda seal: refunds.refund(
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
        links.CreatedLink,
        lambda seal: links.create_link(
            tenant_id,
            body.payable,
            principal,
            body.provider,
            body.expires_in_minutes,
            _field("body", body.payable[0]),
            seal,
        ),
    )
    return links.with_url(tenant_id, created)


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
    created = links.create_link(tenant_id, (kind, order_id), actor, provider, minutes, f"{kind}Id", lambda response: [])
    return links.with_url(tenant_id, created)


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
        links.CreatedLink,
        lambda seal: links.create_link(
            tenant_id, (ORDER, order_id), None, None, LINK_MINUTES_DEFAULT, "orderId", seal, notify
        ),
    )
    return f"payment link {created.link.id} of order {payable.label} sent to its customer ({channel})"


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
    found = store.find_route(links.hash_token(token)) if _TOKEN.match(token) else None
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
