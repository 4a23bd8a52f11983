"""iFood orders: polled events become BTRIX orders, the tenant's status changes become iFood's order actions.

Polling: a one-minute schedule queues two ``ifood.sync`` tasks per connected tenant (now and in 30 s: iFood asks
for a poll every 30 s, which also keeps the store open there). A poll reads the merchant's events (oldest first),
makes sure each event's order exists in BTRIX (reading its details from iFood the first time), applies what the
event says (CAN: the BTRIX order is cancelled; the others only confirm what BTRIX told iFood) and acknowledges the
events it handled, only after the order is stored. An event that fails (iFood not having the order details yet, an
outage) is not acknowledged: it comes back on the next poll, and the later events of the same order wait for it.
Duplicate, repeated and out-of-order events end in one order in the right final state (``delivery.service``).
``POST /integrations/ifood/sync`` polls now. Where the tenant's iFood application has a webhook
(``chalicelib/inbound/ifood.py``), each event also arrives at once as an ``ifood:event`` job and is applied the same
way; the poll keeps running and finds its orders there.

Status: CONFIRMED → ``confirm``; PREPARING → ``startPreparation``; READY → ``readyToPickup`` (iFood's rider or
the customer picks it up; not for an order the merchant delivers); on its way or delivered (DISPATCHED, DELIVERED,
COMPLETED…) → ``dispatch`` for an order the merchant delivers; a cancelled end → ``requestCancellation`` with the
reason (not when iFood cancelled it). Each job brings iFood up to the order's current status: the calls an earlier
status needed and did not get are made first, in iFood's order, each once per order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from chalicelib.core import clock
from chalicelib.core.observability import logger
from chalicelib.delivery import service as delivery
from chalicelib.integrations import jobs
from chalicelib.integrations import service as integrations
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.http import Failure, ProviderError
from chalicelib.integrations.ifood import client as ifood
from chalicelib.integrations.ifood.credentials import IFoodCredentials
from chalicelib.integrations.tokens import TokenSource, with_access_token
from chalicelib.orders.models import Order, PlatformFee, PlatformLine, PlatformOrder, PlatformOrderDraft

__all__ = [
    "SYNC_TASK",
    "TOKENS",
    "PollResult",
    "apply_events",
    "draft_of",
    "follow",
    "poll",
    "queue_polls",
    "webhook_event",
]

SYNC_TASK = "ifood.sync"
_POLL_EVERY_S = 30
_CANCELLED = frozenset({"CAN", "CANCELLED"})
# The calls iFood should have had by each status of the order, in iFood's order (each made once per order).
_LADDER: dict[str, tuple[str, ...]] = {
    "CONFIRMED": ("confirm",),
    "ACCEPTED": ("confirm",),
    "PREPARING": ("confirm", "startPreparation"),
    "IN_PROGRESS": ("confirm", "startPreparation"),
    "READY": ("confirm", "startPreparation", "readyToPickup"),
    "READY_FOR_PICKUP": ("confirm", "startPreparation", "readyToPickup"),
}
_DISPATCHED = frozenset({"DISPATCHED", "SHIPPED", "OUT_FOR_DELIVERY"})
PROVIDER = Provider.IFOOD
# Client credentials have no refresh token: a new grant from the application's credentials is the refresh.
TOKENS = TokenSource(PROVIDER, "iFood", lambda credentials, _: ifood.grant(credentials), lambda _: "")


def queue_polls() -> int:
    """The one-minute schedule: two ``ifood.sync`` tasks per tenant connected to iFood (now, and in 30 s); returns
    how many tenants."""
    return jobs.queue_per_tenant(SYNC_TASK, PROVIDER, slot_s=60, delays_s=(0, _POLL_EVERY_S))


_amount = partial(delivery.amount_of, "iFood")
_text = delivery.text_of


def _lines(items: Sequence[Mapping[str, Any]]) -> list[PlatformLine]:
    lines: list[PlatformLine] = []
    for item in items:
        quantity = max(1, int(item.get("quantity") or 1))
        lines.append(
            PlatformLine(
                external_code=_text(item.get("externalCode"), 40),
                name=_text(item.get("name"), 200) or "iFood item",
                quantity=quantity,
                unit_price=_amount(item.get("unitPrice")),
                note=_text(item.get("observations")),
            )
        )
        # Options (complements) are lines of their own, matched by their own external code. Not confirmed in iFood's
        # docs: whether an option's quantity already counts the item's; taken as given.
        for option in item.get("options") or ():
            lines.append(
                PlatformLine(
                    external_code=_text(option.get("externalCode"), 40),
                    name=_text(option.get("name"), 200) or "iFood option",
                    quantity=max(1, int(option.get("quantity") or 1)),
                    unit_price=_amount(option.get("unitPrice")),
                    note=f"option of {_text(item.get('name'), 100) or 'an item'}",
                )
            )
    return lines


def draft_of(order: Any) -> PlatformOrderDraft:
    """The BTRIX order an iFood order (``GET /order/v1.0/orders/{id}``) is to become (``rejected`` when it is not an
    order's shape)."""
    return delivery.read_draft("iFood", _draft, order)


def _draft(order: Mapping[str, Any]) -> PlatformOrderDraft:
    total: Mapping[str, Any] = order.get("total") or {}
    customer: Mapping[str, Any] = order.get("customer") or {}
    phone: Mapping[str, Any] = customer.get("phone") or {}
    delivery_info: Mapping[str, Any] = order.get("delivery") or {}
    address: Mapping[str, Any] = delivery_info.get("deliveryAddress") or {}
    fees = [
        PlatformFee(kind=str(fee.get("type") or "fee")[:60], amount=_amount(fee.get("value")))
        for fee in order.get("additionalFees") or ()
        if isinstance(fee, Mapping)
    ]
    items = [item for item in order.get("items") or () if isinstance(item, Mapping)]
    if not items:
        raise ProviderError(f"iFood order {order.get('id')} has no items", failure=Failure.REJECTED)
    platform = PlatformOrder(
        platform="ifood",
        order_id=str(order["id"]),
        display_id=_text(order.get("displayId"), 40),
        order_type=_text(order.get("orderType"), 40),
        delivered_by=_text(delivery_info.get("deliveredBy"), 40),
        customer_id=_text(customer.get("id"), 80),
        customer_name=_text(customer.get("name"), 200),
        # iFood hides the customer's number behind its own and a localizer the store dials after it.
        customer_phone=" ".join(p for p in (_text(phone.get("number"), 40), _text(phone.get("localizer"), 20)) if p)
        or None,
        address=_text(address.get("formattedAddress")),
        total=_amount(total.get("orderAmount")),
        delivery_fee=_amount(total.get("deliveryFee")),
        discounts=_amount(total.get("benefits")),
        fees=fees,
        placed_at=str(order.get("createdAt") or clock.now_iso()),
    )
    notes = _text(order.get("extraInfo")) or _text(delivery_info.get("observations"))
    return PlatformOrderDraft(platform=platform, lines=_lines(items), notes=notes)


class PollResult:
    """What one poll did: the events handled (to acknowledge), orders created and cancelled, the first failure."""

    def __init__(self) -> None:
        self.handled: list[str] = []
        self.created = 0
        self.cancelled = 0
        self.failure: ProviderError | None = None

    def line(self) -> str:
        """The poll's sync-log line."""
        return f"{len(self.handled)} event(s) acknowledged, {self.created} order(s) created, {self.cancelled} cancelled"


def _ensure(tenant_id: str, token: str, ifood_order_id: str, result: PollResult) -> str:
    found = delivery.order_of(tenant_id, PROVIDER, ifood_order_id)
    if found is not None:
        return found
    order_id, created = delivery.ingest(tenant_id, PROVIDER, draft_of(ifood.get_order(token, ifood_order_id)))
    result.created += int(created)
    return order_id


def apply_events(tenant_id: str, token: str, merchant_id: str, events: Sequence[ifood.Event]) -> PollResult:
    """Apply the events (oldest first); an event that fails holds back the later ones of its order."""
    result = PollResult()
    held: set[str] = set()
    for event in events:
        if event.merchant_id and event.merchant_id != merchant_id:
            logger.warning("iFood event of another merchant: ignored", extra={"eventId": event.id})
            result.handled.append(event.id)
            continue
        if not event.order_id:
            result.handled.append(event.id)  # a merchant event (store status…): nothing for orders
            continue
        if event.order_id in held:
            continue
        try:
            order_id = _ensure(tenant_id, token, event.order_id, result)
            if event.code in _CANCELLED or event.full_code in _CANCELLED:
                said = event.metadata.get("reason") or event.metadata.get("CANCEL_REASON")
                reason = str(said or "cancelled on iFood")
                result.cancelled += int(delivery.cancelled_by_platform(tenant_id, order_id, reason[:500]))
        except ProviderError as exc:
            if exc.expired:
                raise  # the token: the caller gets a new one and polls again
            held.add(event.order_id)
            result.failure = result.failure or exc
            continue
        result.handled.append(event.id)
    return result


def poll(job: jobs.Job) -> str | None:
    """``task:ifood.sync``: poll the merchant's events, apply them, acknowledge what was handled."""
    if integrations.find_credentials(job.tenant_id, PROVIDER) is None:
        return None  # disconnected since the task was queued

    def run(credentials: IFoodCredentials, token: str) -> PollResult:
        events = ifood.poll_events(token, [credentials.merchant_id])
        result = apply_events(job.tenant_id, token, credentials.merchant_id, events)
        ifood.acknowledge(token, result.handled)
        return result

    result = with_access_token(job.tenant_id, TOKENS, run)
    if result.failure is not None:
        # What was handled is acknowledged; the rest comes back on the next poll (and this one runs again).
        integrations.record_sync(
            job.tenant_id, PROVIDER, "poll", ok=False, detail=result.line(), error=f"held back: {result.failure}"
        )
        raise result.failure
    return result.line() if result.handled else None


def webhook_event(job: jobs.Job) -> str | None:
    """``ifood:event``: an event iFood's webhook delivered, applied as a polled one (the order made once, a
    cancellation applied). Not acknowledged: the poll acknowledges what it reads, and finds the order already there."""
    if integrations.find_credentials(job.tenant_id, PROVIDER) is None:
        return None
    payload = job.body.get("event")
    if not isinstance(payload, Mapping) or not payload.get("id"):
        raise jobs.JobFailed("an iFood webhook job without its event")
    event = ifood.event_of(payload)

    def run(credentials: IFoodCredentials, token: str) -> PollResult:
        return apply_events(job.tenant_id, token, credentials.merchant_id, [event])

    result = with_access_token(job.tenant_id, TOKENS, run)
    if result.failure is not None:
        raise result.failure  # the queue tries again (iFood not having the order's details yet, an outage)
    if not (result.created or result.cancelled):
        return None
    what = event.full_code or event.code
    return f"webhook {what} of order {event.order_id}: {result.created} created, {result.cancelled} cancelled"


def _calls(order: Order, outcome: str | None) -> tuple[str, ...]:
    platform = order.platform
    assert platform is not None
    if outcome == "cancelled":
        # iFood's own cancellation is not sent back to it.
        return () if platform.cancel_reason is not None else ("requestCancellation",)
    by_merchant = (platform.delivered_by or "").upper() == "MERCHANT"
    if outcome == "completed" or order.status in _DISPATCHED:
        # On its way (or delivered): the merchant's courier dispatches it; iFood's picks it up when ready.
        return ("confirm", "startPreparation", "dispatch" if by_merchant else "readyToPickup")
    ladder = _LADDER.get(order.status, ())
    # An order the merchant delivers is not "ready to pick up": it is dispatched when it leaves.
    return tuple(a for a in ladder if not (by_merchant and a == "readyToPickup"))


def _make(order: Order, token: str, action: str) -> None:
    platform = order.platform
    assert platform is not None
    if action == "requestCancellation":
        ifood.request_cancellation(token, platform.order_id, delivery.store_cancel_reason(order))
    else:
        ifood.order_action(token, platform.order_id, action)  # type: ignore[arg-type]


def follow(order: Order, outcome: str | None) -> str | None:
    """Bring iFood up to the order's status (see the module's notes); the calls made now, for the sync log."""
    return delivery.make_calls(order, TOKENS, _calls(order, outcome), partial(_make, order))


jobs.register(jobs.task_kind(SYNC_TASK), poll, provider=PROVIDER, operation="poll")
# Every iFood webhook job (``ifood:event``; ``ifood:*`` so that a field iFood adds to its events cannot re-route them).
jobs.register(jobs.provider_kind("ifood"), webhook_event, provider=PROVIDER, operation="webhook")
delivery.register_follower("ifood", delivery.Follower(PROVIDER, follow))
