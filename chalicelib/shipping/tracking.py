"""Shipping labels tracked on a schedule, moving their orders through the workflow engine.

Every 30 minutes (``shipping_tracking`` in ``app.py``; ``POST /integrations/<carrier>/sync`` now) one
``<carrier>.sync`` job per tenant and connected carrier runs on the integrations queue: the tenant's open labels of
that carrier are asked where they stand (one carrier's outage fails only its own job, retried by the queue);
``posted`` records the carrier's tracking code and moves the order by its flow's ``shipped`` trigger (a retail
order: PAID/CONFIRMED → SHIPPED, the customer told), ``delivered`` by its ``delivered`` trigger (→ DELIVERED, the
customer told); a delivered or cancelled label leaves the open list. Where the tenant's MelhorEnvio app has a webhook
(``chalicelib/inbound/melhorenvio.py``), each label update runs MelhorEnvio's tracking at once.
"""

from __future__ import annotations

from chalicelib.core import clock
from chalicelib.core.db.store import Table, VersionConflict
from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.service import is_connected, system_actor
from chalicelib.orders.service import find_order, shipment_ops, transition_on_carrier
from chalicelib.shipping import carriers, store
from chalicelib.shipping.models import LabelRecord

__all__ = ["TRACK_TASK", "queue_tracking", "track_labels", "track_task"]

# MelhorEnvio's tracking as it was queued before every carrier had its own task (still taken).
TRACK_TASK = "shipping.track"
_TRACK_SLOT_S = 30 * 60
_TRACK_PAGE = 50
_FINAL = {"delivered", "canceled", "cancelled", "expired"}


def track_task(provider: Provider) -> str:
    """The task that tracks a carrier's labels (also what ``POST /integrations/<carrier>/sync`` queues)."""
    return f"{provider.value}.sync"


def queue_tracking() -> int:
    """The 30-minute schedule: one ``<carrier>.sync`` task per tenant and connected carrier (once per slot); how
    many were queued."""
    return sum(
        jobs.queue_per_tenant(track_task(provider), provider, slot_s=_TRACK_SLOT_S)
        for provider in carriers.SHIPPING_PROVIDERS
    )


def _shipment_status(carrier_status: str) -> str:
    return {"canceled": "cancelled", "expired": "cancelled", "posted": "posted", "delivered": "delivered"}.get(
        carrier_status, carrier_status
    )


def _apply_tracking(tenant_id: str, label: LabelRecord, status: str, code: str | None) -> bool:
    """Record a label's new status on the order and the label item; move the order. True when something changed."""
    order = find_order(tenant_id, label.order_id)
    if order is None or order.shipment is None:
        return False
    final = status in _FINAL
    if status == label.carrier_status and code == label.tracking_code and not final:
        return False
    now = clock.now_iso()
    shipment = order.shipment.model_copy(
        update={
            "status": _shipment_status(status),
            "tracking_code": code or order.shipment.tracking_code,
            "updated_at": now,
            "delivered_at": now if status == "delivered" else order.shipment.delivered_at,
        }
    )
    changes: dict[str, object] = {"carrierStatus": status, "updatedAt": now, **({"trackingCode": code} if code else {})}
    label_op = store.label_change_op(
        tenant_id, label.order_id, set_=changes, remove=("GSI1PK", "GSI1SK") if final else ()
    )
    Table().transact([*shipment_ops(system_actor(tenant_id), order, shipment), label_op])
    if status in ("posted", "delivered"):
        transition_on_carrier(tenant_id, order.id, "shipped", f"posted: {code or label.label_id}")
    if status == "delivered":
        transition_on_carrier(tenant_id, order.id, "delivered", f"delivered: {code or label.label_id}")
    return True


def track_labels(tenant_id: str, provider: Provider) -> str | None:
    """Ask ``provider`` where the tenant's open labels it sold are; move their orders."""
    if not is_connected(tenant_id, provider):
        return None  # disconnected since the task was queued
    carrier = carriers.carrier(provider)
    changed = seen = 0
    start = None
    while True:
        page = store.list_open_labels(tenant_id, _TRACK_PAGE, start)
        # The open list holds every carrier's labels (a handful per tenant): this carrier's are picked here.
        labels = {label.label_id: label for label in page.items if label.label_id and label.provider == provider.value}
        if labels:
            for tracked in carrier.track(
                tenant_id, {label_id: label.tracking_code for label_id, label in labels.items()}
            ):
                label = labels.get(tracked.label_id)
                if label is None:
                    continue
                seen += 1
                try:
                    changed += _apply_tracking(tenant_id, label, tracked.status, tracked.tracking_code)
                except VersionConflict:
                    continue  # the order moved meanwhile: the next run sees it again
        if page.last_key is None:
            break
        start = page.last_key
    return f"tracked {seen} label(s), {changed} changed" if seen else None


def _handler(provider: Provider) -> jobs.JobHandler:
    return lambda job: track_labels(job.tenant_id, provider)


for _provider in carriers.SHIPPING_PROVIDERS:
    jobs.register(jobs.task_kind(track_task(_provider)), _handler(_provider), provider=_provider, operation="track")
jobs.register(
    jobs.task_kind(TRACK_TASK), _handler(Provider.MELHORENVIO), provider=Provider.MELHORENVIO, operation="track"
)
# MelhorEnvio's webhook said a label moved (``melhorenvio:order.posted``…, ``chalicelib/inbound/melhorenvio.py``): its
# tracking, now (MelhorEnvio asked, not the webhook's body believed).
jobs.register(
    jobs.provider_kind("melhorenvio"), _handler(Provider.MELHORENVIO), provider=Provider.MELHORENVIO, operation="track"
)
