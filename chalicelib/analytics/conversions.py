"""Server-side conversions: the tenant's domain events sent to its Google Analytics 4 stream (Measurement Protocol)
and its Meta Pixel (Conversions API), when the customer consented to marketing.

| BTRIX event | when | GA4 event | Meta event |
|---|---|---|---|
| ``order.created`` | always | ``begin_checkout`` | ``InitiateCheckout`` |
| ``payment.succeeded`` | an order's payment, not a duplicate | ``purchase`` | ``Purchase`` |
| ``sale.status_changed`` | the sale completed | ``purchase`` | ``Purchase`` |
| ``lead.created`` | always | ``generate_lead`` | ``Lead`` |

(A sale paid through a link is counted by its completion, not its payment.) Each event reaches the integrations queue
through a bus rule and runs here once per provider: two handlers per event type on the dispatcher, each its own job,
sync log and retries (``integrations/jobs.py``), so GA4 failing never resends to Meta. Meta's ``event_id`` is the
BTRIX event id (Meta counts a conversion once per name and id, the browser Pixel's included, within 48 h); GA4 has
no such key, so the job claim is what sends it once. Nothing is sent without the customer's ``marketing`` consent
(``customers.service.may_use``), nor for an event without a customer; the sync log says why (a line per event).
Events older than what the provider takes (GA4 72 h, Meta 7 days: a redrive long after) are logged as not sent.
User data goes to Meta hashed as it requires (``integrations/meta/conversions``); GA4 gets pseudonymous ids only (a
client id derived from the customer, and the customer id as ``user_id``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from chalicelib.core import clock
from chalicelib.customers import service as customers
from chalicelib.customers.models import CustomerRecord
from chalicelib.integrations import jobs
from chalicelib.integrations.credentials import Provider
from chalicelib.integrations.ga4 import client as ga4
from chalicelib.integrations.ga4.credentials import Ga4Credentials
from chalicelib.integrations.meta import conversions as capi
from chalicelib.integrations.meta.credentials import MetaCapiCredentials
from chalicelib.integrations.service import find_credentials

__all__ = ["Conversion", "conversion_of", "register_handlers", "to_ga4", "to_meta"]

OPERATION = "conversion"
C = TypeVar("C", Ga4Credentials, MetaCapiCredentials)
# Where a conversion happened, for Meta's action_source: a web order has no browser data on the server (Meta wants
# the user agent and page URL with ``website``), and platform orders (iFood, Rappi) none of ours at all: ``other``.
_ACTION_SOURCES: dict[str, capi.ActionSource] = {
    "whatsapp": "chat",
    "pos": "physical_store",
    "phone": "phone_call",
    "email": "email",
}


@dataclass(frozen=True)
class Conversion:
    """What a domain event means to the analytics providers."""

    event_id: str
    event_type: str
    ga4_name: str
    meta_name: str
    at_s: int
    customer_id: str | None
    value: Mapping[str, str] | None
    transaction_id: str | None
    source: str | None


def _money(value: object) -> Mapping[str, str] | None:
    return value if isinstance(value, Mapping) and "amount" in value and "currency" in value else None


@dataclass(frozen=True)
class _Reading:
    """How one BTRIX event type reads as a conversion: the providers' names, where its fields are (``record``: the
    data's nested object they are in, None: the data itself; ``transaction``: ``subject`` for the event's subject, a
    field, or None) and when it counts (``counts(data, record)``)."""

    ga4_name: str
    meta_name: str
    record: str | None
    value: str
    transaction: str | None
    source: str | None
    counts: Callable[[Mapping[str, Any], Mapping[str, Any]], bool] = lambda _data, _record: True


_SUBJECT = "subject"
_READINGS: dict[str, _Reading] = {
    "order.created": _Reading("begin_checkout", "InitiateCheckout", None, "total", _SUBJECT, "channel"),
    # An order's payment (a sale's is counted by its completion), not a duplicate.
    "payment.succeeded": _Reading(
        "purchase",
        "Purchase",
        None,
        "amount",
        "orderId",
        None,
        counts=lambda data, _record: bool(data.get("orderId")) and not data.get("duplicateOf"),
    ),
    "sale.status_changed": _Reading(
        "purchase",
        "Purchase",
        "sale",
        "amount",
        _SUBJECT,
        "source",
        counts=lambda data, sale: (data.get("outcome") or sale.get("outcome")) == "completed",
    ),
    "lead.created": _Reading("generate_lead", "Lead", "lead", "estimatedValue", None, "source"),
}


def conversion_of(detail: Mapping[str, Any]) -> Conversion | None:
    """The conversion a BTRIX event (its ``detail``: id, type, occurredAt, subject, data) is, or None when it is
    none (a sale that did not complete, a duplicate payment, a sale's payment)."""
    data: Mapping[str, Any] = detail.get("data") or {}
    event_type = str(detail.get("type"))
    reading = _READINGS.get(event_type)
    if reading is None:
        return None
    record: Mapping[str, Any] = (data.get(reading.record) or {}) if reading.record else data
    if not reading.counts(data, record):
        return None
    field = reading.transaction
    transaction = detail.get("subject") if field == _SUBJECT else record.get(field) if field else None
    customer, source = record.get("customerId"), record.get(reading.source) if reading.source else None
    return Conversion(
        event_id=str(detail["id"]),
        event_type=event_type,
        ga4_name=reading.ga4_name,
        meta_name=reading.meta_name,
        at_s=clock.to_epoch(datetime.fromisoformat(str(detail["occurredAt"]))),
        customer_id=str(customer) if customer else None,
        value=_money(record.get(reading.value)),
        transaction_id=str(transaction) if transaction else None,
        source=str(source) if source else None,
    )


def _why_not(conversion: Conversion, tenant_id: str, max_age_s: int) -> str | None:
    """Why the conversion is not to be sent (None: it is)."""
    label = f"{conversion.event_type} {conversion.event_id}"
    if conversion.customer_id is None:
        return f"{label} not sent: no customer to ask for consent"
    if not customers.may_use(tenant_id, conversion.customer_id, "marketing"):
        return f"{label} not sent: customer {conversion.customer_id} has no marketing consent"
    if clock.to_epoch(clock.now()) - conversion.at_s > max_age_s:
        return f"{label} not sent: older than the provider takes ({max_age_s // 3600} h)"
    return None


def _amount(value: Mapping[str, str]) -> float:
    # The providers take a JSON number; money stays Decimal everywhere else in BTRIX.
    return float(value["amount"])


def _client_id(tenant_id: str, customer_id: str) -> str:
    """A GA4 client id for the customer (two 10-digit numbers, as gtag's): stable, and no identifier in it."""
    digest = hashlib.sha256(f"{tenant_id}:{customer_id}".encode()).hexdigest()
    return f"{int(digest[:8], 16) % 10**10:010d}.{int(digest[8:16], 16) % 10**10:010d}"


def ga4_payload(tenant_id: str, conversion: Conversion) -> dict[str, Any]:
    """The Measurement Protocol body of one conversion (the customer consented: ad data granted)."""
    params: dict[str, Any] = {"btrix_event_id": conversion.event_id}
    if conversion.value is not None:
        params.update(currency=conversion.value["currency"], value=_amount(conversion.value))
    if conversion.transaction_id:
        params["transaction_id"] = conversion.transaction_id
    customer_id = str(conversion.customer_id)
    return {
        "client_id": _client_id(tenant_id, customer_id),
        "user_id": customer_id,
        "timestamp_micros": conversion.at_s * 1_000_000,
        "consent": {"ad_user_data": "GRANTED", "ad_personalization": "GRANTED"},
        "events": [{"name": conversion.ga4_name, "params": params}],
    }


def meta_event(customer: CustomerRecord, conversion: Conversion) -> dict[str, Any]:
    """The Conversions API event of one conversion: the customer's data normalised and hashed."""
    first, _, rest = customer.name.strip().partition(" ")
    address = customer.address
    country = address.country if address else None
    user_data = capi.hashed_user_data(
        {
            "em": customer.email,
            "ph": customer.phone,
            "fn": first,
            "ln": rest.rsplit(" ", 1)[-1] if rest else None,
            "ct": address.city if address else None,
            "st": address.state if address else None,
            "zp": address.postal_code if address else None,
            "country": country,
            "external_id": customer.id,
        },
        country,
    )
    custom: dict[str, Any] = {}
    if conversion.value is not None:
        custom.update(currency=conversion.value["currency"], value=_amount(conversion.value))
    if conversion.transaction_id:
        custom["order_id"] = conversion.transaction_id
    source = _ACTION_SOURCES.get(conversion.source or "", "other")
    return capi.server_event(conversion.meta_name, conversion.at_s, conversion.event_id, source, user_data, custom)


def _to_send(job: jobs.Job, provider: Provider, kind: type[C], max_age_s: int) -> tuple[C, Conversion] | str | None:
    """The provider's credentials and the event's conversion, to send; None when there is nothing to do (the provider
    is not connected, the event is no conversion); or the sync log's line saying why it is not sent."""
    credentials = find_credentials(job.tenant_id, provider)
    if not isinstance(credentials, kind):
        return None
    detail = job.body.get("detail") or {}
    try:
        conversion = conversion_of(detail)
    except (KeyError, ValueError) as exc:
        raise jobs.JobFailed(f"{detail.get('type')} {detail.get('id')}: not an event ({exc})") from exc
    if conversion is None:
        return None
    return _why_not(conversion, job.tenant_id, max_age_s) or (credentials, conversion)


def to_ga4(job: jobs.Job) -> str | None:
    """Send the event's conversion to the tenant's GA4 stream (nothing when GA4 is not connected)."""
    found = _to_send(job, Provider.GA4, Ga4Credentials, ga4.MAX_AGE_S)
    if not isinstance(found, tuple):
        return found
    credentials, conversion = found
    ga4.collect(credentials, ga4_payload(job.tenant_id, conversion))
    return f"{conversion.ga4_name} sent for {conversion.event_type} {conversion.event_id}"


def to_meta(job: jobs.Job) -> str | None:
    """Send the event's conversion to the tenant's Meta Pixel (nothing when the Conversions API is not connected)."""
    found = _to_send(job, Provider.META_CAPI, MetaCapiCredentials, capi.MAX_AGE_S)
    if not isinstance(found, tuple):
        return found
    credentials, conversion = found
    customer = customers.find_customer(job.tenant_id, str(conversion.customer_id))
    if customer is None:
        return f"{conversion.event_type} {conversion.event_id} not sent: customer {conversion.customer_id} is gone"
    received = capi.send_events(credentials, [meta_event(customer, conversion)])
    test = f" (test events: {credentials.test_event_code})" if credentials.test_event_code else ""
    return f"{conversion.meta_name} sent for {conversion.event_type} {conversion.event_id}, {received} received{test}"


EVENT_TYPES = tuple(_READINGS)
_HANDLERS: tuple[tuple[Callable[[jobs.Job], str | None], Provider], ...] = (
    (to_ga4, Provider.GA4),
    (to_meta, Provider.META_CAPI),
)


def register_handlers() -> None:
    """Register both providers' handlers for every event type that may be a conversion (app.py calls this)."""
    for event_type in EVENT_TYPES:
        for handler, provider in _HANDLERS:
            jobs.register(jobs.event_kind(event_type), handler, provider=provider, operation=OPERATION)
