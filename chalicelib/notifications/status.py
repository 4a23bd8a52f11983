"""What providers report back about the messages we sent (Twilio status callbacks, Meta ``statuses[]``): each report
moves its notification forward once, when the account that vouched for it is the one that sent the message.

A report is applied in two calls: the lookup of the provider's message id (``sent_messages``: the tenant, notification,
channel and sending account, recorded when the message was sent) and one transaction (the change, conditional on the
status it may move from, and its event). Lookup items written before the channel and the sending account were
recorded (2026-12-07) are changed only by a report of the tenant's own account (its tenant matches), after a read of
the notification for its channel.

A module of its own, apart from ``notifications.service``: the webhook functions apply these reports
(``inbound.receipts``), and this is all of the notifications capability they load (no templates, no channels: their
assets stay lean, issue 20).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import clock
from chalicelib.core.db.store import Table, TransactionConflict
from chalicelib.core.events import event_put_op, new_event
from chalicelib.notifications import sent_messages, store
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
    provider: str,
    provider_message_id: str,
    status: str,
    error: str | None = None,
    *,
    sent_by: str | None,
    tenant_id: str | None = None,
) -> bool:
    """Apply a provider's delivery report (Twilio status callback, Meta ``statuses[]``) to its notification.

    ``provider`` is ``twilio`` or ``meta`` (the name the sender recorded); ``status`` the provider's word. Reports
    only move a notification forward (sent → delivered → read, or sent → failed); a duplicate, late or unknown one
    changes nothing and returns False, as does one its voucher may not make:

    - ``sent_by``: the provider account that vouched for the report (the Twilio account whose auth token verified
      its signature; the Meta number it came for, under the signature of BTRIX's app or of that number's own app).
      Only a message that account sent may change.
    - ``tenant_id``: the tenant that account belongs to (a tenant's own Twilio account; the tenant a Meta number is
      routed to), None for BTRIX's own account: only that tenant's message may change.

    A message whose lookup does not name its sending account (written before it was recorded) changes only on a
    report naming its tenant.
    """
    ours = _PROVIDER_STATUSES.get(status)
    if ours is None or ours == "sent":
        return False
    sent = sent_messages.find_sent_message(provider, provider_message_id)
    if sent is None or not _vouched(sent, sent_by, tenant_id):
        return False
    channel = sent.channel
    if channel is None:  # an older lookup: the notification has what the change needs
        record = store.get_notification(sent.tenant_id, sent.notification_id, consistent=True)
        if record is None or record.status not in _APPLIES_FROM[ours]:
            return False
        channel = record.channel
    at = clock.now_iso()
    stamp = {"delivered": "deliveredAt", "read": "readAt", "failed": "failedAt"}[ours]
    changes: dict[str, Any] = {"status": ours, stamp: at, "updatedAt": at}
    if error:
        changes["lastError"] = f"{provider}: {error}"[:1000]
    # A read message was delivered too: when the delivered report is late (or lost), the read one says when.
    once = {"deliveredAt": at} if ours == "read" else None
    event = new_event(
        f"notification.{ours}",
        sent.tenant_id,
        {"notificationId": sent.notification_id, "channel": channel, "provider": provider},
        subject=sent.notification_id,
    )
    change = store.reported_status_op(sent, changes, expected=_APPLIES_FROM[ours], set_once=once)
    try:
        Table().transact([change, event_put_op(event)])
    except TransactionConflict:  # no such notification, or its status is not one this report moves from
        return False
    return True


def _vouched(sent: sent_messages.SentMessage, sent_by: str | None, tenant_id: str | None) -> bool:
    """Whether the voucher of a report may change the message ``sent`` (see ``apply_status``)."""
    if tenant_id is not None and sent.tenant_id != tenant_id:
        return False
    if sent.sent_by is None:
        return tenant_id is not None
    return sent_by is not None and sent.sent_by == sent_by
