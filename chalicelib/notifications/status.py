"""What providers report back about the messages we sent (Twilio status callbacks, Meta ``statuses[]``): each report
moves its notification forward once.

A module of its own, apart from ``notifications.service``: the webhook functions apply these reports
(``inbound.receipts``), and this is all of the notifications capability they load (no templates, no channels: their
assets stay lean, issue 20).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import clock
from chalicelib.core.db.store import Table, TransactionConflict
from chalicelib.core.events import event_put_op, new_event
from chalicelib.notifications import store
from chalicelib.notifications.models import NotificationStatus

__all__ = ["apply_status"]

# A provider's word for a status → ours. Twilio: queued/accepted/sending/sent/delivered/read/undelivered/failed;
# Meta: sent/delivered/read/failed.
_PROVIDER_STATUSES: dict[str, NotificationStatus] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
}
# From which statuses a reported one may be applied: only forward (callbacks arrive out of order).
_APPLIES_FROM: dict[NotificationStatus, tuple[NotificationStatus, ...]] = {
    "delivered": ("sent",),
    "read": ("sent", "delivered"),
    "failed": ("sent",),
}


def apply_status(
    provider: str, provider_message_id: str, status: str, error: str | None = None, tenant_id: str | None = None
) -> bool:
    """Apply a provider's delivery report (Twilio status callback, Meta ``statuses[]``) to its notification.

    ``provider`` is ``twilio`` or ``meta`` (the name the sender recorded); ``status`` the provider's word. Reports
    only move a notification forward (sent → delivered → read, or sent → failed); a duplicate, late or unknown one
    changes nothing and returns False. ``tenant_id``: the tenant whose own provider account vouched for the report
    (its signature verified with that tenant's credentials): only that tenant's notification may change, so a tenant
    cannot sign a report about another tenant's message; None when BTRIX's own account (or app) vouched for it.
    """
    ours = _PROVIDER_STATUSES.get(status)
    if ours is None or ours == "sent":
        return False
    found = store.find_by_provider_message(provider, provider_message_id)
    if found is None or (tenant_id is not None and found[0] != tenant_id):
        return False
    record = store.get_notification(*found, consistent=True)
    if record is None or record.status not in _APPLIES_FROM[ours]:
        return False
    at = clock.now_iso()
    stamp = {"delivered": "deliveredAt", "read": "readAt", "failed": "failedAt"}[ours]
    changes: dict[str, Any] = {"status": ours, stamp: at, "updatedAt": at}
    if ours == "read" and record.delivered_at is None:
        changes["deliveredAt"] = at
    if error:
        changes["lastError"] = f"{provider}: {error}"[:1000]
    event = new_event(
        f"notification.{ours}",
        record.tenant_id,
        {"notificationId": record.id, "channel": record.channel, "provider": provider},
        subject=record.id,
    )
    try:
        Table().transact([store.status_change_op(record, changes, expected=_APPLIES_FROM[ours]), event_put_op(event)])
    except TransactionConflict:
        return False
    return True
