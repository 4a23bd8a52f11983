"""Refunds in the ledger: the ones we ask for (reserved, asked of the provider once, recorded) and the ones the
providers report (also those made in their dashboards), each recorded once; a refund that gives the whole payment
back frees its order to be paid again."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.access.principal import Principal
from chalicelib.audit.service import audit_op
from chalicelib.core import clock
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import WriteOp
from chalicelib.core.errors import Conflict, FieldError, InvalidInput, NotFound
from chalicelib.core.ids import new_id
from chalicelib.core.money import Money
from chalicelib.integrations.http import ProviderError, app_error
from chalicelib.payments import store
from chalicelib.payments.ledger_events import refunded_event
from chalicelib.payments.models import Payment, PaymentProvider, ProviderRefund, Refund
from chalicelib.payments.providers import gateway
from chalicelib.payments.recording import (
    ATTEMPTS,
    ArrivedEarly,
    commit,
    is_payer,
    shown,
    system,
    tell_owner,
)

__all__ = ["ExtraOps", "apply_refund", "refund"]

ExtraOps = Callable[[Payment], list[WriteOp]]


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
    for _ in range(ATTEMPTS):
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
        payer = is_payer(payment)
        ops = [store.payment_change_op(payment, after)]
        done = updated.status == "succeeded" and (current is None or current.status != "succeeded")
        if done:
            ops.append(refunded_event(after, updated))
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
        if not commit(ops):
            continue
        if done and payer:
            tell_owner(after)
        return after, True
    raise Conflict(detail=f"the payment {payment_id} kept changing while its refund was recorded; retry")


def apply_refund(
    tenant_id: str, provider: PaymentProvider, provider_payment_id: str, reported: ProviderRefund
) -> str | None:
    """Record a refund a provider reports of one of its payments; a line for the sync log, or None when it changed
    nothing."""
    payment_id = store.find_payment_id(tenant_id, provider, provider_payment_id)
    if payment_id is None:
        raise ArrivedEarly(detail=f"the payment {provider_payment_id} of a refund is not stored yet")
    _, changed = _record_refund(tenant_id, payment_id, reported)
    if not changed:
        return None
    return f"refund {reported.provider_refund_id} of payment {payment_id}: {reported.status} ({shown(reported.amount)})"


def _reserve(
    tenant_id: str, payment_id: str, amount: Money | None, reason: str, requested_by: str, refund_id: str
) -> tuple[Payment, Refund] | Payment:
    """Note the refund as pending before asking the provider, so two refunds cannot both take what is left;
    returns the payment alone when this refund was finished before (a replay)."""
    for _ in range(ATTEMPTS):
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
                detail=f"at most {shown(left)} can be refunded",
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
        if commit([store.payment_change_op(payment, after)]):
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
