"""The notifications port: capabilities ask for a message here, in the same transaction as their change.

Until delivery channels are connected, a requested message is recorded (status ``recorded``) with its
``notification.requested`` event; the delivery worker picks both up when it exists. Nothing is lost: the
record is the message.
"""

from __future__ import annotations

from typing import Any, Literal

from chalicelib.core import clock
from chalicelib.core.db import keys
from chalicelib.core.db.keys import Collection, Kind
from chalicelib.core.db.store import Table, put_op
from chalicelib.core.db.table import ENTITY, GSI1, PARTITION_KEY, SORT_KEY, strip_storage
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.ids import new_id
from chalicelib.core.models import ApiModel

__all__ = ["Channel", "MessageRequest", "list_messages", "request_message_ops"]

Channel = Literal["email", "sms", "whatsapp", "push"]
NOTIFICATION_ENTITY = "Notification"


class MessageRequest(ApiModel):
    """A message to send: to whom, on which channel, with which template and variables."""

    id: str
    tenant_id: str
    channel: Channel
    to: str
    template: str
    locale: str
    variables: dict[str, Any]
    status: Literal["recorded"] = "recorded"
    created_at: str


def request_message_ops(
    tenant_id: str, channel: Channel, to: str, template: str, locale: str, variables: dict[str, Any]
) -> list[dict[str, Any]]:
    """The transaction writes that request a message (its record and its event)."""
    moment = clock.now()
    message = MessageRequest(
        id=new_id(moment),
        tenant_id=tenant_id,
        channel=channel,
        to=to,
        template=template,
        locale=locale,
        variables=variables,
        created_at=clock.isoformat(moment),
    )
    item = {
        PARTITION_KEY: keys.entity_pk(tenant_id, Kind.NOTIFICATION, message.id),
        SORT_KEY: keys.META_SK,
        GSI1.partition_key: keys.collection_pk(tenant_id, Collection.NOTIFICATIONS),
        GSI1.sort_key: keys.time_sk(message.created_at, message.id),
        ENTITY: NOTIFICATION_ENTITY,
        **message.model_dump(),
    }
    event = new_event(
        "notification.requested",
        tenant_id,
        {"notificationId": message.id, "channel": channel, "template": template},
        subject=message.id,
    )
    return [put_op(item), event_put_op(event)]


def list_messages(tenant_id: str, limit: int = 25) -> list[MessageRequest]:
    """The tenant's most recent message requests, newest first."""
    page = Table().query_page(
        keys.collection_pk(tenant_id, Collection.NOTIFICATIONS), index=GSI1, limit=limit, newest_first=True
    )
    return [MessageRequest.model_validate(strip_storage(item)) for item in page.items]
