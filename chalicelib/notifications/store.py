"""DynamoDB access of notifications: messages and their lists, templates, settings, preferences, windows, push.

A notification moves through its statuses with conditional updates on the status it was read in
(``status_change_op``): two workers racing for the same message cannot both take it from ``queued`` to
``sending``, which is what makes a redelivered queue message send nothing twice. A provider's report changes its
notification the same way without reading it first (``reported_status_op``): what it needs is on the lookup of the
provider's message id (``notifications.sent_messages``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr

from chalicelib.core.db import keys
from chalicelib.core.db.keys import Child, Collection, Facet, Kind
from chalicelib.core.db.store import QueryPage, Table, WriteOp, change_op, delete_op, put_op
from chalicelib.core.db.table import ENTITY, GSI1, GSI2, GSI3, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE, strip_storage
from chalicelib.core.errors import Conflict
from chalicelib.core.personal_data import all_pages
from chalicelib.core.text import fold
from chalicelib.notifications.models import (
    NotificationPreferences,
    NotificationRecord,
    NotificationSettings,
    NotificationStatus,
    PushKeyName,
    PushSubscriptionRecord,
    PutTemplateRequest,
    StoredPreferences,
    TemplateVariant,
)
from chalicelib.notifications.sent_messages import SentMessage

__all__ = [
    "address_hash",
    "delete_push_subscription",
    "forget_whatsapp_inbound",
    "get_notification",
    "get_preferences",
    "get_settings_item",
    "last_inbound_whatsapp",
    "list_notifications",
    "list_push_subscriptions",
    "list_template_variants",
    "list_tenant_templates",
    "new_notification_ops",
    "notification_pk",
    "put_preferences_op",
    "put_push_subscription",
    "put_settings_op",
    "put_template_op",
    "put_whatsapp_inbound",
    "recipient_key",
    "recipient_notification_ids",
    "reported_status_op",
    "status_change_op",
]

NOTIFICATION_ENTITY = "Notification"
_TEMPLATE_ENTITY = "NotificationTemplate"


def address_hash(address: str) -> str:
    """A stable, non-reversible stand-in for an address inside keys (no emails or phones in key strings)."""
    return hashlib.sha256(fold(address).encode()).hexdigest()[:32]


def recipient_key(to: str) -> str:
    """The recipient list a message belongs to: ``customer:<id>``, ``user:<id>``, ``role:<R>`` or ``address:<hash>``."""
    kind, _, rest = to.partition(":")
    if kind in ("customer", "user", "role") and rest:
        return to
    return f"address:{address_hash(to)}"


def notification_key(tenant_id: str, notification_id: str) -> tuple[str, str]:
    """(PK, SK) of a notification."""
    return keys.entity_pk(tenant_id, Kind.NOTIFICATION, notification_id), keys.META_SK


def _status_pk(tenant_id: str, status: str) -> str:
    return keys.facet_pk(tenant_id, Collection.NOTIFICATIONS, Facet.STATUS, status)


def new_notification_ops(record: NotificationRecord) -> list[WriteOp]:
    """Create ``record`` (with its list entries) and its entry in the recipient's list."""
    sort = keys.time_sk(record.created_at, record.id)
    pk, sk = notification_key(record.tenant_id, record.id)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        GSI1.partition_key: keys.collection_pk(record.tenant_id, Collection.NOTIFICATIONS),
        GSI1.sort_key: sort,
        GSI2.partition_key: _status_pk(record.tenant_id, record.status),
        GSI2.sort_key: sort,
        GSI3.partition_key: keys.facet_pk(record.tenant_id, Collection.NOTIFICATIONS, Facet.CHANNEL, record.channel),
        GSI3.sort_key: sort,
        ENTITY: NOTIFICATION_ENTITY,
        **record.model_dump(exclude_none=True),
    }
    index = {
        PARTITION_KEY: keys.facet_pk(
            record.tenant_id, Collection.NOTIFICATIONS, Facet.RECIPIENT, recipient_key(record.to)
        ),
        SORT_KEY: sort,
        ENTITY: "NotificationRecipientEntry",
        "notificationId": record.id,
    }
    return [put_op(item), put_op(index)]


def get_notification(tenant_id: str, notification_id: str, *, consistent: bool = False) -> NotificationRecord | None:
    """The notification, or None."""
    item = Table().get(*notification_key(tenant_id, notification_id), consistent=consistent)
    return NotificationRecord.model_validate(strip_storage(item)) if item else None


def status_change_op(
    record: NotificationRecord,
    changes: Mapping[str, Any],
    *,
    expected: tuple[NotificationStatus, ...],
    remove: tuple[str, ...] = (),
) -> WriteOp:
    """Update ``record`` only while its status is one of ``expected`` (the one it was read in); keeps the status
    list (GSI2) right and bumps ``version``."""
    return _status_op(record.tenant_id, record.id, changes, expected=expected, remove=remove)


def reported_status_op(
    sent: SentMessage,
    changes: Mapping[str, Any],
    *,
    expected: tuple[NotificationStatus, ...],
    set_once: Mapping[str, Any] | None = None,
) -> WriteOp:
    """A provider's report about the message ``sent`` applied without reading its notification first: only while
    its status is one of ``expected`` (the condition does what the read did); ``set_once`` only where absent."""
    return _status_op(sent.tenant_id, sent.notification_id, changes, expected=expected, set_once=set_once)


def _status_op(
    tenant_id: str,
    notification_id: str,
    changes: Mapping[str, Any],
    *,
    expected: tuple[NotificationStatus, ...],
    remove: tuple[str, ...] = (),
    set_once: Mapping[str, Any] | None = None,
) -> WriteOp:
    updates = {key: value for key, value in changes.items() if value is not None}
    if "status" in updates:
        updates[GSI2.partition_key] = _status_pk(tenant_id, str(updates["status"]))
    return change_op(
        *notification_key(tenant_id, notification_id),
        set_=updates,
        set_once=set_once,
        add={"version": 1},
        remove=remove,
        condition=Attr("status").is_in(list(expected)),
    )


def list_notifications(
    tenant_id: str,
    *,
    status: str | None,
    channel: str | None,
    recipient: str | None,
    between: tuple[str, str] | None,
    limit: int,
    start_key: Mapping[str, str] | None,
) -> tuple[list[NotificationRecord], dict[str, str] | None]:
    """One page of the tenant's notifications, newest first: all, or those of a status, channel or recipient."""
    table = Table()
    if recipient is not None:
        partition = keys.facet_pk(tenant_id, Collection.NOTIFICATIONS, Facet.RECIPIENT, recipient_key(recipient))
        page = table.query_page(partition, sort_between=between, limit=limit, start_key=start_key, newest_first=True)
        found = [get_notification(tenant_id, str(entry["notificationId"])) for entry in page.items]
        return [record for record in found if record is not None], page.last_key
    if status is not None:
        index, partition = GSI2, _status_pk(tenant_id, status)
    elif channel is not None:
        index, partition = GSI3, keys.facet_pk(tenant_id, Collection.NOTIFICATIONS, Facet.CHANNEL, channel)
    else:
        index, partition = GSI1, keys.collection_pk(tenant_id, Collection.NOTIFICATIONS)
    page = table.query_page(
        partition, index=index, sort_between=between, limit=limit, start_key=start_key, newest_first=True
    )
    return [NotificationRecord.model_validate(strip_storage(item)) for item in page.items], page.last_key


# --- templates ------------------------------------------------------------------------------------------------


def _template_key(tenant_id: str, template_key: str, channel: str, locale: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.NOTIFICATION_TEMPLATE, template_key), keys.child_sk(channel, locale)


def put_template_op(tenant_id: str, template_key: str, request: PutTemplateRequest, at: str) -> WriteOp:
    """Store (or replace) the tenant's variant of ``template_key`` for the request's channel and locale."""
    pk, sk = _template_key(tenant_id, template_key, request.channel, request.locale)
    item = {
        PARTITION_KEY: pk,
        SORT_KEY: sk,
        GSI1.partition_key: keys.collection_pk(tenant_id, Collection.NOTIFICATION_TEMPLATES),
        GSI1.sort_key: keys.template_sk(template_key, request.channel, request.locale),
        ENTITY: _TEMPLATE_ENTITY,
        "key": template_key,
        **request.model_dump(exclude_none=True),
        "source": "tenant",
        "updatedAt": at,
    }
    return put_op(item, must_not_exist=False)


def _variant(item: Mapping[str, Any]) -> TemplateVariant:
    fields = {name: value for name, value in strip_storage(item).items() if name != "key"}
    return TemplateVariant.model_validate(fields)


def list_template_variants(tenant_id: str, template_key: str) -> list[TemplateVariant]:
    """The tenant's own variants of ``template_key`` (a handful: channels and locales)."""
    pk = keys.entity_pk(tenant_id, Kind.NOTIFICATION_TEMPLATE, template_key)
    page = Table().query_page(pk, limit=100)
    # The partition also holds the template's audit trail (AUDIT#…), which is not a variant.
    return [_variant(item) for item in page.items if item.get(ENTITY) == _TEMPLATE_ENTITY]


def list_tenant_templates(tenant_id: str) -> dict[str, list[TemplateVariant]]:
    """Every variant the tenant wrote, by template key (a bounded set: keys, channels, locales)."""
    found: dict[str, list[TemplateVariant]] = {}
    start: dict[str, str] | None = None
    partition = keys.collection_pk(tenant_id, Collection.NOTIFICATION_TEMPLATES)
    while True:
        page: QueryPage = Table().query_page(partition, index=GSI1, limit=100, start_key=start)
        for item in page.items:
            found.setdefault(str(item["key"]), []).append(_variant(item))
        if page.last_key is None:
            return found
        start = page.last_key


# --- settings, preferences, WhatsApp window, push subscriptions -----------------------------------------------


def _settings_key(tenant_id: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.TENANT, tenant_id), keys.NOTIFICATION_SETTINGS_SK


def get_settings_item(tenant_id: str) -> NotificationSettings:
    """The tenant's delivery settings (defaults when never set)."""
    item = Table().get(*_settings_key(tenant_id))
    return NotificationSettings.model_validate(strip_storage(item)) if item else NotificationSettings()


def put_settings_op(tenant_id: str, settings: NotificationSettings) -> WriteOp:
    """Replace the tenant's delivery settings."""
    pk, sk = _settings_key(tenant_id)
    item = {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: "NotificationSettings", **settings.model_dump(exclude_none=True)}
    return put_op(item, must_not_exist=False)


def _preferences_key(tenant_id: str, customer_id: str) -> tuple[str, str]:
    return keys.entity_pk(tenant_id, Kind.CUSTOMER, customer_id), keys.NOTIFICATION_PREFERENCES_SK


def get_preferences(tenant_id: str, customer_id: str) -> StoredPreferences | None:
    """The customer's stored preferences, or None (never set)."""
    item = Table().get(*_preferences_key(tenant_id, customer_id))
    return StoredPreferences.from_attributes_of(item) if item else None


def put_preferences_op(tenant_id: str, preferences: NotificationPreferences) -> WriteOp:
    """Replace the customer's preferences (next to the customer record, in its partition)."""
    pk, sk = _preferences_key(tenant_id, preferences.customer_id)
    stored = preferences.model_dump(exclude_none=True, include={"locale", "opt_out", "updated_at", "customer_id"})
    return put_op({PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: "NotificationPreferences", **stored}, must_not_exist=False)


def _window_key(tenant_id: str, phone: str) -> tuple[str, str]:
    return keys.whatsapp_window_pk(tenant_id, address_hash(phone)), keys.WHATSAPP_WINDOW_SK


def put_whatsapp_inbound(tenant_id: str, phone: str, at: str, expires_at: int) -> None:
    """Record that ``phone`` wrote at ``at``, unless a later message was already recorded."""
    pk, sk = _window_key(tenant_id, phone)
    item = {PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: "WhatsAppWindow", "lastInboundAt": at, TTL_ATTRIBUTE: expires_at}
    table = Table()
    try:
        table.transact([put_op(item, condition=Attr(PARTITION_KEY).not_exists() | Attr("lastInboundAt").lt(at))])
    except Conflict:
        return  # a later inbound message is already there: the window is at least that open


def last_inbound_whatsapp(tenant_id: str, phone: str) -> str | None:
    """When ``phone`` last wrote to the tenant on WhatsApp (ISO), or None."""
    item = Table().get(*_window_key(tenant_id, phone))
    return str(item["lastInboundAt"]) if item else None


def _push_key(tenant_id: str, user_id: str, endpoint: str) -> tuple[str, str]:
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:32]
    return keys.entity_pk(tenant_id, Kind.USER, user_id), keys.child_sk(Child.PUSH_SUBSCRIPTION, digest)


def put_push_subscription(
    tenant_id: str, user_id: str, endpoint: str, push_keys: Mapping[PushKeyName, str], created_at: str
) -> PushSubscriptionRecord:
    """Store a user's browser subscription (the same endpoint again replaces it)."""
    pk, sk = _push_key(tenant_id, user_id, endpoint)
    stored = {"endpoint": endpoint, "keys": dict(push_keys), "createdAt": created_at}
    Table().put({PARTITION_KEY: pk, SORT_KEY: sk, ENTITY: "PushSubscription", **stored})
    return PushSubscriptionRecord.from_attributes_of({**stored, "id": keys.parse_child_sk(sk)[1]})


def list_push_subscriptions(tenant_id: str, user_id: str) -> list[PushSubscriptionRecord]:
    """The user's Web Push subscriptions (a handful of browsers)."""
    page = Table().query_page(
        keys.entity_pk(tenant_id, Kind.USER, user_id), sort_prefix=keys.child_prefix(Child.PUSH_SUBSCRIPTION), limit=50
    )
    return [
        PushSubscriptionRecord.from_attributes_of({**item, "id": keys.parse_child_sk(str(item[SORT_KEY]))[1]})
        for item in page.items
    ]


def delete_push_subscription(tenant_id: str, user_id: str, endpoint: str) -> None:
    """Forget a subscription the push service says is gone."""
    Table().transact([delete_op(*_push_key(tenant_id, user_id, endpoint))])


def notification_pk(tenant_id: str, notification_id: str) -> str:
    """The notification's partition."""
    return notification_key(tenant_id, notification_id)[0]


def recipient_notification_ids(tenant_id: str, recipients: Iterable[str]) -> list[str]:
    """Every notification sent to one of ``recipients`` (``customer:<id>`` or an address), for privacy requests."""
    found: list[str] = []
    for recipient in recipients:
        partition = keys.facet_pk(tenant_id, Collection.NOTIFICATIONS, Facet.RECIPIENT, recipient_key(recipient))
        found += [str(entry["notificationId"]) for entry in all_pages(_pages_of(partition))]
    return list(dict.fromkeys(found))


def _pages_of(partition: str) -> Callable[[Mapping[str, str] | None], QueryPage]:
    return lambda start: Table().query_page(partition, limit=100, start_key=start)


def forget_whatsapp_inbound(tenant_id: str, phone: str) -> int:
    """Delete the number's last-inbound item (a person's erasure); answers 1 if there was one."""
    key = _window_key(tenant_id, phone)
    if Table().get(*key) is None:
        return 0
    Table().delete(*key)
    return 1
