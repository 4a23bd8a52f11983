"""Notification use cases: list and read messages, send ad hoc ones, retry failed ones, manage templates,
settings, customer preferences and push subscriptions; and what providers and the gateway report back
(``apply_status``, ``record_inbound``).

One responsibility: the use cases behind the notification routes, and the reports providers and the gateway make
about messages; the sending itself is ``delivery``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.access.permissions import Permission
from chalicelib.access.principal import Principal, require
from chalicelib.audit.service import audit_op
from chalicelib.core import clock, idempotency
from chalicelib.core.db.keys import Kind
from chalicelib.core.db.store import Table, TransactionConflict, WriteOp
from chalicelib.core.errors import Conflict, NotFound, invalid_field
from chalicelib.core.events import event_put_op, new_event
from chalicelib.core.pagination import Page, decode_cursor, encode_cursor
from chalicelib.customers import service as customers
from chalicelib.customers.models import CHANNEL_PURPOSES, CustomerRecord
from chalicelib.notifications import store, templates
from chalicelib.notifications.models import (
    AddressCheck,
    CreateNotificationRequest,
    MarketingConsents,
    Notification,
    NotificationListQuery,
    NotificationPreferences,
    NotificationRecord,
    NotificationSettings,
    NotificationTemplate,
    PushKey,
    PushSubscription,
    PushSubscriptionRequest,
    PutPreferencesRequest,
    PutSettingsRequest,
    PutTemplateRequest,
    StoredPreferences,
    TemplateListQuery,
    TemplateVariant,
)
from chalicelib.notifications.outbox import new_record, requested_ops
from chalicelib.notifications.status import apply_status
from chalicelib.tenants.service import load_tenant

__all__ = [
    "apply_status",
    "create_notification",
    "customer_locale",
    "get_notification",
    "get_preferences",
    "get_settings",
    "list_notifications",
    "list_templates",
    "push_key",
    "put_preferences",
    "put_settings",
    "put_template",
    "record_inbound",
    "requeue_failed",
    "retry_notification",
    "subscribe_push",
]

_WINDOW_RECORD_TTL = timedelta(days=7)


def _load(tenant_id: str, notification_id: str) -> NotificationRecord:
    record = store.get_notification(tenant_id, notification_id, consistent=True)
    if record is None:
        raise NotFound(detail=f"no notification {notification_id}")
    return record


def _bound(value: datetime | None, edge: str) -> str:
    return clock.isoformat(value) if value is not None else edge


def list_notifications(principal: Principal, query: NotificationListQuery) -> Page[Notification]:
    """One page of the tenant's notifications, newest first, narrowed by status, channel or recipient and time."""
    require(principal, Permission.NOTIFICATIONS_READ)
    narrowing = query.status or query.channel or (f"r:{query.recipient}" if query.recipient else "all")
    scope = f"notifications:{narrowing}:{query.from_}:{query.to}"
    start = decode_cursor(query.cursor, tenant_id=principal.tenant_id, scope=scope) if query.cursor else None
    between = None
    if query.from_ is not None or query.to is not None:
        # Sort keys are "<createdAt>#<id>": "~" sorts after every id, so the upper bound includes that instant.
        between = (_bound(query.from_, "0"), _bound(query.to, "9") + "~")
    records, last = store.list_notifications(
        principal.tenant_id,
        status=query.status,
        channel=query.channel,
        recipient=query.recipient,
        between=between,
        limit=query.limit,
        start_key=start,
    )
    cursor = encode_cursor(last, tenant_id=principal.tenant_id, scope=scope) if last else None
    return Page[Notification](items=[Notification.of(r) for r in records], next_cursor=cursor)


def get_notification(principal: Principal, notification_id: str) -> Notification:
    """One notification of the tenant."""
    require(principal, Permission.NOTIFICATIONS_READ)
    return Notification.of(_load(principal.tenant_id, notification_id))


def _check_target(principal: Principal, body: CreateNotificationRequest) -> str:
    # customerId and userId are references (models.py): checked in the caller's tenant before this runs.
    if body.customer_id is not None:
        return f"customer:{body.customer_id}"
    if body.user_id is not None:
        return f"user:{body.user_id}"
    address = str(body.address)
    if body.channel == "push":
        raise invalid_field("body.address", "push goes to a user (userId), not to an address")
    try:
        if body.channel == "email":
            return str(AddressCheck(email=address).email)
        return str(AddressCheck(phone=address).phone)
    except ValueError as exc:
        kind = "an email address" if body.channel == "email" else "an E.164 phone number"
        raise invalid_field("body.address", f"must be {kind} for {body.channel}") from exc


def _check_template(tenant_id: str, body: CreateNotificationRequest) -> None:
    key = str(body.template)
    variants = [*store.list_template_variants(tenant_id, key), *templates.default_variants(key)]
    on_channel = [v for v in variants if v.channel == body.channel]
    if not on_channel:
        raise invalid_field("body.template", f"no template {key} for {body.channel}")
    declared = {v.name for variant in on_channel for v in variant.variables}
    unknown = sorted(set(body.variables) - declared)
    if unknown:
        raise invalid_field("body.variables", f"unknown variable(s) for {key}: {', '.join(unknown)}")


def create_notification(
    principal: Principal, body: CreateNotificationRequest, idempotency_key: str | None
) -> Notification:
    """Queue an ad hoc message; it is sent by the delivery worker like any other (preferences, quiet hours)."""
    require(principal, Permission.NOTIFICATIONS_SEND)
    return idempotency.once(
        principal.tenant_id,
        idempotency_key,
        "notifications.create",
        body,
        Notification,
        lambda seal: _create(principal, body, seal),
    )


def _create(principal: Principal, body: CreateNotificationRequest, seal: idempotency.Seal) -> Notification:
    to = _check_target(principal, body)
    if body.template is not None:
        _check_template(principal.tenant_id, body)
    tenant = load_tenant(principal.tenant_id)
    record = new_record(
        principal.tenant_id,
        body.channel,
        to,
        template=body.template,
        locale=body.locale or tenant.locale,
        variables=body.variables,
        source="api",
        text=body.text,
        subject=body.subject,
        category=body.category,
        urgent=body.urgent,
    )
    view = Notification.of(record)
    after = {"channel": body.channel, "to": to, "template": body.template}
    audit = audit_op(principal, "notification.created", Kind.NOTIFICATION, record.id, after=after)
    Table().transact([*requested_ops(record), audit, *seal(view)])
    return view


def _requeue_ops(record: NotificationRecord) -> list[WriteOp]:
    at = clock.now_iso()
    changes = {"status": "queued", "attempts": 0, "updatedAt": at}
    remove = ("failedAt", "sendingSince", "scheduledFor")
    return [store.status_change_op(record, changes, expected=("failed",), remove=remove)]


def retry_notification(principal: Principal, notification_id: str) -> Notification:
    """Send a failed notification again (from the start of its retries); 409 unless it is failed."""
    require(principal, Permission.NOTIFICATIONS_SEND)
    record = _load(principal.tenant_id, notification_id)
    if record.status != "failed":
        raise Conflict(detail=f"only failed notifications can be retried; this one is {record.status}")
    event = new_event(
        "notification.requested",
        principal.tenant_id,
        {"notificationId": record.id, "channel": record.channel, "template": record.template},
        subject=record.id,
    )
    audit = audit_op(principal, "notification.retried", Kind.NOTIFICATION, record.id, before={"status": "failed"})
    changed = Conflict(detail="the notification changed meanwhile; reload it")
    Table().transact([*(op.on_conflict(changed) for op in _requeue_ops(record)), event_put_op(event), audit])
    return Notification.of(_load(principal.tenant_id, notification_id))


def requeue_failed(tenant_id: str, notification_id: str) -> bool:
    """Put a failed notification back to queued (the DLQ redrive does this before re-sending its message)."""
    record = store.get_notification(tenant_id, notification_id, consistent=True)
    if record is None or record.status != "failed":
        return False
    try:
        Table().transact(_requeue_ops(record))
    except TransactionConflict:
        return False
    return True


# --- provider callbacks and the WhatsApp window --------------------------------------------------------------


def record_inbound(tenant_id: str, customer_phone: str, at: datetime | str) -> None:
    """Note that ``customer_phone`` wrote to the tenant on WhatsApp at ``at``: free text may be sent to it for the
    next 24 hours (the messaging gateway calls this for every inbound message)."""
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(at.replace("Z", "+00:00"))
    store.put_whatsapp_inbound(
        tenant_id, customer_phone, clock.isoformat(moment), clock.to_epoch(moment + _WINDOW_RECORD_TTL)
    )


# --- templates -----------------------------------------------------------------------------------------------


def list_templates(principal: Principal, query: TemplateListQuery) -> Page[NotificationTemplate]:
    """One page of templates by key: the shipped defaults with the tenant's own variants in front of them."""
    require(principal, Permission.NOTIFICATIONS_READ)
    scope = "notification-templates"
    after = decode_cursor(query.cursor, tenant_id=principal.tenant_id, scope=scope)["after"] if query.cursor else ""
    own = store.list_tenant_templates(principal.tenant_id)
    keys = sorted(set(own) | set(templates.default_keys()))
    remaining = [key for key in keys if key > after]
    page = remaining[: query.limit]
    items = []
    for key in page:
        mine = own.get(key, [])
        taken = {(v.channel, v.locale) for v in mine}
        shipped = [v for v in templates.default_variants(key) if (v.channel, v.locale) not in taken]
        items.append(NotificationTemplate(key=key, variants=[*mine, *shipped]))
    more = len(remaining) > query.limit
    cursor = encode_cursor({"after": page[-1]}, tenant_id=principal.tenant_id, scope=scope) if more else None
    return Page[NotificationTemplate](items=items, next_cursor=cursor)


def put_template(principal: Principal, template_key: str, body: PutTemplateRequest) -> TemplateVariant:
    """Store the tenant's variant of a template for one channel and locale; every variable used must be declared."""
    require(principal, Permission.TEMPLATES_MANAGE)
    if not templates.TEMPLATE_KEY.match(template_key):
        raise invalid_field("path.template_key", "a template key is dotted lower case, like order.confirmed")
    templates.validate_template(body)
    at = clock.now_iso()
    after = {"channel": body.channel, "locale": body.locale}
    Table().transact(
        [
            store.put_template_op(principal.tenant_id, template_key, body, at),
            audit_op(principal, "notification_template.updated", Kind.NOTIFICATION_TEMPLATE, template_key, after=after),
        ]
    )
    return TemplateVariant(**body.model_dump(by_alias=False), source="tenant", updated_at=at)


# --- settings, preferences, push -----------------------------------------------------------------------------


def get_settings(principal: Principal) -> NotificationSettings:
    """The tenant's delivery settings (quiet hours, SMS fallback)."""
    require(principal, Permission.NOTIFICATIONS_READ)
    return store.get_settings_item(principal.tenant_id)


def put_settings(principal: Principal, body: PutSettingsRequest) -> NotificationSettings:
    """Replace the tenant's delivery settings."""
    require(principal, Permission.TEMPLATES_MANAGE)
    before = store.get_settings_item(principal.tenant_id)
    settings = NotificationSettings(**body.model_dump(by_alias=False), updated_at=clock.now_iso())
    audit = audit_op(
        principal,
        "notification_settings.updated",
        Kind.TENANT,
        principal.tenant_id,
        before=before.model_dump(),
        after=settings.model_dump(),
    )
    Table().transact([store.put_settings_op(principal.tenant_id, settings), audit])
    return settings


def _customer(principal: Principal, customer_id: str) -> CustomerRecord:
    customer = customers.find_customer(principal.tenant_id, customer_id)
    if customer is None:
        raise NotFound(detail=f"no customer {customer_id}")
    return customer


def _preferences(customer: CustomerRecord, stored: StoredPreferences | None) -> NotificationPreferences:
    marketing = MarketingConsents(**{c: customers.allows(customer.consents, "marketing", c) for c in CHANNEL_PURPOSES})
    stored = stored or StoredPreferences()
    return NotificationPreferences(
        customer_id=customer.id,
        locale=stored.locale,
        opt_out=list(stored.opt_out),
        marketing=marketing,
        updated_at=stored.updated_at,
    )


def customer_locale(tenant_id: str, customer_id: str) -> str | None:
    """The language a customer chose for their messages, or None (then the tenant's applies). For capabilities that
    show the customer something outside a message (the payment pages)."""
    stored = store.get_preferences(tenant_id, customer_id)
    return stored.locale if stored is not None and stored.locale else None


def get_preferences(principal: Principal, customer_id: str) -> NotificationPreferences:
    """A customer's notification preferences and marketing consents."""
    require(principal, Permission.CUSTOMERS_READ)
    customer = _customer(principal, customer_id)
    return _preferences(customer, store.get_preferences(principal.tenant_id, customer_id))


def put_preferences(principal: Principal, customer_id: str, body: PutPreferencesRequest) -> NotificationPreferences:
    """Replace a customer's opt-outs and locale (marketing consents are changed on the customer)."""
    require(principal, Permission.CUSTOMERS_WRITE)
    customer = _customer(principal, customer_id)
    before = store.get_preferences(principal.tenant_id, customer_id)
    stored = StoredPreferences(locale=body.locale, opt_out=body.opt_out, updated_at=clock.now_iso())
    preferences = _preferences(customer, stored)
    audit = audit_op(
        principal,
        "customer.notification_preferences_updated",
        Kind.CUSTOMER,
        customer_id,
        before=before.model_dump(exclude_none=True) if before else None,
        after={"locale": body.locale, "optOut": body.opt_out},
    )
    Table().transact([store.put_preferences_op(principal.tenant_id, preferences), audit])
    return preferences


def push_key(principal: Principal) -> PushKey:
    """The VAPID public key a browser subscribes with."""
    require(principal, Permission.PROFILE_READ)
    from chalicelib.notifications.channels.webpush import vapid_public_key

    return PushKey(public_key=vapid_public_key())


def subscribe_push(principal: Principal, body: PushSubscriptionRequest) -> PushSubscription:
    """Register the caller's browser for push notifications (the same endpoint again replaces it)."""
    require(principal, Permission.PROFILE_UPDATE)
    from chalicelib.integrations.http import ProviderError, check_provider_url

    try:
        check_provider_url(body.endpoint)
    except ProviderError as exc:
        raise invalid_field("body.endpoint", "must be an https URL") from exc
    at = clock.now_iso()
    stored = store.put_push_subscription(principal.tenant_id, principal.user_id, body.endpoint, body.keys, at)
    return stored.view()
