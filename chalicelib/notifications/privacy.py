"""What notifications hold about a person, for privacy requests: the messages sent to them (as the customer, or to
one of their addresses), each with its address, variables and text, and the time of their last WhatsApp message.
Erasure pseudonymises the messages (the log of what was sent stays, without the person) and forgets that time; a
user's Web Push subscriptions (in their user record's partition, exported with it) are deleted."""

from __future__ import annotations

from typing import Any

from chalicelib.core.personal_data import DataSubject, declare_personal_data, export_partition, scrub_partition
from chalicelib.notifications import store

__all__ = ["erase_notifications", "export_notifications"]


def _ids(subject: DataSubject) -> list[str]:
    recipients = [f"{subject.kind}:{subject.id}", *subject.emails, *subject.phones]
    return store.recipient_notification_ids(subject.tenant_id, recipients)


def export_notifications(subject: DataSubject) -> list[dict[str, Any]]:
    """The messages sent to the person."""
    found = (export_partition(store.notification_pk(subject.tenant_id, i)) for i in _ids(subject))
    return [notification for notification in found if notification]


def erase_notifications(subject: DataSubject) -> int:
    """Pseudonymise the messages sent to the person; answers how many items changed."""
    changed = sum(scrub_partition(store.notification_pk(subject.tenant_id, i), subject) for i in _ids(subject))
    if subject.kind == "customer":
        changed += sum(store.forget_whatsapp_inbound(subject.tenant_id, phone) for phone in subject.phones)
    else:
        for subscription in store.list_push_subscriptions(subject.tenant_id, subject.id):
            store.delete_push_subscription(subject.tenant_id, subject.id, subscription.endpoint)
            changed += 1
    return changed


declare_personal_data("notifications", exporter=export_notifications, eraser=erase_notifications)
