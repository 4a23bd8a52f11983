"""Google Calendar events of sales: a scheduled sale is an event in the tenant's calendar, kept in step with the sale.

- Entering the status whose on-enter action is ``create_calendar_event`` (SCHEDULED in the Tekup flow; the
  integrations queue, kind ``workflow:create_calendar_event:sale``), for a tenant connected to Google Calendar: an
  event is inserted with an id of our own (``event_id``: base32hex of tenant + sale, so a repeated insert is
  Google's 409, answered by a patch to the sale's current data), from the sale's ``scheduledAt`` for the service's
  duration (an hour without one), in the tenant's time zone, the rep and the customer invited (Google emails
  them), with the seed's reminders (an email a day before, a popup an hour before); the sale keeps
  ``calendarEventId``. A sale scheduled without a date is remembered (a reference of the integration) and gets its
  event when a date is set.
- A change of date, rep, customer or service (``sale.updated``, routed to the integrations queue by the bus rule
  ``integrations``): the event is patched to the sale as it is now (read again, so late or repeated events do no
  harm); a date removed deletes the event until a new date restores it (Google keeps a deleted event's id: it is
  restored by a patch to ``status: confirmed``).
- A cancellation (``sale.status_changed`` with outcome ``cancelled``) or a deletion (``sale.deleted``): the event is
  deleted (Google's 410 for an event deleted already, or 404, is done) and the sale forgets it.

A refresh token Google refuses disconnects the integration and tells the ADMINs (``integrations.tokens``); the job
then fails for good (the DLQ, the sync log) and a redrive after reconnecting runs it again. Outages and rate limits
are retried with backoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.catalog.service import find_product
from chalicelib.core.errors import NotFound
from chalicelib.customers.service import find_customer
from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.google_calendar import client as calendar
from chalicelib.integrations.google_calendar.credentials import GoogleCalendarCredentials
from chalicelib.integrations.service import drop_ref, find_credentials, find_ref, keep_ref
from chalicelib.integrations.tokens import with_google_token
from chalicelib.sales.models import Sale
from chalicelib.sales.service import ENTITY_TYPE, load_sale, set_calendar_event
from chalicelib.tenants.service import load_tenant
from chalicelib.users.service import find_user

__all__ = ["DEFAULT_MINUTES", "REMINDERS", "cancel_event", "create_event", "event_for", "follow_sale"]

# The seed's reminders: an email a day before, a popup an hour before.
REMINDERS = (calendar.Reminder("email", 24 * 60), calendar.Reminder("popup", 60))
DEFAULT_MINUTES = 60
_PROVIDER = Provider.GOOGLE_CALENDAR
_AWAITING_DATE = "awaiting-date"
# Changes of a sale that its event shows.
_SHOWN = {"scheduledAt", "assignedTo", "customerId", "serviceId"}


def _connected(tenant_id: str) -> bool:
    return isinstance(find_credentials(tenant_id, _PROVIDER), GoogleCalendarCredentials)


def _event_id(tenant_id: str, sale_id: str) -> str:
    return calendar.event_id(tenant_id, ENTITY_TYPE, sale_id)


def event_for(sale: Sale) -> calendar.CalendarEvent | None:
    """The calendar event of a scheduled sale (None without a date): the service for its duration from
    ``scheduledAt`` in the tenant's time zone, the rep and the customer invited, the seed's reminders."""
    if sale.scheduled_at is None:
        return None
    tenant = load_tenant(sale.tenant_id)
    start = datetime.fromisoformat(sale.scheduled_at).astimezone(ZoneInfo(tenant.time_zone))
    service = find_product(sale.tenant_id, sale.service_id)
    minutes = (service.duration_minutes if service is not None else None) or DEFAULT_MINUTES
    customer = find_customer(sale.tenant_id, sale.customer_id)
    rep = find_user(sale.tenant_id, sale.assigned_to)
    emails = (rep.email if rep is not None else None, customer.email if customer is not None else None)
    who = customer.name if customer is not None else sale.customer_id
    lines = [f"{sale.number}: {sale.service_name}", f"Customer: {who}"]
    if customer is not None:
        contacts = (("Email", customer.email), ("Phone", customer.phone))
        lines += [f"{label}: {value}" for label, value in contacts if value]
    return calendar.CalendarEvent(
        id=_event_id(sale.tenant_id, sale.id),
        summary=f"{sale.service_name} - {who}",
        start=start.replace(tzinfo=None),
        end=(start + timedelta(minutes=minutes)).replace(tzinfo=None),
        time_zone=tenant.time_zone,
        description="\n".join(lines),
        attendees=tuple(dict.fromkeys(email for email in emails if email)),
        reminders=REMINDERS,
        private={"btrixSaleId": sale.id, "btrixSaleNumber": sale.number},
    )


def _find(tenant_id: str, sale_id: str) -> Sale | None:
    try:
        return load_sale(tenant_id, sale_id)
    except NotFound:
        return None


def _changes(event: calendar.CalendarEvent) -> dict[str, Any]:
    return {name: value for name, value in event.body().items() if name != "id"}


def _put(sale: Sale, event: calendar.CalendarEvent) -> str:
    """Insert the event; when one with its id exists already (a repeated action, an event made before a change),
    patch it to the sale's current data. Returns what was done."""

    def call(credentials: GoogleCalendarCredentials, token: str) -> str:
        if calendar.insert_event(token, credentials.calendar_id, event) == "created":
            return "created"
        # A deleted event keeps its id at Google (status cancelled): the patch brings it back.
        revived = {**_changes(event), "status": "confirmed"}
        done = calendar.patch_event(token, credentials.calendar_id, event.id, revived)
        return "updated" if done == "patched" else done

    return with_google_token(sale.tenant_id, call)


def _delete(tenant_id: str, sale_id: str) -> str:
    event = _event_id(tenant_id, sale_id)
    return with_google_token(
        tenant_id, lambda credentials, token: calendar.delete_event(token, credentials.calendar_id, event)
    )


def _make(sale: Sale, event: calendar.CalendarEvent) -> str:
    """Make (or bring up to date) the sale's event and keep its id on the sale; a sale cancelled meanwhile loses
    it again."""
    done = _put(sale, event)
    set_calendar_event(sale.tenant_id, sale.id, event.id)
    drop_ref(sale.tenant_id, _PROVIDER, _AWAITING_DATE, sale.id)
    now = _find(sale.tenant_id, sale.id)
    if now is None or now.outcome == "cancelled":
        return f"{_remove(sale.tenant_id, sale.id, now)} (cancelled while it was made)"
    if (now.scheduled_at, now.assigned_to, now.customer_id, now.service_id) != (
        sale.scheduled_at,
        sale.assigned_to,
        sale.customer_id,
        sale.service_id,
    ):
        return _follow(now)  # changed while the event was made
    return f"event {done} for {sale.number} at {event.start.isoformat(timespec='minutes')} {event.time_zone}"


def _remove(tenant_id: str, sale_id: str, sale: Sale | None) -> str:
    done = _delete(tenant_id, sale_id)
    drop_ref(tenant_id, _PROVIDER, _AWAITING_DATE, sale_id)
    if sale is not None and sale.calendar_event_id is not None:
        set_calendar_event(tenant_id, sale_id, None)
    return f"event {done}"


def _follow(sale: Sale) -> str:
    event = event_for(sale)
    if event is None:
        done = _remove(sale.tenant_id, sale.id, sale)
        keep_ref(sale.tenant_id, _PROVIDER, _AWAITING_DATE, sale.id, _event_id(sale.tenant_id, sale.id))
        return f"{done}: {sale.number} has no date any more (made again when one is set)"

    def call(credentials: GoogleCalendarCredentials, token: str) -> str:
        return calendar.patch_event(token, credentials.calendar_id, event.id, _changes(event))

    if with_google_token(sale.tenant_id, call) == "gone":
        # Deleted in Google Calendar by a person: the sale no longer has an event.
        set_calendar_event(sale.tenant_id, sale.id, None)
        return f"event of {sale.number} was deleted in Google Calendar: not made again"
    return f"event of {sale.number} moved to {event.start.isoformat(timespec='minutes')} {event.time_zone}"


def create_event(job: jobs.Job) -> str | None:
    """``workflow:create_calendar_event:sale``: the scheduled sale's event (once), its id kept on the sale."""
    sale = _find(job.tenant_id, str(job.body["entityId"]))
    if sale is None or sale.closed_at is not None or not _connected(job.tenant_id):
        return None  # deleted or closed since, or the tenant keeps no Google Calendar
    event = event_for(sale)
    if event is None:
        keep_ref(sale.tenant_id, _PROVIDER, _AWAITING_DATE, sale.id, _event_id(sale.tenant_id, sale.id))
        return f"{sale.number} is scheduled without a date: its event is made when one is set"
    return _make(sale, event)


def _detail(job: jobs.Job) -> tuple[str, Mapping[str, Any]]:
    detail = job.body.get("detail") or {}
    return str(detail.get("subject") or ""), job.data


def follow_sale(job: jobs.Job) -> str | None:
    """``event:sale.updated``: a sale whose date, rep, customer or service changed has its event brought in step (a
    sale scheduled without a date gets its event once it has one)."""
    sale_id, data = _detail(job)
    if not _SHOWN & set(data.get("changed") or ()) or not _connected(job.tenant_id):
        return None
    sale = _find(job.tenant_id, sale_id)
    if sale is None or sale.outcome == "cancelled":
        return None
    if sale.calendar_event_id is not None:
        return _follow(sale)
    event = event_for(sale)
    if event is not None and find_ref(job.tenant_id, _PROVIDER, _AWAITING_DATE, sale.id) is not None:
        return _make(sale, event)
    return None  # never scheduled (or its action has yet to run: it reads the sale as it is then)


def cancel_event(job: jobs.Job) -> str | None:
    """``event:sale.status_changed`` (outcome cancelled) and ``event:sale.deleted``: the sale's event is deleted."""
    sale_id, data = _detail(job)
    deleted = job.kind == jobs.event_kind("sale.deleted")
    if not sale_id or (not deleted and data.get("outcome") != "cancelled") or not _connected(job.tenant_id):
        return None
    sale = None if deleted else _find(job.tenant_id, sale_id)
    if not deleted and (sale is None or sale.calendar_event_id is None):
        drop_ref(job.tenant_id, _PROVIDER, _AWAITING_DATE, sale_id)
        return None  # it had no event
    number = (data.get("sale") or {}).get("number") or sale_id
    return f"{_remove(job.tenant_id, sale_id, sale)}: {number} {'deleted' if deleted else 'cancelled'}"


jobs.register(
    jobs.workflow_kind("create_calendar_event", ENTITY_TYPE), create_event, provider=_PROVIDER, operation="event"
)
jobs.register(jobs.event_kind("sale.updated"), follow_sale, provider=_PROVIDER, operation="event_update")
jobs.register(jobs.event_kind("sale.status_changed"), cancel_event, provider=_PROVIDER, operation="event_delete")
jobs.register(jobs.event_kind("sale.deleted"), cancel_event, provider=_PROVIDER, operation="event_delete")
