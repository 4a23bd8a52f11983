"""Preparing one notification to send: its recipient's address and language, its variables (the entity's fields, money
and moments in the recipient's locale), quiet hours, the template variant rendered, and the WhatsApp window (an
approved template or the SMS fallback outside it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.core.formatting import format_moment, format_money, render_values
from chalicelib.core.money import Money
from chalicelib.customers import service as customers
from chalicelib.notifications import store, templates
from chalicelib.notifications.models import Channel, NotificationRecord, StoredPreferences, TemplateVariant
from chalicelib.tenants.models import TenantRecord
from chalicelib.users import service as users

__all__ = ["Deferred", "Plan", "Undeliverable", "prepare", "quiet_until"]

WHATSAPP_WINDOW = timedelta(hours=24)


class Undeliverable(Exception):
    """Raised when a message cannot be sent at all (no address, opted out, no template): it fails at once."""


@dataclass(frozen=True)
class Deferred(Exception):
    """Raised when a message must wait (quiet hours) until ``until``."""

    until: datetime


@dataclass(frozen=True)
class Plan:
    """What is sent, where and how: the outcome of preparing a notification."""

    channel: Channel
    address: str
    subject: str | None
    body: str
    whatsapp_template: dict[str, Any] | None
    fallback_from: Channel | None
    secret_variables: list[str]
    push_subscriptions: list[dict[str, Any]]
    locale: str


def _entity_variables(tenant: TenantRecord, variables: dict[str, Any], locale: str) -> dict[str, Any]:
    """Fields of the entity a workflow message is about (order number, total, start time, customer name)."""
    from chalicelib.workflows import engine, entities

    entity_type, entity_id = variables.get("entityType"), variables.get("entityId")
    spec = entities.find_spec(entity_type) if isinstance(entity_type, str) else None
    if spec is None or not entity_id:
        return {}
    item = engine.find_entity(tenant.id, spec.entity_type, str(entity_id))
    if item is None:
        return {}
    found: dict[str, Any] = {}
    if item.get("number") is not None:
        found["orderNumber"] = int(item["number"])
    total = (item.get("totals") or {}).get("total")
    if total:
        found["total"] = format_money(Money.model_validate(total), locale)
    if item.get("startsAt"):
        found["startsAt"] = format_moment(str(item["startsAt"]), locale, tenant.time_zone, length="short")
    customer_id = item.get(spec.customer_field)
    if customer_id:
        customer = customers.find_customer(tenant.id, str(customer_id))
        if customer is not None:
            found["customerName"] = customer.name
    return found


def quiet_until(now: datetime, time_zone: str, start: str, end: str) -> datetime | None:
    """When quiet hours (``start`` to ``end`` local, possibly overnight) that contain ``now`` end; None outside them."""
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    begin, finish = time.fromisoformat(start), time.fromisoformat(end)
    current = local.time()
    if begin < finish:
        quiet, day = begin <= current < finish, local.date()
    else:
        quiet = current >= begin or current < finish
        day = local.date() if current < finish else local.date() + timedelta(days=1)
    if not quiet:
        return None
    return datetime.combine(day, finish, tzinfo=zone).astimezone(now.tzinfo)


def _choose_variant(tenant_id: str, key: str, channel: Channel, locale: str) -> TemplateVariant | None:
    own = store.list_template_variants(tenant_id, key)
    shipped = templates.default_variants(key)
    # The tenant's variant wins at each level of locale matching (exact, same language, then any).
    for level in ("exact", "language", "any"):
        for variants in (own, shipped):
            candidates = [v for v in variants if v.channel == channel]
            if level == "exact":
                candidates = [v for v in candidates if v.locale == locale]
            elif level == "language":
                candidates = [v for v in candidates if v.locale.split("-")[0] == locale.split("-")[0]]
            picked = templates.pick_variant(candidates, channel, locale)
            if picked is not None:
                return picked
    return None


def _content(
    record: NotificationRecord, channel: Channel, locale: str, variables: dict[str, Any]
) -> tuple[templates.Rendered, list[str]]:
    if record.template is None:
        return templates.Rendered(record.subject, record.text or "", None), []
    variant = _choose_variant(record.tenant_id, record.template, channel, locale)
    if variant is None:
        raise Undeliverable(f"no template {record.template} for {channel}")
    secrets = templates.secret_variables_of(record.template, [variant])
    try:
        return templates.render(variant, variables), secrets
    except templates.RenderFailed as exc:
        raise Undeliverable(f"template {record.template} ({channel}, {variant.locale}): {exc}") from exc


def prepare(record: NotificationRecord, tenant: TenantRecord, now: datetime) -> Plan:
    """The plan of ``record``'s delivery now; ``Undeliverable`` when it cannot be sent at all, ``Deferred`` when it
    must wait for the end of quiet hours."""
    channel: Channel = record.channel
    locale = record.locale
    variables = dict(record.variables)
    address = record.address
    subscriptions: list[dict[str, Any]] = []
    settings = store.get_settings_item(tenant.id)
    if record.recipient_kind == "customer":
        customer = customers.find_customer(tenant.id, str(record.recipient_id))
        if customer is None:
            raise Undeliverable(f"customer {record.recipient_id} does not exist")
        preferences = store.get_preferences(tenant.id, customer.id) or StoredPreferences()
        locale = preferences.locale or locale
        if channel in preferences.opt_out:
            raise Undeliverable(f"opted out: the customer does not want {channel} messages")
        if not customers.allows(customer.consents, record.category, channel):
            raise Undeliverable(f"opted out: no {record.category} consent for {channel}")
        variables.setdefault("customerName", customer.name)
        address = {"email": customer.email, "sms": customer.phone, "whatsapp": customer.phone}.get(channel)
        if channel == "push":
            raise Undeliverable("customers have no push subscriptions; push goes to users")
    elif record.recipient_kind == "user":
        user = users.find_user(tenant.id, str(record.recipient_id))
        if user is None or user.status == "inactive":
            raise Undeliverable(f"user {record.recipient_id} does not exist or is inactive")
        variables.setdefault("name", user.name)
        if channel == "push":
            subscriptions = [found.wire() for found in store.list_push_subscriptions(tenant.id, user.id)]
            address = f"user:{user.id}"
        else:
            address = {"email": user.email, "sms": user.whatsapp_number, "whatsapp": user.whatsapp_number}[channel]
    if not address:
        raise Undeliverable(f"the recipient has no address for {channel}")
    variables.setdefault("tenantName", tenant.name)
    variables.update(_entity_variables(tenant, variables, locale))
    # Money and moments the requester passed as values: in the locale the message goes out in, the tenant's zone.
    variables = render_values(variables, locale, tenant.time_zone)
    if not record.urgent and settings.quiet_hours is not None:
        until = quiet_until(now, tenant.time_zone, settings.quiet_hours.start, settings.quiet_hours.end)
        if until is not None:
            raise Deferred(until)
    rendered, secrets = _content(record, channel, locale, variables)
    fallback_from: Channel | None = None
    whatsapp_template = None
    if channel == "whatsapp":
        last = store.last_inbound_whatsapp(tenant.id, address)
        window_open = last is not None and now - datetime.fromisoformat(last.replace("Z", "+00:00")) < WHATSAPP_WINDOW
        if not window_open:
            if rendered.whatsapp_template is not None:
                whatsapp_template = rendered.whatsapp_template
            elif settings.sms_fallback:
                channel, fallback_from = "sms", "whatsapp"
                rendered, secrets = _content(record, channel, locale, variables)
            else:
                raise Undeliverable("outside the 24-hour WhatsApp window and no approved template to send instead")
    return Plan(
        channel=channel,
        address=address,
        subject=rendered.subject,
        body=rendered.body,
        whatsapp_template=whatsapp_template,
        fallback_from=fallback_from,
        secret_variables=sorted(set(secrets) | set(record.secret_variables)),
        push_subscriptions=subscriptions,
        locale=locale,
    )
