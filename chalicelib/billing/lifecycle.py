"""What BTRIX's billing providers report, applied to the subscriptions; and dunning.

The subscription is one item per tenant (``store``), written whole over the version it was read at. Its states:
``pending`` (a checkout is open) → ``active`` (paid) → ``past_due`` (a charge failed: the ADMINs are told at once,
the provider retries, ``graceUntil`` = now + ``BTRIX_BILLING_GRACE_DAYS``) → ``active`` again when a charge is
paid, or, once the grace ends, the tenant is suspended (``suspend_overdue``, reading the sparse list of past-due
subscriptions that are due) until a payment reactivates it; ``canceled`` at the provider's word (the tenant goes
back to the default plan). The tenant follows its subscription (``reconcile``: plan, modules, billing's
suspension) on every run, so a job retried after a crash converges. Reports arrive twice and out of order: a paid
charge is final, a failed one never pending again, a subscription status older than the last one applied is
ignored, and a charge's outcome moves the subscription only when its invoice is not older than the newest one
applied (``last_charge_at``: a late "paid" of an older invoice is recorded, the state stays with the newer one's).
A downgrade waiting for the period's end applies with the charge that opens the next period.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.access.permissions import Role
from chalicelib.access.principal import Principal
from chalicelib.billing import providers, store
from chalicelib.billing.models import BillingTransaction, ParkedEvent, SubscriptionRecord, SubscriptionStatus
from chalicelib.billing.providers import Charge, Notice
from chalicelib.core import clock
from chalicelib.core.config import get_settings
from chalicelib.core.db.store import Table, WriteOp, tenant_scope, unscoped
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.formatting import moment_value, money_value
from chalicelib.core.observability import logger
from chalicelib.notifications.outbox import request_message_ops
from chalicelib.plans.catalog import DEFAULT_PLAN_ID, get_plan
from chalicelib.tenants import service as tenants

__all__ = [
    "LIVE",
    "PAYMENT_FAILED_TEMPLATE",
    "SUSPENDED_TEMPLATE",
    "UnknownSubscription",
    "apply_notice",
    "changed",
    "park",
    "reconcile",
    "save",
    "status_event",
    "suspend_overdue",
    "unpark",
]

PAYMENT_FAILED_TEMPLATE = "billing.payment_failed"
SUSPENDED_TEMPLATE = "billing.suspended"
LIVE: frozenset[SubscriptionStatus] = frozenset({"active", "past_due"})
_SYSTEM_ACTOR_ID = "system"


class UnknownSubscription(Exception):
    """Raised when a billing event names no subscription of ours (yet): retried, then parked."""


def _actor(tenant_id: str) -> Principal:
    return Principal(user_id=_SYSTEM_ACTOR_ID, tenant_id=tenant_id, role=Role.ADMIN, email="billing@system.invalid")


def save(record: SubscriptionRecord, previous: SubscriptionRecord | None, extra: Sequence[WriteOp] = ()) -> None:
    stale = Conflict(detail="the subscription changed meanwhile; retry", retry=True)
    Table().transact([store.save_subscription_op(record, previous.version if previous else None, stale), *extra])


def status_event(record: SubscriptionRecord) -> WriteOp:
    data = {"subscriptionId": record.id, "status": record.status, "planId": record.plan_id, "provider": record.provider}
    return event_put_op(new_event("subscription.status_changed", record.tenant_id, data, subject=record.id))


def changed(record: SubscriptionRecord, **changes: Any) -> SubscriptionRecord:
    return record.model_copy(update={**changes, "updated_at": clock.now_iso(), "version": record.version + 1})


def _matches(record: SubscriptionRecord | None, notice: Notice) -> bool:
    if record is None or record.provider != notice.provider:
        return False
    if notice.subscription_ref is not None:
        return notice.subscription_ref == record.id
    return (
        notice.provider_subscription_id is not None
        and notice.provider_subscription_id == record.provider_subscription_id
    )


def apply_notice(notice: Notice) -> str:
    """Apply one billing event to the subscription it names (run inside that tenant's scope); raises
    ``UnknownSubscription`` when it names none of ours."""
    if notice.tenant_id is None or tenants.find_tenant(notice.tenant_id) is None:
        raise UnknownSubscription(f"{notice.event_type} {notice.event_id} names no tenant of BTRIX")
    current = store.get_subscription(notice.tenant_id, consistent=True)
    if current is None or not _matches(current, notice):
        if notice.status == "canceled" and notice.charge is None and current is not None:
            # The checkout of a subscription a newer one replaced (closed by us): nothing left to act on.
            return f"{notice.event_type}: a replaced subscription ended, nothing to do"
        raise UnknownSubscription(
            f"{notice.event_type} {notice.event_id}: tenant {notice.tenant_id} has no subscription "
            f"{notice.subscription_ref or notice.provider_subscription_id}"
        )
    record = current
    extra: list[WriteOp] = []
    changes: dict[str, Any] = {}
    if record.provider_subscription_id is None and notice.provider_subscription_id:
        changes["provider_subscription_id"] = notice.provider_subscription_id
    if record.provider_customer_id is None and notice.provider_customer_id:
        changes["provider_customer_id"] = notice.provider_customer_id
    line = f"{notice.event_type}: nothing changed"
    fresh = notice.event_at >= record.last_event_at
    if notice.charge is not None:
        line, charge_changes, extra = _apply_charge(record, notice)
        changes.update(charge_changes)
    elif notice.status is not None and fresh:
        changes.update(_status_changes(record, notice.status, notice.period_end))
        changes["last_event_at"] = notice.event_at
        line = f"{notice.event_type}: subscription {changes.get('status', record.status)}"
    if changes:
        after = changed(record, **changes)
        if after.status != record.status:
            extra.append(status_event(after))
            if after.status == "past_due":
                extra += _tell_admins(after, PAYMENT_FAILED_TEMPLATE, _grace(after))
        save(after, record, extra)
        record = after
    elif extra:
        Table().transact(extra)
    reconcile(record)
    return line


def _status_changes(record: SubscriptionRecord, status: SubscriptionStatus, period_end: str | None) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if period_end and period_end != record.current_period_end:
        changes["current_period_end"] = period_end
    if status == record.status or record.status == "canceled":
        return changes  # a canceled subscription stays canceled: a new one is a new checkout
    changes["status"] = status
    if status == "past_due":
        changes.update(_past_due())
    elif status == "active":
        changes.update(past_due_since=None, grace_until=None, suspended_at=None)
    return changes


def _past_due() -> dict[str, Any]:
    moment = clock.now()
    grace = moment + timedelta(days=get_settings().billing_grace_days)
    return {"past_due_since": clock.isoformat(moment), "grace_until": clock.isoformat(grace)}


def _apply_charge(record: SubscriptionRecord, notice: Notice) -> tuple[str, dict[str, Any], list[WriteOp]]:
    charge = notice.charge
    assert charge is not None
    tx_id = store.transaction_id(record.provider, charge.provider_id)
    before = store.get_transaction(record.tenant_id, tx_id)
    now = clock.now_iso()
    tx = BillingTransaction(
        id=tx_id,
        plan_id=record.plan_id,
        amount=charge.amount,
        provider=record.provider,
        provider_id=charge.provider_id,
        status=charge.status,
        paid_at=charge.at if charge.status == "paid" else None,
        failed_at=(before.failed_at if before else None) or (now if charge.status == "failed" else None),
        created_at=before.created_at if before else now,
        updated_at=now,
    )
    if not store.save_transaction(record.tenant_id, tx):
        return f"{notice.event_type}: charge {charge.provider_id} is {before.status if before else '?'} already", {}, []
    changes: dict[str, Any] = {}
    extra: list[WriteOp] = []
    # An outcome for an invoice older than the newest one applied is recorded, but moves the state nowhere: a late
    # "paid" of last month does not undo this month's failure (a pending invoice decides nothing either way).
    newest = not (charge.issued_at and record.last_charge_at and charge.issued_at < record.last_charge_at)
    if newest and charge.issued_at and charge.status != "pending":
        changes["last_charge_at"] = charge.issued_at
    data = {"transactionId": tx_id, "amount": charge.amount.model_dump(), "providerId": charge.provider_id}
    if charge.status == "paid":
        if newest:
            changes.update(_paid_changes(record, charge, notice.period_end))
        extra.append(
            event_put_op(new_event("subscription.payment_succeeded", record.tenant_id, data, subject=record.id))
        )
    elif charge.status == "failed":
        if newest and record.status in ("active", "pending"):
            changes.update(_status_changes(record, "past_due", None))
        if before is None or before.status != "failed":
            extra.append(
                event_put_op(new_event("subscription.payment_failed", record.tenant_id, data, subject=record.id))
            )
            if newest and record.status == "past_due":  # already past due: this retry failed too; tell them again
                extra += _tell_admins(record, PAYMENT_FAILED_TEMPLATE, _grace(record))
    line = f"{notice.event_type}: charge {charge.provider_id} {charge.status}"
    return line if newest else f"{line} (an older invoice: recorded only)", changes, extra


def _paid_changes(record: SubscriptionRecord, charge: Charge, period_end: str | None) -> dict[str, Any]:
    changes = _status_changes(record, "active", period_end)
    if record.pending_plan_id is not None and _renewal(record, charge.period_start):
        plan = get_plan(record.pending_plan_id)
        cycle = record.pending_cycle or record.cycle
        changes.update(
            plan_id=plan.id,
            cycle=cycle,
            amount=providers.price_of(plan, cycle),
            pending_plan_id=None,
            pending_cycle=None,
            pending_effective_at=None,
        )
    return changes


def _renewal(record: SubscriptionRecord, period_start: int | None) -> bool:
    """Whether a paid charge opens the period a waiting downgrade starts with (Stripe names the invoice's period;
    a MercadoPago charge is dated now)."""
    if record.pending_effective_at is None:
        return True
    started = clock.isoformat(datetime.fromtimestamp(period_start, UTC)) if period_start else clock.now_iso()
    return started >= record.pending_effective_at


def _grace(record: SubscriptionRecord) -> dict[str, Any]:
    return {"graceUntil": moment_value(record.grace_until) if record.grace_until else "-"}


def _tell_admins(record: SubscriptionRecord, template: str, variables: dict[str, Any]) -> list[WriteOp]:
    try:
        locale = tenants.load_tenant(record.tenant_id).locale
    except NotFound:
        locale = "pt-BR"
    plan = get_plan(record.plan_id)
    values = {"planName": plan.name, "amount": money_value(record.amount), **variables}
    return request_message_ops(record.tenant_id, "email", "role:ADMIN", template, locale, values)


def reconcile(record: SubscriptionRecord) -> None:
    """Make the tenant follow its subscription: the plan paid for, billing's suspension lifted by a payment."""
    actor = _actor(record.tenant_id)
    if record.status in LIVE:
        tenants.apply_billing_plan(actor, record.tenant_id, record.plan_id)
    elif record.status == "canceled":
        tenants.apply_billing_plan(actor, record.tenant_id, DEFAULT_PLAN_ID)
    if record.status == "active" or record.status == "canceled":
        tenants.apply_billing_status(actor, record.tenant_id, "active")


def suspend_overdue(limit: int = 100) -> int:
    """Suspend the tenants whose grace period ended unpaid (the schedule); returns how many. Reads only the sparse
    list of past-due subscriptions that are due."""
    suspended = 0
    start: dict[str, str] | None = None
    now = clock.now_iso()
    while True:
        with unscoped():
            page = store.due_past_due(now, limit, start)
        for due in page.items:
            with tenant_scope(due.tenant_id):
                suspended += _suspend(due.tenant_id, now)
        if page.last_key is None:
            return suspended
        start = page.last_key


def _suspend(tenant_id: str, now: str) -> int:
    record = store.get_subscription(tenant_id, consistent=True)
    if record is None or record.status != "past_due" or not record.grace_until or record.grace_until > now:
        return 0  # paid meanwhile
    suspended = tenants.apply_billing_status(_actor(tenant_id), tenant_id, "suspended") is not None
    extra = _tell_admins(record, SUSPENDED_TEMPLATE, {}) if suspended else []
    # Off the due list: the subscription stays past due (the operator's list shows it) until paid or canceled.
    save(changed(record, suspended_at=now), record, extra)
    logger.info("tenant suspended for an unpaid subscription", extra={"tenantId": tenant_id})
    return int(suspended)


def park(key: str, provider: str, event_type: str, event_id: str, reason: str, attempts: int, *, parked: bool) -> None:
    """Record a billing event that found no subscription (still retrying, or ``parked`` after its last try)."""
    now = clock.now_iso()
    seen = store.get_parked(key)
    store.upsert_parked(
        ParkedEvent(
            key=key,
            provider=provider,
            event_type=event_type,
            event_id=event_id,
            reason=reason[:500],
            attempts=attempts,
            parked=parked,
            received_at=seen.received_at if seen else now,
            updated_at=now,
        )
    )


def unpark(key: str) -> None:
    """Forget a parked event that found its subscription (a redrive, or it arrived early)."""
    store.unpark(key)
