"""Rappi orders: its webhooks (and the recovery poll) become BTRIX orders, the tenant's status changes become Rappi's
order calls.

Orders in: ``rappi:NEW_ORDER`` (the order in the webhook's body) creates the BTRIX order once
(``delivery.service.ingest``); ``rappi:ORDER_EVENT_CANCEL`` cancels it. A cancellation that arrives before its order
(webhooks come in any order) is remembered (an integration reference ``cancelled#<Rappi order id>`` with the
reason), and the order that comes after is created and cancelled at once: one order, in its right final state.

Recovery: a webhook Rappi gave up on (our function down, a lost delivery) would lose the order. A one-minute schedule
queues a ``rappi.sync`` task per connected tenant (``POST /integrations/rappi/sync`` queues one now): it lists the
orders Rappi sent the store and it has not taken (``GET /orders/status/sent``) and makes each one BTRIX lacks through
the webhook's path (``receive``: the same order key, so a webhook and a poll of one order, in either order, end in one
order). An order listed as cancelled is created and cancelled at once, or cancelled if BTRIX has it (its cancellation
webhook was lost). An order whose data BTRIX cannot take is noted once (reference ``unreadable#<Rappi order id>``) and
in the sync log, not retried every minute; an outage fails the poll (retried, then the DLQ) after the other orders.

Status out: CONFIRMED (or any later status) → ``take`` (cooking time 20 min; Rappi wants it within 4 minutes);
READY and the ends that are a delivery → ``ready-for-pickup`` (Rappi's courier takes it); a cancelled end → ``reject``
with the reason (not when Rappi cancelled it). Each call once per order, in Rappi's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from chalicelib.core import clock
from chalicelib.core.db.keys import InvalidKey
from chalicelib.delivery import service as delivery
from chalicelib.integrations import jobs
from chalicelib.integrations import service as integrations
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.http import Failure, ProviderError
from chalicelib.integrations.rappi import client as rappi
from chalicelib.integrations.rappi.credentials import RappiCredentials
from chalicelib.integrations.tokens import TokenSource, with_access_token
from chalicelib.orders.models import Order, PlatformFee, PlatformLine, PlatformOrder, PlatformOrderDraft

__all__ = [
    "PROVIDER",
    "SYNC_TASK",
    "TOKENS",
    "Recovery",
    "cancel_order",
    "draft_of",
    "follow",
    "new_order",
    "poll",
    "queue_polls",
    "receive",
]

PROVIDER = Provider.RAPPI
# A login with the client credentials is the only refresh Rappi has (no refresh token).
TOKENS = TokenSource(PROVIDER, "Rappi", lambda credentials, _: rappi.grant(credentials), lambda _: "")
SYNC_TASK = "rappi.sync"
_CANCELLED_REF = "cancelled"
_UNREADABLE_REF = "unreadable"
_LADDER: dict[str, tuple[str, ...]] = {
    "CONFIRMED": ("take",),
    "ACCEPTED": ("take",),
    "PREPARING": ("take",),
    "IN_PROGRESS": ("take",),
    "READY": ("take", "ready-for-pickup"),
    "READY_FOR_PICKUP": ("take", "ready-for-pickup"),
}


_amount = partial(delivery.amount_of, "Rappi")
_text = delivery.text_of


def _lines(items: Sequence[Mapping[str, Any]]) -> list[PlatformLine]:
    return [
        PlatformLine(
            external_code=_text(item.get("sku"), 40),
            name=_text(item.get("name"), 200) or "Rappi item",
            quantity=max(1, int(item.get("quantity") or 1)),
            unit_price=_amount(item.get("price")),
            note=_text(item.get("comments")),
        )
        for item in items
        if isinstance(item, Mapping)
    ]


def draft_of(order: Any) -> PlatformOrderDraft:
    """The BTRIX order a Rappi order (the ``NEW_ORDER`` webhook's ``order``) is to become (``rejected`` when it is not
    an order's shape)."""
    return delivery.read_draft("Rappi", _draft, order)


def _draft(order: Mapping[str, Any]) -> PlatformOrderDraft:
    detail: Mapping[str, Any] = order.get("order_detail") or {}
    totals: Mapping[str, Any] = detail.get("totals") or {}
    charges: Mapping[str, Any] = totals.get("charges") or {}
    customer: Mapping[str, Any] = detail.get("customer") or {}
    address: Mapping[str, Any] = detail.get("delivery_information") or {}
    lines = _lines(detail.get("items") or ())
    if not lines:
        raise ProviderError(f"Rappi order {detail.get('order_id')} has no items", failure=Failure.REJECTED)
    name = " ".join(p for p in (_text(customer.get("first_name"), 100), _text(customer.get("last_name"), 100)) if p)
    platform = PlatformOrder(
        platform="rappi",
        order_id=str(detail["order_id"]),
        display_id=_text(detail.get("order_id"), 40),
        order_type=_text(detail.get("delivery_method"), 40),
        delivered_by="RAPPI",
        customer_name=name or None,
        customer_phone=_text(customer.get("phone_number"), 40),
        address=_text(address.get("complete_address")),
        total=_amount(totals.get("total_order")),
        delivery_fee=_amount(charges.get("shipping")),
        discounts=_amount(totals.get("total_discounts")),
        fees=[PlatformFee(kind="service_fee", amount=_amount(charges["service_fee"]))]
        if charges.get("service_fee")
        else [],
        placed_at=str(detail.get("created_at") or clock.now_iso()),
    )
    return PlatformOrderDraft(platform=platform, lines=lines)


def _payload(job: jobs.Job) -> Mapping[str, Any]:
    event = job.body.get("event")
    if not isinstance(event, Mapping):
        raise jobs.JobFailed("a Rappi event without its body")
    return event


def receive(tenant_id: str, order: Mapping[str, Any], cancelled: str | None = None) -> tuple[bool, bool]:
    """The BTRIX order of a Rappi order (the webhook's or the listing's), made once, and cancelled at once when Rappi
    cancelled it (``cancelled``: its reason) or its cancellation came first; (created now, cancelled now)."""
    draft = draft_of(order)
    order_id, created = delivery.ingest(tenant_id, PROVIDER, draft)
    reason = cancelled or integrations.find_ref(tenant_id, PROVIDER, _CANCELLED_REF, draft.platform.order_id)
    return created, reason is not None and delivery.cancelled_by_platform(tenant_id, order_id, reason)


def new_order(job: jobs.Job) -> str | None:
    """``rappi:NEW_ORDER``: the order, once; cancelled at once if Rappi's cancellation came first."""
    if integrations.find_credentials(job.tenant_id, PROVIDER) is None:
        return None
    order = _payload(job).get("order") or {}
    created, cancelled = receive(job.tenant_id, order)
    if not created:
        return None
    what = f"order {draft_of(order).platform.order_id} received"
    return f"{what} (cancelled before it arrived)" if cancelled else what


def cancel_order(job: jobs.Job) -> str | None:
    """``rappi:ORDER_EVENT_CANCEL``: the BTRIX order is cancelled (or will be, when its order arrives)."""
    if integrations.find_credentials(job.tenant_id, PROVIDER) is None:
        return None
    payload = _payload(job)
    rappi_order = str(payload.get("order_id") or "")
    reason = str(payload.get("reason") or "cancelled on Rappi")[:500]
    order_id = delivery.order_of(job.tenant_id, PROVIDER, rappi_order)
    if order_id is None:
        integrations.keep_ref(job.tenant_id, PROVIDER, _CANCELLED_REF, rappi_order, reason)
        # The order may have arrived between the read and the note: look again.
        order_id = delivery.order_of(job.tenant_id, PROVIDER, rappi_order)
        if order_id is None:
            return f"order {rappi_order} cancelled before it arrived"
    delivery.cancelled_by_platform(job.tenant_id, order_id, reason)
    return f"order {rappi_order} cancelled on Rappi"


def queue_polls() -> int:
    """The one-minute schedule: a ``rappi.sync`` task per tenant connected to Rappi; returns how many tenants."""
    return jobs.queue_per_tenant(SYNC_TASK, PROVIDER, slot_s=60)


class Recovery:
    """What one recovery poll did: orders recovered and cancelled, orders noted unreadable, the first outage."""

    def __init__(self) -> None:
        self.recovered = 0
        self.cancelled = 0
        self.unreadable: list[str] = []
        self.failure: ProviderError | None = None

    def line(self) -> str | None:
        """The poll's sync-log line (None: it changed nothing)."""
        if not (self.recovered or self.cancelled or self.unreadable):
            return None
        line = f"{self.recovered} order(s) recovered, {self.cancelled} cancelled"
        return line + (f"; unreadable: {', '.join(self.unreadable)}" if self.unreadable else "")


def _cancel_reason(detail: Mapping[str, Any]) -> str | None:
    # Not confirmed (client's notes): whether and how the listing says Rappi cancelled the order.
    if not str(detail.get("state") or "").upper().startswith("CANCEL"):
        return None
    return str(detail.get("cancel_reason") or "cancelled on Rappi")[:500]


def _recover(tenant_id: str, order: Mapping[str, Any], result: Recovery) -> None:
    detail: Mapping[str, Any] = order.get("order_detail") or {}
    rappi_order = str(detail.get("order_id") or "")
    cancelled = _cancel_reason(detail)
    try:
        found = delivery.order_of(tenant_id, PROVIDER, rappi_order)
    except InvalidKey:
        return  # an id no key can hold ('#', over 512 bytes): none Rappi sent, and none BTRIX could record
    if found is not None:  # the webhook (or an earlier poll) brought it
        if cancelled is not None:  # and Rappi's cancellation webhook was lost
            result.cancelled += int(delivery.cancelled_by_platform(tenant_id, found, cancelled))
        return
    if integrations.find_ref(tenant_id, PROVIDER, _UNREADABLE_REF, rappi_order) is not None:
        return  # noted already; its webhook job is in the DLQ
    try:
        created, cancelled_now = receive(tenant_id, order, cancelled)
    except ProviderError as exc:
        if exc.retryable:
            result.failure = result.failure or exc
            return
        integrations.keep_ref(tenant_id, PROVIDER, _UNREADABLE_REF, rappi_order, exc.detail[:500])
        result.unreadable.append(f"{rappi_order} ({exc.detail})")
        return
    result.recovered += int(created)
    result.cancelled += int(cancelled_now)


def poll(job: jobs.Job) -> str | None:
    """``task:rappi.sync``: the orders Rappi sent the store that BTRIX lacks are made (see the module's notes)."""
    credentials = integrations.find_credentials(job.tenant_id, PROVIDER)
    if not isinstance(credentials, RappiCredentials):
        return None  # disconnected since the task was queued
    listed = with_access_token(job.tenant_id, TOKENS, lambda _, token: rappi.sent_orders(token))
    result = Recovery()
    for order in listed:
        store, detail = order.get("store"), order.get("order_detail")
        internal_id = store.get("internal_id") if isinstance(store, Mapping) else None
        if not isinstance(detail, Mapping) or not detail.get("order_id"):
            continue  # not an order
        if str(internal_id or credentials.store_id) != credentials.store_id:
            continue  # one of a store the tenant did not connect
        _recover(job.tenant_id, order, result)
    if result.failure is not None:
        # What was recovered stays; the rest is tried again by this poll's retry (and the next poll).
        integrations.record_sync(
            job.tenant_id, PROVIDER, "recovery", ok=False, detail=result.line(), error=f"held back: {result.failure}"
        )
        raise result.failure
    return result.line()


def _calls(order: Order, outcome: str | None) -> tuple[str, ...]:
    platform = order.platform
    assert platform is not None
    if outcome == "cancelled":
        return () if platform.cancel_reason is not None else ("reject",)
    if outcome == "completed":
        return ("take", "ready-for-pickup")
    return _LADDER.get(order.status, ())


def _make(order: Order, token: str, action: str) -> None:
    platform = order.platform
    assert platform is not None
    if action == "take":
        rappi.take(token, platform.order_id)
    elif action == "reject":
        rappi.reject(token, platform.order_id, delivery.store_cancel_reason(order))
    else:
        rappi.ready_for_pickup(token, platform.order_id)


def follow(order: Order, outcome: str | None) -> str | None:
    """Bring Rappi up to the order's status (see the module's notes); the calls made now, for the sync log."""
    return delivery.make_calls(order, TOKENS, _calls(order, outcome), partial(_make, order))


jobs.register(jobs.provider_kind("rappi", "NEW_ORDER"), new_order, provider=PROVIDER, operation="new_order")
jobs.register(jobs.provider_kind("rappi", "ORDER_EVENT_CANCEL"), cancel_order, provider=PROVIDER, operation="cancel")
jobs.register(jobs.task_kind(SYNC_TASK), poll, provider=PROVIDER, operation="recovery")
delivery.register_follower("rappi", delivery.Follower(PROVIDER, follow))
