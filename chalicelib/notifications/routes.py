"""Notification routes: messages, templates, delivery settings, customer preferences, push subscriptions."""

from __future__ import annotations

from chalicelib.access.permissions import Module, Permission
from chalicelib.access.principal import Principal
from chalicelib.auth.guard import protected_blueprint
from chalicelib.core.pagination import Page
from chalicelib.notifications import service
from chalicelib.notifications.models import (
    CreateNotificationRequest,
    Notification,
    NotificationListQuery,
    NotificationPreferences,
    NotificationSettings,
    NotificationTemplate,
    PushKey,
    PushSubscription,
    PushSubscriptionRequest,
    PutPreferencesRequest,
    PutSettingsRequest,
    PutTemplateRequest,
    TemplateListQuery,
    TemplateVariant,
)

blueprint = protected_blueprint(__name__, tag="notifications")
N = Module.NOTIFICATIONS


@blueprint.operation(
    "/notifications",
    query=NotificationListQuery,
    response=Page[Notification],
    permission=Permission.NOTIFICATIONS_READ,
    module=N,
)
def list_notifications(query: NotificationListQuery, principal: Principal) -> Page[Notification]:
    """List notifications

    Newest first; narrow by one of status, channel or recipient (customer:<id>, user:<id>, an address), and by
    from/to. One-time codes and links are redacted.
    """
    return service.list_notifications(principal, query)


@blueprint.operation(
    "/notifications",
    "POST",
    body=CreateNotificationRequest,
    response=Notification,
    status=201,
    permission=Permission.NOTIFICATIONS_SEND,
    module=N,
    idempotent=True,
)
def create_notification(
    body: CreateNotificationRequest, principal: Principal, idempotency_key: str | None
) -> Notification:
    """Send a message

    To a customer, a user or a raw address, with a template and variables or plain text. It is queued and sent
    by the delivery worker, which applies the customer's preferences and the tenant's quiet hours.
    """
    return service.create_notification(principal, body, idempotency_key)


@blueprint.operation(
    "/notifications/{notification_id}",
    response=Notification,
    permission=Permission.NOTIFICATIONS_READ,
    module=N,
    problems=(404,),
)
def get_notification(notification_id: str, principal: Principal) -> Notification:
    """Get a notification

    With its status, attempts, provider and last error.
    """
    return service.get_notification(principal, notification_id)


@blueprint.operation(
    "/notifications/{notification_id}/retry",
    "POST",
    response=Notification,
    permission=Permission.NOTIFICATIONS_SEND,
    module=N,
    problems=(404, 409),
)
def retry_notification(notification_id: str, principal: Principal) -> Notification:
    """Retry a failed notification

    Queues it again with a fresh set of attempts; only failed notifications can be retried (else 409).
    """
    return service.retry_notification(principal, notification_id)


@blueprint.operation(
    "/notification-templates",
    query=TemplateListQuery,
    response=Page[NotificationTemplate],
    permission=Permission.NOTIFICATIONS_READ,
    module=N,
)
def list_templates(query: TemplateListQuery, principal: Principal) -> Page[NotificationTemplate]:
    """List message templates

    By key: the shipped defaults (pt-BR, en-US, es-ES) with the tenant's own variants first.
    """
    return service.list_templates(principal, query)


@blueprint.operation(
    "/notification-templates/{template_key}",
    "PUT",
    body=PutTemplateRequest,
    response=TemplateVariant,
    permission=Permission.TEMPLATES_MANAGE,
    module=N,
)
def put_template(template_key: str, body: PutTemplateRequest, principal: Principal) -> TemplateVariant:
    """Write a template variant

    For one channel and locale (in the body). jinja2 text; every variable it uses must be declared (an unknown
    one is a 422 naming it). WhatsApp variants may name the approved template sent outside the 24-hour window.
    """
    return service.put_template(principal, template_key, body)


@blueprint.operation(
    "/notification-settings", response=NotificationSettings, permission=Permission.NOTIFICATIONS_READ, module=N
)
def get_settings(principal: Principal) -> NotificationSettings:
    """Get delivery settings

    Quiet hours (in the tenant's time zone) and the SMS fallback for WhatsApp.
    """
    return service.get_settings(principal)


@blueprint.operation(
    "/notification-settings",
    "PUT",
    body=PutSettingsRequest,
    response=NotificationSettings,
    permission=Permission.TEMPLATES_MANAGE,
    module=N,
)
def put_settings(body: PutSettingsRequest, principal: Principal) -> NotificationSettings:
    """Change delivery settings

    Non-urgent messages wait for the end of quiet hours; outside the WhatsApp window, without an approved
    template, smsFallback sends an SMS instead.
    """
    return service.put_settings(principal, body)


@blueprint.operation(
    "/customers/{customer_id}/notification-preferences",
    response=NotificationPreferences,
    permission=Permission.CUSTOMERS_READ,
    module=N,
    problems=(404,),
)
def get_preferences(customer_id: str, principal: Principal) -> NotificationPreferences:
    """Get a customer's notification preferences

    Channels they opted out of, their language, and their marketing consents.
    """
    return service.get_preferences(principal, customer_id)


@blueprint.operation(
    "/customers/{customer_id}/notification-preferences",
    "PUT",
    body=PutPreferencesRequest,
    response=NotificationPreferences,
    permission=Permission.CUSTOMERS_WRITE,
    module=N,
    problems=(404,),
)
def put_preferences(customer_id: str, body: PutPreferencesRequest, principal: Principal) -> NotificationPreferences:
    """Change a customer's notification preferences

    Opted-out channels get no messages, transactional ones included; marketing also needs the customer's consent.
    """
    return service.put_preferences(principal, customer_id, body)


@blueprint.operation("/push-subscriptions/key", response=PushKey, permission=Permission.PROFILE_READ)
def push_key(principal: Principal) -> PushKey:
    """Get the Web Push key

    The VAPID public key a browser passes as applicationServerKey when it subscribes.
    """
    return service.push_key(principal)


@blueprint.operation(
    "/push-subscriptions",
    "POST",
    body=PushSubscriptionRequest,
    response=PushSubscription,
    status=201,
    permission=Permission.PROFILE_UPDATE,
)
def subscribe_push(body: PushSubscriptionRequest, principal: Principal) -> PushSubscription:
    """Subscribe this browser to push

    The caller's own subscription (PushSubscription.toJSON()); push notifications to the user go to it.
    """
    return service.subscribe_push(principal, body)
