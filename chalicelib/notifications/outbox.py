"""The notifications port: capabilities ask for a message here, in the same transaction as their change.

``request_message_ops`` writes a queued notification and its ``notification.requested`` event; the table stream
puts the event on the bus, and the ``notifications`` rule (``core.resources.RULES``) routes it to the
notifications queue, whose consumer renders and sends it (``notifications.delivery``). Either the change and its
message are both written or neither is: nothing is lost between them.

``to`` is an address (email, E.164 phone) or a recipient resolved at send time: ``customer:<id>``, ``user:<id>``
or ``role:ADMIN`` (every active admin of the tenant).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import clock
from chalicelib.core.db.store import WriteOp
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.notifications import store, templates
from chalicelib.notifications.models import Category, Channel, NotificationRecord

__all__ = ["Channel", "MessageRequest", "list_messages", "new_record", "request_message_ops", "requested_ops"]

# The port's record is the notification itself (kept under its old name for callers).
MessageRequest = NotificationRecord


def _recipient(to: str) -> tuple[str, str | None]:
    kind, _, rest = to.partition(":")
    if kind in ("customer", "user", "role") and rest:
        return kind, rest
    return "address", None


def new_record(
    tenant_id: str,
    channel: Channel,
    to: str,
    *,
    template: str | None,
    locale: str,
    variables: dict[str, Any],
    source: str = "port",
    text: str | None = None,
    subject: str | None = None,
    category: Category = "transactional",
    urgent: bool | None = None,
    parent_id: str | None = None,
    notification_id: str | None = None,
) -> NotificationRecord:
    """A queued notification (not yet written). ``urgent`` defaults to what the shipped template says."""
    moment = clock.now()
    at = clock.isoformat(moment)
    kind, recipient_id = _recipient(to)
    shipped = templates.default_variants(template) if template else ()
    return NotificationRecord.model_validate(
        {
            "id": notification_id or new_id(moment),
            "tenantId": tenant_id,
            "channel": channel,
            "to": to,
            "recipientKind": kind,
            "recipientId": recipient_id,
            "address": to if kind == "address" else None,
            "template": template,
            "locale": locale,
            "variables": variables,
            "text": text,
            "subject": subject,
            "category": category,
            "urgent": urgent if urgent is not None else any(v.urgent for v in shipped),
            "secretVariables": templates.secret_variables_of(template),
            "source": source,
            "parentId": parent_id,
            "createdAt": at,
            "updatedAt": at,
        }
    )


def requested_ops(record: NotificationRecord) -> list[WriteOp]:
    """The writes that create ``record`` and announce it (``notification.requested``) for the delivery worker."""
    event = new_event(
        "notification.requested",
        record.tenant_id,
        {"notificationId": record.id, "channel": record.channel, "template": record.template},
        subject=record.id,
    )
    return [*store.new_notification_ops(record), event_put_op(event)]


def request_message_ops(
    tenant_id: str, channel: Channel, to: str, template: str, locale: str, variables: dict[str, Any]
) -> list[WriteOp]:
    """The transaction writes that request a message: a queued notification and its event."""
    record = new_record(tenant_id, channel, to, template=template, locale=locale, variables=variables)
    return requested_ops(record)


def list_messages(tenant_id: str, limit: int = 25) -> list[NotificationRecord]:
    """The tenant's most recent notifications, newest first (as stored: variables in clear, for tests and seeds)."""
    records, _ = store.list_notifications(
        tenant_id, status=None, channel=None, recipient=None, between=None, limit=limit, start_key=None
    )
    return records
