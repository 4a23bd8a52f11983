"""The payments ledger: recording what the providers report, and refunds, each change in one transaction with
its event (and, for a payment that pays an order or a sale — the payable —, its "paid" claim, the link marked used
and the receipt).

Payments are applied here; refunds in ``refunds.py``, the events and messages that go with a change in
``ledger_events.py``, what every ledger write shares (the commit, the system actor) in ``recording.py``.

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

from collections.abc import Mapping
from typing import Any

from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import WriteOp
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.core.observability import logger
from chalicelib.integrations.http import ProviderError
from chalicelib.payments import payables, store
from chalicelib.payments.ledger_events import failed_event, mismatch_ops, receipt_ops, succeeded_event
from chalicelib.payments.models import (
    CheckoutClosed,
    Notice,
    Payment,
    PaymentLink,
    PaymentNotice,
    PaymentProvider,
    ProviderPayment,
    RefundNotice,
    paid_ids,
)
from chalicelib.payments.providers import gateway, parse_reference
from chalicelib.payments.recording import (
    ATTEMPTS,
    ArrivedEarly,
    commit,
    count,
    is_payer,
    shown,
    system,
    tell_owner,
)
from chalicelib.payments.refunds import apply_refund, refund

__all__ = ["apply_message"]


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


def _conclude(
    link: PaymentLink, payable: payables.Payable, before: Payment | None, reported: ProviderPayment
) -> str | None:
    """Record a reported payment (new, or a pending one that moved on) with what it means for the order; None when
    another writer got there first (the caller reads again and decides again)."""
    tenant_id = link.tenant_id
    after = _with_report(before or _draft(link, reported), reported)
    label = f"payment {after.id} of {payable.kind} {payable.label}"
    if after.status == "pending":
        ok = commit(_new_or_change(before, after))
        return f"{label} is pending at {after.provider}" if ok else None
    if after.status == "failed":
        ok = commit([*_new_or_change(before, after), failed_event(after), _audit(after, "payment.failed", {})])
        return f"{label} failed: {after.failure_reason}" if ok else None
    if after.amount != payable.total:
        reason = f"amount_mismatch: paid {shown(after.amount)}, the {payable.kind} is {shown(payable.total)}"
        after = after.model_copy(update={"status": "failed", "failure_reason": reason})
        ops = [*_new_or_change(before, after), failed_event(after), *mismatch_ops(tenant_id, payable, after)]
        if not commit([*ops, _audit(after, "payment.failed", {"reason": after.failure_reason})]):
            return None
        count("PaymentsMismatched")
        return f"{label} failed: {after.failure_reason} (admins told)"
    state = store.get_state(tenant_id, link.payable)
    if payable.closed is not None or (state.paid_by is not None and state.paid_by != after.id):
        return _refund_unwanted(before, after, payable, state.paid_by)
    ops = [
        *_new_or_change(before, after),
        store.claim_paid_op(tenant_id, link.payable, after.id),
        succeeded_event(after, payable.customer_id),
        _audit(after, "payment.succeeded", {"amount": after.amount.model_dump(), "provider": after.provider}),
        *receipt_ops(tenant_id, payable, after, link.locale),
    ]
    if link.status == "open":
        used = {"status": "used", "usedAt": after.updated_at, "paymentId": after.id, "updatedAt": after.updated_at}
        ops.append(store.link_change_op(link, used, while_status="open"))
    if not commit(ops):
        return None
    count("PaymentsSucceeded")
    _settle(after, link, fresh=True)
    return f"{label} succeeded ({shown(after.amount)})"


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
        succeeded_event(after, payable.customer_id),
        _audit(after, "payment.succeeded", {"reason": reason}),
    ]
    if not commit(ops):
        return None
    count("PaymentsRefundedAutomatically")
    logger.warning("payment refunded automatically", extra={"paymentId": after.id, "reason": reason})
    refund(after.tenant_id, after.id, None, reason, actor=None, refund_id=_auto_refund_id(after))
    return f"payment {after.id} ({shown(after.amount)}) refunded automatically: {reason}"


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
            commit([store.link_change_op(other, changes, while_status="open")])
    tell_owner(payment)


def _close_after_payment(link: PaymentLink) -> None:
    if link.provider != "mercadopago":
        return  # a completed Stripe Checkout Session cannot be paid again
    try:
        gateway(link.provider).close_checkout(link.tenant_id, link.provider_checkout_id)
    except ProviderError as exc:
        # Not fatal: a second payment of it would be refunded automatically.
        logger.warning("could not close a paid preference", extra={"linkId": link.id, "error": exc.detail})


def _apply_payment(tenant_id: str, reported: ProviderPayment) -> str | None:
    reference = parse_reference(reported.reference)
    if reference is None or reference.tenant_id != tenant_id:
        logger.info("a payment of no BTRIX link", extra={"providerPaymentId": reported.provider_payment_id})
        return None
    kind, payable_id = reference.payable
    link_id = reference.link_id
    for _ in range(ATTEMPTS):
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
            if before.status in ("succeeded", "partially_refunded", "refunded") and is_payer(before):
                _settle(before, link, fresh=False)
            elif before.status == "succeeded" and before.failure_reason is None:
                reason = f"{kind} {payable.label} was already paid" if payable.closed is None else payable.closed
                refund(tenant_id, before.id, None, reason, actor=None, refund_id=_auto_refund_id(before))
            lines = [apply_refund(tenant_id, before.provider, before.provider_payment_id, r) for r in reported.refunds]
            return "; ".join(line for line in lines if line) or None
        line = _conclude(link, payable, before, reported)
        if line is not None:
            more = [
                apply_refund(tenant_id, reported.provider, reported.provider_payment_id, r) for r in reported.refunds
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
        if commit([store.link_change_op(link, changes, while_status="open")])
        else None
    )


# --- messages ---------------------------------------------------------------------------------------------------


def _apply(tenant_id: str, provider: PaymentProvider, notice: Notice) -> str | None:
    if isinstance(notice, PaymentNotice):
        return _apply_payment(tenant_id, notice.payment)
    if isinstance(notice, RefundNotice):
        return apply_refund(tenant_id, provider, notice.provider_payment_id, notice.refund)
    return _apply_closed(tenant_id, notice)


def apply_message(provider: PaymentProvider, tenant_id: str, message: Mapping[str, Any]) -> str | None:
    """Apply everything a provider's webhook message says; a line for the sync log, or None (nothing of ours)."""
    lines = [_apply(tenant_id, provider, notice) for notice in gateway(provider).interpret(tenant_id, message)]
    return "; ".join(line for line in lines if line) or None
