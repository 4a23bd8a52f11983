"""What every delivery platform shares: its orders become BTRIX orders once, its cancellations cancel them, and the
tenant's status changes of its orders reach it.

Once: the platform's order id is claimed (an integration reference ``order#<platform order id>`` → the BTRIX
order) in the same transaction as the order, so a duplicate event, a second poller or a webhook racing the poll
all end with the one order. Events of one order may come in any order (a cancellation before the placement):
every event first makes sure the order exists (reading it from the platform), then applies what it says; the
placement that comes after finds the order there and does nothing.

Customer: the platform's customer becomes a BTRIX customer, so that the person's data export and erasure find their
platform orders (and the tenant sees who orders): the one linked before to the platform's customer id (a reference
``customer#<platform customer id>``), else the tenant's customer with that phone when the platform gives a real number
(iFood gives its own line with a localizer: never matched, or every iFood customer would be one), else a new customer
named as the platform names them, linked for their next order. The platform talks to its customers: the order's
notifications to the customer are not sent (``notifications.delivery``).

Status: the ``delivery-platforms`` bus rule routes ``order.status_changed`` of platform orders to the integrations
queue; ``follow_status`` hands each to its platform's ``Follower``, which maps the status to the platform's call
(each call made once per order: a reference ``call#<order id>-<action>`` records it). A cancellation the platform
made itself is not echoed back to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from chalicelib.core import capabilities
from chalicelib.core.db.store import Table, TransactionConflict, WriteOp
from chalicelib.core.errors import Conflict
from chalicelib.core.money import Money
from chalicelib.core.validation import normalize_phone
from chalicelib.customers import service as customers
from chalicelib.customers.models import CreateCustomerRequest
from chalicelib.integrations import jobs
from chalicelib.integrations import service as integrations
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.http import Failure, ProviderError
from chalicelib.integrations.tokens import TokenSource, with_access_token
from chalicelib.orders import service as orders
from chalicelib.orders.models import Order, PlatformOrder, PlatformOrderDraft

__all__ = [
    "CUSTOMER_REF",
    "ORDER_REF",
    "Follower",
    "amount_of",
    "cancelled_by_platform",
    "customer_of",
    "follow_status",
    "ingest",
    "make_calls",
    "order_of",
    "read_draft",
    "register_follower",
    "sent_once",
    "store_cancel_reason",
    "text_of",
]

ORDER_REF = "order"
CUSTOMER_REF = "customer"
_NAME_CHARS = 120
_CALL_REF = "call"
_CURRENCY = "BRL"  # iFood and Rappi Brazil price in reais
_CENT = Decimal("0.01")


def amount_of(platform: str, value: Any) -> Money:
    """A platform's amount (a number or a numeric string; none is zero) as BRL; anything else is the platform's
    data we cannot take (``rejected``)."""
    detail = f"{platform} sent an amount that is not a number: {str(value)[:60]!r}"
    try:
        amount = Decimal(str(value if value is not None else 0)).quantize(_CENT)
    except InvalidOperation as exc:
        raise ProviderError(detail, failure=Failure.REJECTED) from exc
    if not amount.is_finite():  # 'NaN' quantizes to itself
        raise ProviderError(detail, failure=Failure.REJECTED)
    return Money(amount=amount, currency=_CURRENCY)


def read_draft(
    platform: str, build: Callable[[Mapping[str, Any]], PlatformOrderDraft], order: Any
) -> PlatformOrderDraft:
    """``build``'s draft of a platform's order; an order not of the shape it reads (an object where a list was, a
    quantity that is no integer) is the platform's data BTRIX cannot take (``rejected``, noted by the pollers), not a
    crash that fails every poll after it."""
    try:
        return build(order)
    except (AttributeError, TypeError, ValueError, OverflowError) as exc:
        detail = f"{platform} sent an order BTRIX cannot read ({type(exc).__name__}: {str(exc)[:200]})"
        raise ProviderError(detail, failure=Failure.REJECTED) from exc


def text_of(value: Any, limit: int = 500) -> str | None:
    """A platform's text, cut to ``limit`` (None when absent or empty)."""
    return str(value)[:limit] if value not in (None, "") else None


def order_of(tenant_id: str, provider: Provider, external_id: str) -> str | None:
    """The BTRIX order of the platform's order ``external_id``, or None when it has not arrived yet."""
    return integrations.find_ref(tenant_id, provider, ORDER_REF, external_id)


def _reachable(phone: str | None) -> str | None:
    try:
        return normalize_phone(phone) if phone else None
    except ValueError:
        return None  # a platform's own line (iFood's 0800 and a localizer): not the customer's number


def _linked(tenant_id: str, provider: Provider, platform_customer: str | None, phone: str | None) -> str | None:
    found = integrations.find_ref(tenant_id, provider, CUSTOMER_REF, platform_customer) if platform_customer else None
    return found or (customers.find_customer_id(tenant_id, phone=phone) if phone else None)


def customer_of(tenant_id: str, provider: Provider, platform: PlatformOrder) -> str | None:
    """The BTRIX customer of the platform order's customer (see the module docstring), created and linked now when
    there is none; None when the platform names nobody."""
    if not platform.customer_name:
        return None
    if platform.customer_id is not None:
        linked = integrations.find_ref(tenant_id, provider, CUSTOMER_REF, platform.customer_id)
        if linked is not None:
            return linked
    phone = _reachable(platform.customer_phone)
    found = customers.find_customer_id(tenant_id, phone=phone) if phone else None
    ops: list[WriteOp] = []
    if found is None:
        name = platform.customer_name[:_NAME_CHARS].strip()
        if not any(ch.isalnum() for ch in name):
            name = f"{provider.value} customer"
        new = customers.new_customer(orders.platform_actor(tenant_id), CreateCustomerRequest(name=name, phone=phone))
        found, ops = new.customer.id, [*new.ops, *new.claims]
    if platform.customer_id is not None:
        ops.append(integrations.ref_claim_op(tenant_id, provider, CUSTOMER_REF, platform.customer_id, found))
    try:
        if ops:
            Table().transact(ops)
    except Conflict:
        # Another order of the same person linked or made their customer first (the link or the phone is taken).
        again = _linked(tenant_id, provider, platform.customer_id, phone)
        if again is None:
            raise
        return again
    return found


def ingest(tenant_id: str, provider: Provider, draft: PlatformOrderDraft) -> tuple[str, bool]:
    """The BTRIX order of a platform order, created now if it is the first time (True) or the one made before."""
    external_id = draft.platform.order_id
    found = order_of(tenant_id, provider, external_id)
    if found is not None:
        return found, False
    customer_id = customer_of(tenant_id, provider, draft.platform)
    try:
        order = orders.create_platform_order(
            tenant_id,
            draft,
            lambda order_id: integrations.ref_claim_op(tenant_id, provider, ORDER_REF, external_id, order_id),
            customer_id,
        )
    except TransactionConflict:
        found = order_of(tenant_id, provider, external_id)
        if found is None:
            raise  # something else collided: the job runs again
        return found, False
    return order.id, True


def cancelled_by_platform(tenant_id: str, order_id: str, reason: str) -> bool:
    """The platform cancelled the order: so is the BTRIX order (an order that already ended stays as it is); True
    when it was cancelled now."""
    before = orders.find_order(tenant_id, order_id)
    after = orders.cancel_platform_order(tenant_id, order_id, reason)
    return before is not None and before.status != after.status


def sent_once(tenant_id: str, provider: Provider, order_id: str, action: str, call: Callable[[], None]) -> bool:
    """Make the platform call ``action`` for the order unless it was made already (or another worker is making it);
    True when it was made now. The call is claimed first; a call that fails gives its claim back, for the retry."""
    local = f"{order_id}-{action}"
    if integrations.find_ref(tenant_id, provider, _CALL_REF, local) is not None:
        return False
    try:
        Table().transact([integrations.ref_claim_op(tenant_id, provider, _CALL_REF, local, action)])
    except TransactionConflict:
        return False
    made = False
    try:
        call()
        made = True
    finally:
        if not made:  # whatever stopped the call, the retry must be able to claim it again
            integrations.drop_ref(tenant_id, provider, _CALL_REF, local)
    return True


def store_cancel_reason(order: Order) -> str:
    """The reason a platform is given when the store cancels the order."""
    return f"the store cancelled the order (#{order.number})"


def make_calls(order: Order, source: TokenSource, calls: Sequence[str], make: Callable[[str, str], None]) -> str | None:
    """Make the platform calls ``calls`` for the order, in their order, each unless made before (``sent_once``):
    ``make(access token, action)`` with the tenant's token of ``source`` (renewed once if refused). The sync-log
    line of the calls made now (None: none)."""
    platform = order.platform
    if not calls or platform is None:
        return None

    def run(_credentials: Any, token: str) -> list[str]:
        return [
            action
            for action in calls
            if sent_once(order.tenant_id, source.provider, order.id, action, partial(make, token, action))
        ]

    made = with_access_token(order.tenant_id, source, run)
    return f"order {platform.order_id}: {', '.join(made)}" if made else None


@dataclass(frozen=True)
class Follower:
    """A platform's side of the tenant's status changes: ``follow(order, outcome)`` makes the calls the platform
    should have had by the order's current status (its ``outcome`` when it ended) and returns what it did (None:
    nothing new). From the current status, not the event's: the jobs of one order's changes may run in any order,
    and each one brings the platform up to date, in the platform's order of calls."""

    provider: Provider
    follow: Callable[[Order, str | None], str | None]


_followers: dict[str, Follower] = {}


def register_follower(channel: str, follower: Follower) -> None:
    """Orders of ``channel`` (``ifood``, ``rappi``) have their status changes followed by ``follower``."""
    _followers[channel] = follower


def follow_status(job: jobs.Job) -> str | None:
    """``event:order.status_changed`` of a platform order: the platform hears of it (confirm, preparing, ready,
    dispatched, cancelled). A failure is in the platform's sync log; retryable ones run again."""
    data: Mapping[str, Any] = job.data
    channel = str(data.get("channel") or "")
    if channel and channel not in _followers:
        capabilities.load_registrations()  # the platform's module may not be imported yet
    follower = _followers.get(channel)
    if follower is None:
        return None
    order_id = str((job.body.get("detail") or {}).get("subject") or "")
    order = orders.find_order(job.tenant_id, order_id)
    if order is None or order.platform is None:
        return None
    if integrations.find_credentials(job.tenant_id, follower.provider) is None:
        return None  # disconnected since: the platform is not told (nothing can be)
    try:
        done = follower.follow(order, orders.outcome_of(job.tenant_id, order))
    except ProviderError as exc:
        integrations.record_sync(job.tenant_id, follower.provider, "order_status", ok=False, error=str(exc))
        raise
    if done:
        integrations.record_sync(job.tenant_id, follower.provider, "order_status", ok=True, detail=done)
    return None


jobs.register(jobs.event_kind("order.status_changed"), follow_status, operation="order_status")
