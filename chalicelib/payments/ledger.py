"""The payments ledger: recording what the providers report, and refunds, each change in one transaction with
its event (and, for a payment that pays an order or a sale — the payable —, its "paid" claim, the link marked used
and the receipt).

One responsibility: applying to the ledger what the providers report and the refunds we ask for, each once.

Once and only once:
- a provider's payment is recorded once: its provider id is claimed in the same transaction as the payment
  (``store.new_payment_ops``); a second report of it (a duplicate webhook, ``payment.created`` then
  ``payment.updated``, three workers at once) finds it and only moves it forward (pending → succeeded | failed);
- an order (or a sale) is paid once: the payment that pays it claims its ``PAYSTATE`` (``claim_paid_op``); another
  approved payment of the same order (a MercadoPago preference paid twice, an old link paid after a new one) is
  recorded as ``duplicateOf`` and refunded in full automatically, and the sync log says so;
- a refund is recorded once: by its provider id, or by our id (Stripe ``metadata.refundId``), or, for a provider
  that keeps no metadata on refunds (MercadoPago), as the pending refund we asked for with the same amount.

Rules: a payment whose amount or currency differs from the order's total is ``failed`` (reason
``amount_mismatch``), the order is not touched and the tenant's ADMINs are emailed (the money stays at the provider
until someone refunds it). A payment of an order that was cancelled meanwhile is refunded automatically. A report
that arrives before its link or payment is stored (out of order) raises ``ArrivedEarly``: the job is retried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from chalicelib.access.permissions import Role
from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, WriteOp
from chalicelib.core.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
)
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.formatting import money_value
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.core.observability import MetricUnit, logger, metrics
from chalicelib.customers.service import load_customer
from chalicelib.integrations.http import ProviderError, app_error
from chalicelib.notifications.outbox import Channel, request_message_ops
from chalicelib.payments import payables, store
from chalicelib.payments.models import (
    CheckoutClosed,
    Notice,
    Payment,
    PaymentLink,
    PaymentNotice,
    PaymentProvider,
    ProviderPayment,
    ProviderRefund,
    Refund,
    RefundNotice,
    paid_ids,
)
from chalicelib.payments.providers import gateway, parse_reference
from chalicelib.tenants.service import load_tenant

__all__ = ["ArrivedEarly", "apply_message", "provider_call", "refund", "system"]

_ATTEMPTS = 4
_PROVIDER_NAMES = {"stripe": "Stripe", "mercadopago": "Mercado Pago"}
T = TypeVar("T")
ExtraOps = Callable[[Payment], list[WriteOp]]


class ArrivedEarly(Conflict):
    """Raised when a provider reports something whose link, order or payment is not stored yet (events out of
    order): the job runs again later, when it is."""


def system(tenant_id: str) -> Principal:
    """The actor of what payments does by itself (webhooks applied, automatic refunds)."""
    return Principal(user_id="system", tenant_id=tenant_id, role=Role.ADMIN, email="payments@system.invalid")


def provider_call(call: Callable[[], T]) -> T:
    """Run a provider call for a request: an outage becomes a 503, a refusal a 502 (``AppError``s)."""
    try:
        return call()
    except ProviderError as exc:
        raise app_error(exc) from exc


def _shown(value: Money) -> str:
    """``52.30 BRL``: money in log lines, reasons and problem details (plain ASCII, any locale reads it)."""
    return f"{value.amount} {value.currency}"


def _metric(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


# --- events, notifications --------------------------------------------------------------------------------------


def _money(value: Money | None) -> dict[str, str] | None:
    return None if value is None else value.model_dump()


def _paid_thing(payment: Payment) -> dict[str, str]:
    """``orderId`` or ``saleId``: what the payment pays, in its events."""
    kind, payable_id = payment.payable
    return {f"{kind}Id": payable_id}


def _succeeded_event(payment: Payment, customer_id: str | None) -> WriteOp:
    data: dict[str, Any] = {
        **_paid_thing(payment),
        "provider": payment.provider,
        "providerPaymentId": payment.provider_payment_id,
        "amount": payment.amount.model_dump(),
        "paidAt": payment.paid_at,
    }
    for name, value in (
        ("fee", _money(payment.fee)),
        ("net", _money(payment.net)),
        ("linkId", payment.link_id),
        ("customerId", customer_id),
        ("duplicateOf", payment.duplicate_of),
    ):
        if value is not None:
            data[name] = value
    return event_put_op(new_event("payment.succeeded", payment.tenant_id, data, subject=payment.id))


def _failed_event(payment: Payment) -> WriteOp:
    data = {
        **_paid_thing(payment),
        "provider": payment.provider,
        "providerPaymentId": payment.provider_payment_id,
        "amount": payment.amount.model_dump(),
        "reason": payment.failure_reason or "failed",
    }
    return event_put_op(new_event("payment.failed", payment.tenant_id, data, subject=payment.id))


def _refunded_event(payment: Payment, refund_done: Refund) -> WriteOp:
    data: dict[str, Any] = {
        **_paid_thing(payment),
        "provider": payment.provider,
        "refundId": refund_done.id,
        "amount": refund_done.amount.model_dump(),
        "amountRefunded": payment.amount_refunded.model_dump(),
        "full": payment.status == "refunded",
        "requestedBy": refund_done.requested_by,
    }
    if refund_done.reason:
        data["reason"] = refund_done.reason
    return event_put_op(new_event("payment.refunded", payment.tenant_id, data, subject=payment.id))


def _receipt_ops(tenant_id: str, payable: payables.Payable, payment: Payment, locale: str) -> list[WriteOp]:
    """The receipt, on the order's channel: WhatsApp for an order made there (the notifications capability sends
    the approved template outside the 24-hour window), else email, else WhatsApp to the customer's phone."""
    if payable.customer_id is None:
        return []
    customer = load_customer(tenant_id, payable.customer_id)
    channel: Channel
    if payable.channel == "whatsapp" and customer.phone:
        channel = "whatsapp"
    elif customer.email:
        channel = "email"
    elif customer.phone:
        channel = "whatsapp"
    else:
        return []
    variables = {
        "entityType": payable.kind,
        "entityId": payable.id,
        "amount": money_value(payment.amount),
        "provider": _PROVIDER_NAMES.get(payment.provider, payment.provider),
        "paymentId": payment.id,
    }
    return request_message_ops(tenant_id, channel, f"customer:{customer.id}", "payment.receipt", locale, variables)


def _mismatch_ops(tenant_id: str, payable: payables.Payable, payment: Payment) -> list[WriteOp]:
    tenant = load_tenant(tenant_id)
    variables = {
        "orderNumber": payable.label,
        "paid": money_value(payment.amount),
        "expected": money_value(payable.total),
        "provider": _PROVIDER_NAMES.get(payment.provider, payment.provider),
        "paymentId": payment.id,
    }
    return request_message_ops(tenant_id, "email", "role:ADMIN", "payment.mismatch", tenant.locale, variables)


# --- payments ---------------------------------------------------------------------------------------------------


def _draft(link: PaymentLink, reported: ProviderPayment) -> Payment:
    moment = clock.now()
    at = clock.isoformat(moment)
    zero = Money.zero(reported.amount.currency)
    return Payment(
        id=new_id(moment),
        tenant_id=link.tenant_id,
        order_id=paid_ids(link.payable)[0],
        sale_id=paid_ids(link.payable)[1],
        link_id=link.id,
        provider=reported.provider,
        provider_payment_id=reported.provider_payment_id,
        provider_checkout_id=reported.checkout_id or link.provider_checkout_id,
        status="pending",
        amount=reported.amount,
        amount_refunded=zero,
        created_at=at,
        updated_at=at,
    )


def _with_report(payment: Payment, reported: ProviderPayment) -> Payment:
    """The payment as the provider reports it now (status, amount, fee); never back from a final status."""
    at = clock.now_iso()
    fee = reported.fee
    net = None if fee is None or fee.currency != reported.amount.currency else reported.amount - fee
    changes: dict[str, Any] = {"amount": reported.amount, "fee": fee, "net": net, "updated_at": at}
    if reported.status == "succeeded":
        changes.update(status="succeeded", captured=True, paid_at=reported.paid_at or at, failure_reason=None)
    elif reported.status == "failed":
        changes.update(status="failed", failure_reason=reported.detail or "the provider declined the payment")
    return payment.model_copy(update=changes)


def _new_or_change(before: Payment | None, after: Payment) -> list[WriteOp]:
    return store.new_payment_ops(after) if before is None else [store.payment_change_op(before, after)]


def _audit(payment: Payment, action: str, after: Mapping[str, Any]) -> WriteOp:
    return audit_op(system(payment.tenant_id), action, Kind.PAYMENT, payment.id, after=dict(after))


def _commit(ops: Sequence[WriteOp]) -> bool:
    """Write ``ops``; False when a condition failed or a concurrent transaction held the items (someone else
    recorded or changed the same thing first: the caller reads again and decides again)."""
    try:
        Table().transact(ops)
    except TransactionConflict:
        return False
    except Conflict as exc:
        if not exc.retry:
            raise
        return False
    return True


def _conclude(
    link: PaymentLink, payable: payables.Payable, before: Payment | None, reported: ProviderPayment
) -> str | None:
    """Record a reported payment (new, or a pending one that moved on) with what it means for the order; None when
    another writer got there first (the caller reads again and decides again)."""
    tenant_id = link.tenant_id
    after = _with_report(before or _draft(link, reported), reported)
    label = f"payment {after.id} of {payable.kind} {payable.label}"
    if after.status == "pending":
        ok = _commit(_new_or_change(before, after))
        return f"{label} is pending at {after.provider}" if ok else None
    if after.status == "failed":
        ok = _commit([*_new_or_change(before, after), _failed_event(after), _audit(after, "payment.failed", {})])
        return f"{label} failed: {after.failure_reason}" if ok else None
    if after.amount != payable.total:
        reason = f"amount_mismatch: paid {_shown(after.amount)}, the {payable.kind} is {_shown(payable.total)}"
        after = after.model_copy(update={"status": "failed", "failure_reason": reason})
        ops = [*_new_or_change(before, after), _failed_event(after), *_mismatch_ops(tenant_id, payable, after)]
        if not _commit([*ops, _audit(after, "payment.failed", {"reason": after.failure_reason})]):
            return None
        _metric("PaymentsMismatched")
        return f"{label} failed: {after.failure_reason} (admins told)"
    state = store.get_state(tenant_id, link.payable)
    if payable.closed is not None or (state.paid_by is not None and state.paid_by != after.id):
        return _refund_unwanted(before, after, payable, state.paid_by)
    ops = [
        *_new_or_change(before, after),
        store.claim_paid_op(tenant_id, link.payable, after.id),
        _succeeded_event(after, payable.customer_id),
        _audit(after, "payment.succeeded", {"amount": after.amount.model_dump(), "provider": after.provider}),
        *_receipt_ops(tenant_id, payable, after, link.locale),
    ]
    if link.status == "open":
        used = {"status": "used", "usedAt": after.updated_at, "paymentId": after.id, "updatedAt": after.updated_at}
        ops.append(store.link_change_op(link, used, while_status="open"))
    if not _commit(ops):
        return None
    _metric("PaymentsSucceeded")
    _settle(after, link, fresh=True)
    return f"{label} succeeded ({_shown(after.amount)})"


def _refund_unwanted(
    before: Payment | None, after: Payment, payable: payables.Payable, paid_by: str | None
) -> str | None:
    """A payment nobody should have made (the order was paid already, or closed): recorded, then refunded."""
    if payable.closed is None:
        after = after.model_copy(update={"duplicate_of": paid_by})
        reason = f"duplicate: {payable.kind} {payable.label} was already paid by payment {paid_by}"
    else:
        reason = f"{payable.kind} {payable.label} cannot be paid: {payable.closed}"
    ops = [
        *_new_or_change(before, after),
        _succeeded_event(after, payable.customer_id),
        _audit(after, "payment.succeeded", {"reason": reason}),
    ]
    if not _commit(ops):
        return None
    _metric("PaymentsRefundedAutomatically")
    logger.warning("payment refunded automatically", extra={"paymentId": after.id, "reason": reason})
    refund(after.tenant_id, after.id, None, reason, actor=None, refund_id=_auto_refund_id(after))
    return f"payment {after.id} ({_shown(after.amount)}) refunded automatically: {reason}"


def _auto_refund_id(payment: Payment) -> str:
    # Derived from the payment: the automatic refund is asked for once, however often the report comes back.
    return f"AUTO{payment.id}"


def _settle(payment: Payment, link: PaymentLink, *, fresh: bool) -> None:
    """What follows a payment that paid the order: its checkout closed where the provider keeps it open (a
    MercadoPago preference can be paid again), the order's other open link expired, the order told."""
    tenant_id = payment.tenant_id
    if fresh:
        _close_after_payment(link)
        state = store.get_state(tenant_id, link.payable)
        current = state.current_link_id
        other = (
            store.get_link(tenant_id, link.payable, current, consistent=True)
            if current and current != link.id
            else None
        )
        if other is not None and other.status == "open":
            _close_after_payment(other)
            at = clock.now_iso()
            changes = {"status": "expired", "expiredReason": "order_closed", "updatedAt": at}
            _commit([store.link_change_op(other, changes, while_status="open")])
    _tell_owner(payment)


def _close_after_payment(link: PaymentLink) -> None:
    if link.provider != "mercadopago":
        return  # a completed Stripe Checkout Session cannot be paid again
    try:
        gateway(link.provider).close_checkout(link.tenant_id, link.provider_checkout_id)
    except ProviderError as exc:
        # Not fatal: a second payment of it would be refunded automatically.
        logger.warning("could not close a paid preference", extra={"linkId": link.id, "error": exc.detail})


def _tell_owner(payment: Payment) -> None:
    if payment.status not in ("succeeded", "partially_refunded", "refunded"):
        return
    status = "paid" if payment.status == "succeeded" else payment.status
    state = payables.PaymentState(
        status=status,
        payment_id=payment.id,
        amount=payment.amount,
        refunded=payment.amount_refunded,
        at=payment.paid_at or payment.updated_at,
    )
    kind, payable_id = payment.payable
    payables.owner(kind).record_payment(payment.tenant_id, payable_id, state)


def _payer(payment: Payment) -> bool:
    return store.get_state(payment.tenant_id, payment.payable).paid_by == payment.id


def _apply_payment(tenant_id: str, reported: ProviderPayment) -> str | None:
    reference = parse_reference(reported.reference)
    if reference is None or reference.tenant_id != tenant_id:
        logger.info("a payment of no BTRIX link", extra={"providerPaymentId": reported.provider_payment_id})
        return None
    kind, payable_id = reference.payable
    link_id = reference.link_id
    for _ in range(_ATTEMPTS):
        link = store.get_link(tenant_id, reference.payable, link_id, consistent=True)
        if link is None:
            raise ArrivedEarly(detail=f"the link {link_id} of payment {reported.provider_payment_id} is not stored yet")
        try:
            payable = payables.owner(kind).describe(tenant_id, payable_id, None)
        except NotFound as exc:
            raise ArrivedEarly(detail=f"the {kind} {payable_id} of a payment is not stored yet") from exc
        existing_id = store.find_payment_id(tenant_id, reported.provider, reported.provider_payment_id)
        before = store.get_payment(tenant_id, existing_id, consistent=True) if existing_id else None
        if before is not None and before.status != "pending":
            # Known and final: nothing moves back. A redelivery re-asserts what follows (idempotent), and finishes
            # the automatic refund of an unwanted payment if a crash or an outage interrupted it.
            if before.status in ("succeeded", "partially_refunded", "refunded") and _payer(before):
                _settle(before, link, fresh=False)
            elif before.status == "succeeded" and before.failure_reason is None:
                reason = f"{kind} {payable.label} was already paid" if payable.closed is None else payable.closed
                refund(tenant_id, before.id, None, reason, actor=None, refund_id=_auto_refund_id(before))
            lines = [_apply_refund(tenant_id, before.provider, before.provider_payment_id, r) for r in reported.refunds]
            return "; ".join(line for line in lines if line) or None
        line = _conclude(link, payable, before, reported)
        if line is not None:
            more = [
                _apply_refund(tenant_id, reported.provider, reported.provider_payment_id, r) for r in reported.refunds
            ]
            return "; ".join([line, *(m for m in more if m)])
    raise Conflict(detail=f"the payment {reported.provider_payment_id} kept changing while it was recorded; retry")


def _apply_closed(tenant_id: str, notice: CheckoutClosed) -> str | None:
    reference = parse_reference(notice.reference)
    if reference is None or reference.tenant_id != tenant_id:
        return None
    link = store.get_link(tenant_id, reference.payable, reference.link_id, consistent=True)
    if link is None or link.status != "open" or link.provider_checkout_id != notice.checkout_id:
        return None
    at = clock.now_iso()
    changes = {"status": "expired", "expiredReason": "provider", "updatedAt": at}
    return (
        f"link {link.id} expired at the provider"
        if _commit([store.link_change_op(link, changes, while_status="open")])
        else None
    )


# --- refunds ----------------------------------------------------------------------------------------------------


def _match(payment: Payment, reported: ProviderRefund, our_id: str | None) -> Refund | None:
    by_provider = next((r for r in payment.refunds if r.provider_refund_id == reported.provider_refund_id), None)
    if by_provider is not None:
        return by_provider
    ours = our_id or reported.reference
    if ours:
        found = next((r for r in payment.refunds if r.id == ours), None)
        if found is not None:
            return found
    # A provider that keeps no reference on refunds (MercadoPago): the refund we asked for, still waiting for its id.
    return next(
        (
            r
            for r in payment.refunds
            if r.provider_refund_id is None and r.status == "pending" and r.amount == reported.amount
        ),
        None,
    )


def _totals(payment: Payment, refunds: list[Refund]) -> Payment:
    currency = payment.amount.currency
    refunded = sum((r.amount for r in refunds if r.status == "succeeded"), Money.zero(currency))
    status = payment.status
    if refunded.amount > 0:
        status = "refunded" if refunded >= payment.amount else "partially_refunded"
    elif status in ("refunded", "partially_refunded"):
        status = "succeeded"
    return payment.model_copy(
        update={
            "refunds": refunds,
            "amount_refunded": refunded,
            "status": status,
            "updated_at": clock.now_iso(),
        }
    )


def _progress(current: Refund, reported: ProviderRefund) -> Refund:
    # Succeeded and failed are final: a late "pending" does not undo them.
    status = current.status if current.status != "pending" else reported.status
    return current.model_copy(
        update={
            "provider_refund_id": reported.provider_refund_id,
            "status": status,
            "updated_at": clock.now_iso(),
        }
    )


def _record_refund(
    tenant_id: str,
    payment_id: str,
    reported: ProviderRefund,
    *,
    our_id: str | None = None,
    actor: Principal | None = None,
    extra_ops: ExtraOps | None = None,
) -> tuple[Payment, bool]:
    """Put what the provider reports about a refund into the ledger (returns the payment and whether anything
    changed); a refund becoming ``succeeded`` emits ``payment.refunded`` and, when the whole payment is given back,
    frees the order to be paid again."""
    for _ in range(_ATTEMPTS):
        payment = store.get_payment(tenant_id, payment_id, consistent=True)
        if payment is None:
            raise NotFound(detail=f"no payment {payment_id}")
        current = _match(payment, reported, our_id)
        now = clock.now_iso()
        if current is None:
            updated = Refund(
                id=new_id(),
                provider_refund_id=reported.provider_refund_id,
                amount=reported.amount,
                status=reported.status,
                reason="made at the provider",
                requested_by="provider",
                created_at=now,
                updated_at=now,
            )
            refunds = [*payment.refunds, updated]
        else:
            updated = _progress(current, reported)
            if (
                updated.model_dump(exclude={"updated_at"}) == current.model_dump(exclude={"updated_at"})
                and extra_ops is None
            ):
                return payment, False
            refunds = [updated if r.id == current.id else r for r in payment.refunds]
        after = _totals(payment, refunds)
        payer = _payer(payment)
        ops = [store.payment_change_op(payment, after)]
        done = updated.status == "succeeded" and (current is None or current.status != "succeeded")
        if done:
            ops.append(_refunded_event(after, updated))
            ops.append(
                audit_op(
                    actor or system(tenant_id),
                    "payment.refunded",
                    Kind.PAYMENT,
                    payment.id,
                    after={"refundId": updated.id, "amount": updated.amount.model_dump(), "by": updated.requested_by},
                    tenant_id=tenant_id,
                )
            )
            if after.status == "refunded" and payer:
                ops.append(store.release_paid_op(tenant_id, payment.payable, payment.id))
        if extra_ops is not None:
            ops.extend(extra_ops(after))
        if not _commit(ops):
            continue
        if done and payer:
            _tell_owner(after)
        return after, True
    raise Conflict(detail=f"the payment {payment_id} kept changing while its refund was recorded; retry")


def _apply_refund(
    tenant_id: str, provider: PaymentProvider, provider_payment_id: str, reported: ProviderRefund
) -> str | None:
    payment_id = store.find_payment_id(tenant_id, provider, provider_payment_id)
    if payment_id is None:
        raise ArrivedEarly(detail=f"the payment {provider_payment_id} of a refund is not stored yet")
    _, changed = _record_refund(tenant_id, payment_id, reported)
    if not changed:
        return None
    return (
        f"refund {reported.provider_refund_id} of payment {payment_id}: {reported.status} ({_shown(reported.amount)})"
    )


def _reserve(
    tenant_id: str, payment_id: str, amount: Money | None, reason: str, requested_by: str, refund_id: str
) -> tuple[Payment, Refund] | Payment:
    """Note the refund as pending before asking the provider, so two refunds cannot both take what is left;
    returns the payment alone when this refund was finished before (a replay)."""
    for _ in range(_ATTEMPTS):
        payment = store.get_payment(tenant_id, payment_id, consistent=True)
        if payment is None:
            raise NotFound(detail=f"no payment {payment_id}")
        known = next((r for r in payment.refunds if r.id == refund_id), None)
        if known is not None:
            return payment if known.provider_refund_id or known.status != "pending" else (payment, known)
        if not payment.captured:
            raise Conflict(
                detail=f"the payment is {payment.status}: the provider holds no money of it", code="not-refundable"
            )
        left = payment.refundable()
        if amount is not None and amount.currency != payment.amount.currency:
            raise InvalidInput(
                detail=f"the payment is in {payment.amount.currency}",
                errors=(FieldError("body.amount.currency", f"must be {payment.amount.currency}"),),
            )
        value = left if amount is None else amount
        if left.is_zero():
            raise Conflict(detail="the payment has been refunded in full already", code="refunded")
        if value.amount <= 0 or value > left:
            raise InvalidInput(
                detail=f"at most {_shown(left)} can be refunded",
                errors=(FieldError("body.amount.amount", f"must be more than 0 and at most {left.amount}"),),
            )
        now = clock.now_iso()
        pending = Refund(
            id=refund_id,
            amount=value,
            status="pending",
            reason=reason,
            requested_by=requested_by,
            created_at=now,
            updated_at=now,
        )
        after = payment.model_copy(update={"refunds": [*payment.refunds, pending], "updated_at": now})
        if _commit([store.payment_change_op(payment, after)]):
            return after, pending
    raise Conflict(detail=f"the payment {payment_id} kept changing; retry")


def refund(
    tenant_id: str,
    payment_id: str,
    amount: Money | None,
    reason: str,
    *,
    actor: Principal | None,
    refund_id: str,
    extra_ops: ExtraOps | None = None,
) -> Payment:
    """Give ``amount`` (None: all that is left) of a payment back at its provider and record it; ``refund_id``
    makes it once (it is the provider's idempotency key). ``actor`` None: BTRIX by itself (``system``)."""
    reserved = _reserve(tenant_id, payment_id, amount, reason, actor.user_id if actor else "system", refund_id)
    if isinstance(reserved, Payment):
        return reserved
    payment, pending = reserved
    try:
        reported = gateway(payment.provider).refund(
            tenant_id, payment.provider_payment_id, pending.amount, refund_id=refund_id
        )
    except ProviderError as exc:
        if not exc.retryable:
            failed = ProviderRefund(
                provider_refund_id=f"refused-{refund_id}", amount=pending.amount, status="failed", reference=refund_id
            )
            _record_refund(tenant_id, payment_id, failed, our_id=refund_id, actor=actor)
        # An outage leaves the refund pending: the same refund id is asked again when this is retried.
        raise app_error(exc) from exc
    after, _ = _record_refund(tenant_id, payment_id, reported, our_id=refund_id, actor=actor, extra_ops=extra_ops)
    return after


# --- messages ---------------------------------------------------------------------------------------------------


def _apply(tenant_id: str, provider: PaymentProvider, notice: Notice) -> str | None:
    if isinstance(notice, PaymentNotice):
        return _apply_payment(tenant_id, notice.payment)
    if isinstance(notice, RefundNotice):
        return _apply_refund(tenant_id, provider, notice.provider_payment_id, notice.refund)
    return _apply_closed(tenant_id, notice)


def apply_message(provider: PaymentProvider, tenant_id: str, message: Mapping[str, Any]) -> str | None:
    """Apply everything a provider's webhook message says; a line for the sync log, or None (nothing of ours)."""
    lines = [_apply(tenant_id, provider, notice) for notice in gateway(provider).interpret(tenant_id, message)]
    return "; ".join(line for line in lines if line) or None
