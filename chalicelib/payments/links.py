"""Opening a payment link: the provider's checkout opened, the previous link expired at its provider, and the link,
its token's route, the payable's state and the audit written in one transaction (the checkout closed again when that
fails)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.core import clock, idempotency
from chalicelib.core.config import get_settings
from chalicelib.core.crypto import decrypt_field, encrypt_field
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, WriteOp, unscoped
from chalicelib.core.errors import AppError, Conflict, FieldError, InvalidInput, NotFound
from chalicelib.core.ids import new_id
from chalicelib.core.models import ApiModel
from chalicelib.core.observability import logger
from chalicelib.customers.service import load_customer
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.service import find_credentials
from chalicelib.notifications.service import customer_locale
from chalicelib.payments import pages, payables, store
from chalicelib.payments.models import (
    Checkout,
    CheckoutRequest,
    PayableKind,
    PaymentLink,
    PaymentProvider,
    paid_ids,
)
from chalicelib.payments.providers import IntegrationMissing, gateway, link_reference
from chalicelib.payments.recording import provider_call, system
from chalicelib.tenants.service import load_tenant

__all__ = ["ORDER", "TOKEN_PREFIX", "CreatedLink", "create_link", "hash_token", "pay_base", "with_url"]

ORDER: PayableKind = "order"
TOKEN_PREFIX = "pay_"
# The route outlives the link by a week, so that an expired link still gets its "expired" page (not "unknown").
_ROUTE_GRACE = timedelta(days=7)


def hash_token(token: str) -> str:
    """What a link's route is found by: the token itself is never stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def pay_base() -> str:
    """Where ``/pay/<token>`` is served."""
    settings = get_settings()
    return (settings.payment_link_base_url or f"{settings.app_base_url.rstrip('/')}/pay").rstrip("/")


class CreatedLink(ApiModel):
    """What an idempotent link create records: the link, and its token encrypted (never in clear in the table)."""

    link: PaymentLink
    token_encrypted: str


def with_url(tenant_id: str, created: CreatedLink) -> PaymentLink:
    """The created link with its ``url`` (its token decrypted)."""
    token = decrypt_field(tenant_id, created.token_encrypted)
    return created.link.model_copy(update={"url": f"{pay_base()}/{token}"})


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


def _close_quietly(provider: PaymentProvider, tenant_id: str, checkout: Checkout) -> None:
    """Best effort: a checkout we opened but could not keep (it expires by itself anyway)."""
    try:
        provider_call(lambda: gateway(provider).close_checkout(tenant_id, checkout.id))
    except AppError:  # the provider's failure, mapped by provider_call: the original failure is the one reported
        logger.warning("could not close an unused checkout", extra={"provider": provider, "checkoutId": checkout.id})


def create_link(
    tenant_id: str,
    payable_ref: tuple[PayableKind, str],
    reader: Principal | None,
    provider: PaymentProvider | None,
    minutes: int,
    field: str,
    seal: idempotency.Seal,
    message: Callable[[PaymentLink], list[WriteOp]] | None = None,
) -> CreatedLink:
    """Open a link for ``payable_ref`` through ``provider`` (None: the first connected one), valid ``minutes``;
    ``reader`` None is the system (no read check), ``field`` names the payable in a 422, ``seal`` the idempotency
    record's writes and ``message`` those of a message carrying the link, all in the link's transaction."""
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
    url = f"{pay_base()}/{token}"
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
    created = CreatedLink(link=link, token_encrypted=encrypt_field(tenant_id, token))
    actor = reader or system(tenant_id)
    ops += [
        *store.new_link_ops(link, hash_token(token), clock.to_epoch(expires + _ROUTE_GRACE)),
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
