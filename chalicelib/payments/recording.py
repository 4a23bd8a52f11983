"""What every ledger write shares: the system actor, provider calls as ``AppError``s, the commit that tells a lost
race, and the payable's owner told of its payment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from chalicelib.access.permissions import Role
from chalicelib.access.principal import Principal
from chalicelib.core.db.store import Table, TransactionConflict, WriteOp
from chalicelib.core.errors import Conflict
from chalicelib.core.money import Money
from chalicelib.core.observability import MetricUnit, metrics
from chalicelib.integrations.http import ProviderError, app_error
from chalicelib.payments import payables, store
from chalicelib.payments.models import Payment

__all__ = ["ATTEMPTS", "ArrivedEarly", "commit", "count", "is_payer", "provider_call", "shown", "system", "tell_owner"]

# How often a write that lost a race is decided again before the job gives up (and is retried).
ATTEMPTS = 4
T = TypeVar("T")


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


def shown(value: Money) -> str:
    """``52.30 BRL``: money in log lines, reasons and problem details (plain ASCII, any locale reads it)."""
    return f"{value.amount} {value.currency}"


def count(name: str) -> None:
    """One more of the metric ``name``."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def commit(ops: Sequence[WriteOp]) -> bool:
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


def tell_owner(payment: Payment) -> None:
    """Tell the owner of what ``payment`` pays where its payment stands (paid, partly or fully refunded)."""
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


def is_payer(payment: Payment) -> bool:
    """Whether ``payment`` is the one that paid its order (or sale)."""
    return store.get_state(payment.tenant_id, payment.payable).paid_by == payment.id
